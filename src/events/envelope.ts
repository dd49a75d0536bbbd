/**
 * Where an event goes, carried beside its payload through the pub/sub. Payloads hold only the
 * documented fields; routing facts that are not in them travel here.
 */
export interface Route {
  userId?: string;
  productId?: string;
  chatId?: string;
  /** A user the event is not for (the typer of `user_typing`). */
  exceptUserId?: string;
}

/**
 * One event as it crosses the hub (Redis or in-process), the event log and the transports: plain
 * JSON. The relay writes each durable one as a row of `shop_events` (src/events/event-log.ts): `position`
 * is the row's `id`, and the payload is stored without its `eventId`, which is added from the `id`.
 */
export interface Envelope<P = unknown> {
  /** The catalogue's event name (the Socket.IO event name). */
  name: string;
  /** The payload, exactly the documented fields. */
  payload: P;
  route: Route;
  /** When the change that raised it was made (ms since epoch), the start of its delivery latency. */
  at: number;
  /** Durable events only: the position in the event log (the payload's `eventId`). */
  position?: number;
  /** Durable events, when tracing is on: the trace context of their publish (src/tracing.ts). */
  trace?: string;
  /** Never on the wire: a subscription that must end with this error instead of a payload. */
  error?: unknown;
}
