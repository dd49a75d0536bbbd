import type { Request, RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import { routeOf, type ShopMetrics } from '../metrics/shop-metrics';

/** Probes and scrapes: timed in the metrics, not logged (a balancer polls them every few seconds). */
const UNLOGGED = new Set(['/healthz', '/readyz', '/metrics']);

/** The id `requestLog` gave the request (`X-Request-Id`). */
export const requestId = (req: Request): string => (req as Request & { id: string }).id;

/**
 * Gives every request an id (the client's `X-Request-Id`, up to 100 characters, or a new one), sent
 * back in `X-Request-Id`; once the response is finished, records its duration in the metrics and logs
 * one line with that id.
 */
export function requestLog(logger: Logger, metrics?: ShopMetrics): RequestHandler {
  return (req, res, next) => {
    const id = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
    res.setHeader('X-Request-Id', id);
    (req as Request & { id: string }).id = id;
    const started = process.hrtime.bigint();
    const path = req.path; // before routers strip their mount prefix
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      metrics?.httpRequest(req.method, routeOf(path), res.statusCode, ms / 1000);
      if (UNLOGGED.has(path)) return;
      logger.info({ reqId: id, method: req.method, path, status: res.statusCode, ms }, 'http request');
    });
    next();
  };
}
