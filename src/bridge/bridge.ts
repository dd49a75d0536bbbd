import {
  execute, getNamedType, isNonNullType, isObjectType, isListType, getNullableType, parse,
  type DocumentNode, type GraphQLObjectType, type GraphQLSchema,
} from 'graphql';
import type { Server } from 'socket.io';
import type { Envelope } from '../events/audience';
import { catalogue, eventList, type EventDefinition, type EventName, type PayloadOf } from '../events/catalogue';
import type { EventLog } from '../events/event-log';
import type { Logger } from '../logger';

/** The selection of every field of a type, nested objects included: the "full selection". */
export function fullSelection(type: GraphQLObjectType, depth = 0): string {
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
  close(): void;
  delivered: number;
}

/**
 * Re-emits every catalogue event to Socket.IO rooms on this instance. The payload goes through the
 * same GraphQL execution a subscriber's does (full selection), so both transports carry the same
 * data by construction. `io.local`: every instance receives each message from the pub/sub itself.
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

  const bridge: Bridge = {
    delivered: 0,
    format: (name, payload) => run(name, { e: name, p: payload, r: {}, t: Date.now() }),
    close: () => offs.forEach((off) => off()),
  };

  // Whether any socket of this instance is in one of the rooms (null: everyone): an event nobody
  // here can receive is not formatted at all.
  const nsp = io.of('/');
  const anyoneIn = (rooms: string[] | null) =>
    rooms ? rooms.some((room) => (nsp.adapter.rooms.get(room)?.size ?? 0) > 0) : nsp.sockets.size > 0;

  const offs = await Promise.all(
    eventList.map((def) =>
      log.listen(def, (envelope) => {
        const rooms = def.audience.rooms(envelope.r);
        if (!anyoneIn(rooms)) return;
        const data = run(def.name, envelope);
        if (data === undefined) return;
        const except = def.audience.exceptRooms?.(envelope.r) ?? [];
        let target = rooms ? io.local.to(rooms) : io.local;
        if (except.length) target = target.except(except);
        target.emit(def.name, data);
        bridge.delivered++;
      }),
    ),
  );
  return bridge;
}
