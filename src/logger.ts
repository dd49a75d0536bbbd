import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'shoe-store-api' }, redact: ['req.headers.authorization', 'password'] });
}
