import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, errorMessages } from '../errors';
import type { Logger } from '../logger';

/** The body of every HTTP error this server writes itself: the GraphQL error shape, always JSON. */
const httpErrorBody = (code: ErrorCode, message: string = errorMessages[code]) =>
  JSON.stringify({ errors: [{ message, extensions: { code } }] });

const send = (res: Response, status: number, code: ErrorCode, message?: string) => {
  res.status(status).type('application/json').send(httpErrorBody(code, message));
};

/** Safe messages for the errors Express's body parser raises, by its `type`. */
const bodyErrors: Record<string, (err: { limit?: number }) => string> = {
  'entity.parse.failed': () => 'The request body is not valid JSON',
  'entity.too.large': (err) => `The request body is larger than ${err.limit ?? 'the limit of'} bytes`,
  'encoding.unsupported': () => 'Unsupported content encoding',
  'charset.unsupported': () => 'Unsupported charset',
  'request.aborted': () => 'The request was aborted',
  'request.size.invalid': () => 'The request body does not match its Content-Length',
  'parameters.too.many': () => 'Too many parameters',
};

/** Any route nobody answers: 404 NOT_FOUND. */
export const notFoundHandler = (): RequestHandler => (_req, res) => send(res, 404, ErrorCode.NOT_FOUND, 'No such route');

/**
 * Every error that reaches Express (body parsing, routing, a handler's failure) answered as JSON
 * with a code: 4xx BAD_REQUEST, 5xx INTERNAL_SERVER_ERROR (logged). Never Express's HTML page,
 * whose development form carries the stack and the server's paths.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, next) => {
    // Too late for an answer of our own; Express then just closes the connection.
    if (res.headersSent) return next(err);
    const e = (err ?? {}) as { status?: unknown; statusCode?: unknown; type?: unknown; limit?: number };
    const raw = Number(e.status ?? e.statusCode);
    const status = Number.isInteger(raw) && raw >= 400 && raw < 600 ? raw : 500;
    if (status >= 500) {
      logger.error({ err }, 'unexpected error in an HTTP request');
      return send(res, status, ErrorCode.INTERNAL_SERVER_ERROR);
    }
    const known = typeof e.type === 'string' ? bodyErrors[e.type] : undefined;
    send(res, status, status === 404 ? ErrorCode.NOT_FOUND : ErrorCode.BAD_REQUEST, known ? known(e) : STATUS_CODES[status]);
  };
}

/** A raw HTTP answer on a socket that has no Express response (a bad request line, a refused upgrade). */
export function writeRawError(socket: Duplex, status: number, code: ErrorCode, message?: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = httpErrorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Requests Node's HTTP parser refuses (bad request line, headers too large) get JSON too. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    writeRawError(socket, status, ErrorCode.BAD_REQUEST, STATUS_CODES[status]);
  });
}
