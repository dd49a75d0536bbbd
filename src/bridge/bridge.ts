import {
  execute, getNamedType, isNonNullType, isObjectType, isListType, getNullableType, parse,
  type DocumentNode, type GraphQLObjectType, type GraphQLSchema,
} from 'graphql';
import type { Server, Socket } from 'socket.io';
import type { Envelope } from '../events/envelope';
import { catalogue, eventList, type EventDefinition, type EventName, type PayloadOf } from '../events/catalogue';
import { AppError, ErrorCode } from '../errors';
import type { EventLog } from '../events/event-log';
import type { Logger } from '../logger';

/** The selection of every field of a type, nested objects included: the "full selection". */
function fullSelection(type: GraphQLObjectType, depth = 0): string {
  if (depth > 6) throw new Error(`payload type ${type.name} nests too deep`);
  return Object.values(type.getFields())
    .map((f) => {
      const named = getNamedType(f.type);
      return isObjectType(named) ? `${f.name} { ${fullSelection(named, depth + 1)} }` : f.name;
    })
    .join(' ');
}

/** The subscription document a GraphQL client would send to receive every field of an event. */
export function fullSubscriptionDocument(schema: GraphQLSchema, def: EventDefinition, opts: { internal?: boolean } = {}): string {
  const field = schema.getSubscriptionType()?.getFields()[def.field];
  if (!field) throw new Error(`subscription field ${def.field} missing from the schema`);
  const type = getNamedType(field.type);
  if (!isObjectType(type) || isListType(getNullableType(field.type))) throw new Error(`${def.field} must return an object`);
  // Internally the arguments only select the audience, which the bridge routes itself: required
  // ones get a placeholder literal so the document stays valid.
  const vars = opts.internal ? [] : field.args.map((a) => `$${a.name}: ${a.type.toString()}`);
  const args = opts.internal
    ? field.args.filter((a) => isNonNullType(a.type)).map((a) => `${a.name}: ""`)
    : field.args.map((a) => `${a.name}: $${a.name}`);
  return `subscription ${def.field.charAt(0).toUpperCase()}${def.field.slice(1)}${vars.length ? `(${vars.join(', ')})` : ''} { ${def.field}${args.length ? `(${args.join(', ')})` : ''} { ${fullSelection(type)} } }`;
}

export interface Bridge {
  /** The payload exactly as a GraphQL subscriber with a full selection receives it. */
  format<K extends EventName>(name: K, payload: PayloadOf<K>): unknown;
  /**
   * Holds every durable event for a socket from now on (it receives none live) until `recover`
   * or `cancel`: called synchronously when a recovered socket connects, before anything is awaited.
   */
  hold(socket: Socket): void;
  /**
   * Replays to a held socket, in order, every durable event after `after` for `rooms` and for
   * everyone, then what arrived meanwhile (none twice), then joins it to `rooms`. Resolves to the
   * number of events written. `liveSince(room)` (null: events for everyone) is the position from
   * which the socket already received that room's events live, for a socket that was in its rooms.
   */
  recover(socket: Socket, rooms: string[], after: number, liveSince?: (room: string | null) => number): Promise<number>;
  /** Ends a hold without replay (the socket left). */
  cancel(socket: Socket): void;
  close(): void;
  delivered: number;
  replayed: number;
  /** Called once per event emitted live to its rooms on this instance (metrics). */
  onDelivered?: (envelope: Envelope) => void;
}

/** The room of sockets whose replay is being read: durable emits skip them (they are held). */
const REPLAYING = '\u0000replaying';

/**
 * Re-emits every catalogue event to Socket.IO rooms on this instance. The payload goes through the
 * same GraphQL execution a subscriber's does (full selection), so both transports carry the same
 * data by construction. `io.local`: every instance receives each message from the pub/sub itself.
 * A durable event carries its `eventId` as a last, extra argument: the offset socket.io-client
 * keeps for connection state recovery.
 */
export async function startBridge(io: Server, log: EventLog, schema: GraphQLSchema, logger: Logger): Promise<Bridge> {
  const documents = new Map<string, DocumentNode>();
  for (const def of eventList) documents.set(def.name, parse(fullSubscriptionDocument(schema, def, { internal: true })));

  const run = (name: string, envelope: Envelope): unknown => {
    const def = catalogue[name as EventName];
    const result = execute({ schema, document: documents.get(name)!, rootValue: envelope, contextValue: { transport: 'internal' } });
    if (result instanceof Promise) throw new Error(`payload of ${name} resolved asynchronously`);
    if (result.errors?.length) {
      logger.error({ event: name, errors: result.errors.map((e) => e.message) }, 'event payload does not fit its type');
      return undefined;
    }
    return (result.data as Record<string, unknown>)[def.field];
  };
  // One execution per event on this instance, shared by live delivery and every replay.
  const formatted = new WeakMap<Envelope, unknown>();
  const formatOnce = (envelope: Envelope): unknown => {
    if (formatted.has(envelope)) return formatted.get(envelope);
    const data = run(envelope.name, envelope);
    formatted.set(envelope, data);
    return data;
  };

  const held = new Map<string, Envelope[]>();
  const holdAt = new Map<string, number>();
  const nsp = io.of('/');

  const bridge: Bridge = {
    delivered: 0,
    replayed: 0,
    format: (name, payload) => run(name, { name, payload, route: {}, at: Date.now() }),
    hold(socket) {
      held.set(socket.id, []);
      holdAt.set(socket.id, log.current());
      void socket.join(REPLAYING);
    },
    cancel(socket) {
      held.delete(socket.id);
      holdAt.delete(socket.id);
      void socket.leave(REPLAYING);
    },
    async recover(socket, rooms, after, liveSince) {
      const want = new Set(rooms);
      const heldFrom = holdAt.get(socket.id) ?? 0;
      // Whether the socket should get `e` now: it reaches one of the rooms (or everyone), and it
      // was not already delivered live before the hold.
      const reaches = (e: Envelope) => {
        const def = catalogue[e.name as EventName];
        if (!def?.durable) return false;
        const to = def.audience.rooms(e.route);
        const via = to === null ? [null] : to.filter((r) => want.has(r));
        if (!via.length) return false;
        return !liveSince || e.position! > heldFrom || via.some((r) => e.position! <= liveSince(r));
      };
      let missed: Envelope[];
      try {
        missed = await log.since(after);
      } catch (err) {
        // Pruned past `after` since it was checked: the caller reports RESYNC_REQUIRED.
        if (err instanceof AppError && err.code === ErrorCode.RESYNC_REQUIRED) throw err;
        logger.error({ err }, 'socket replay failed: the socket starts afresh');
        missed = [];
      }
      const meanwhile = held.get(socket.id) ?? [];
      held.delete(socket.id);
      holdAt.delete(socket.id);
      if (!socket.connected) return 0;
      let last = after;
      let n = 0;
      for (const e of [...missed, ...meanwhile]) {
        if (e.position! <= last || !reaches(e)) continue;
        const data = formatOnce(e);
        if (data === undefined) continue;
        last = e.position!;
        socket.emit(e.name as never, data as never, (data as { eventId: string }).eventId as never);
        n++;
      }
      // Synchronously after the last replayed event: from here on the socket gets live events.
      socket.join(rooms);
      socket.leave(REPLAYING);
      bridge.replayed += n;
      return n;
    },
    close: () => offs.forEach((off) => off()),
  };

  // Whether any socket of this instance is in one of the rooms (null: everyone): an event nobody
  // here can receive is not formatted at all.
  const anyoneIn = (rooms: string[] | null) =>
    rooms ? rooms.some((room) => (nsp.adapter.rooms.get(room)?.size ?? 0) > 0) : nsp.sockets.size > 0;

  const offs = await Promise.all(
    eventList.map((def) =>
      log.listen(def, (envelope) => {
        if (def.durable && held.size) for (const list of held.values()) list.push(envelope);
        const rooms = def.audience.rooms(envelope.route);
        if (!anyoneIn(rooms)) return;
        const data = def.durable ? formatOnce(envelope) : run(def.name, envelope);
        if (data === undefined) return;
        const except = def.audience.exceptRooms?.(envelope.route) ?? [];
        if (def.durable && held.size) except.push(REPLAYING);
        let target = rooms ? io.local.to(rooms) : io.local;
        if (except.length) target = target.except(except);
        if (def.durable) target.emit(def.name, data, (data as { eventId: string }).eventId);
        else target.emit(def.name, data);
        bridge.delivered++;
        bridge.onDelivered?.(envelope);
      }),
    ),
  );
  return bridge;
}
