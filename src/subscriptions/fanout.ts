import {
  execute, getArgumentValues, getOperationAST, Kind, locatedError, subscribe,
  type ExecutionArgs, type ExecutionResult, type FieldNode, type GraphQLError, type GraphQLField,
} from 'graphql';
import { WebSocket } from 'ws';
import type { Viewer } from '../auth/viewer';
import { checkAccess, subscriptionTarget } from '../events/access';
import type { SubscriptionArgs } from '../events/audience';
import type { Envelope } from '../events/envelope';
import { eventList, type EventDefinition } from '../events/catalogue';
import type { EventLog } from '../events/event-log';
import { AppError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { GqlContext } from '../schema/context';

/** Where one graphql-ws subscription writes: its socket and its operation id. */
export interface FanoutTarget {
  socket: WebSocket;
  id: string;
}

interface Member {
  socket: WebSocket;
  /** `{"id":"<id>","type":"next","payload":` — the shared JSON and `}` complete the message. */
  prefix: string;
  /** Durable events: the last position written to this member (nothing at or before it is written). */
  last: number;
  /** While the member's replay is read: the live results that arrive meanwhile, written after it. */
  held: Array<[number | undefined, string]> | null;
  group: Group;
  /** Leaves the group and ends the iterator graphql-ws reads (it then sends `complete`). */
  end(): void;
}

/**
 * Subscribers that receive exactly the same messages: same event, audience group and operation.
 * `viewer` is the first member's, for what the group key already fixes (the user of a user
 * group, admin for the admin group); a member whose role changes is re-checked on its own.
 */
interface Group {
  key: string;
  def: EventDefinition;
  viewer: GqlContext['viewer'];
  args: SubscriptionArgs;
  operationKey: string;
  exec: ExecutionArgs;
  members: Set<Member>;
  ready: Promise<void>;
  off?: () => void;
}

const byField = new Map(eventList.map((d) => [d.field, d]));

/**
 * The fan-out engine: graphql-ws subscribers of a catalogue event are grouped by (event, audience
 * group, operation text + variables). A group listens to the EventHub once, checks its audience
 * rule once per event, and the event is executed and serialised once per operation — then the
 * same string is written to every member's socket as a graphql-ws `next` message. Per subscriber
 * that leaves one string concatenation and one socket write: no per-subscriber iterator, execution
 * or JSON.stringify.
 *
 * graphql-ws keeps owning the protocol (connection, subscribe, errors, complete): for a grouped
 * subscription it gets an iterator that yields nothing and, when graphql-ws ends it (client
 * `complete` or socket close), removes the member. Operations the engine does not plan for (root
 * fragments or directives) run through graphql's own `subscribe`.
 */
export class FanoutEngine {
  private groups = new Map<string, Group>();
  private byOperation = new WeakMap<ExecutionArgs, Member>();
  private results = new WeakMap<Envelope, Map<string, string>>();
  /** Events executed and serialised, messages written, and of those, replayed. */
  executions = 0;
  deliveries = 0;
  replayed = 0;
  /** Called once per event per group with the number of members it was written to live (metrics). */
  onDelivered?: (envelope: Envelope, messages: number) => void;

  constructor(private log: EventLog, private logger: Logger) {}

  /** graphql-ws `subscribe` for one operation of one connection. */
  async subscribe(args: ExecutionArgs, target: FanoutTarget, operation: { name?: string | null; text: string }): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
    const plan = this.plan(args);
    if (!plan) return subscribe(args);
    const { def, node } = plan;
    const ctx = args.contextValue as GqlContext;
    const path = [node.alias?.value ?? node.name.value];
    let argValues: SubscriptionArgs;
    let resumeAt: number | null = null;
    let viewer: Viewer | null;
    try {
      argValues = this.argumentsOf(plan, args);
      // Checked until the viewer holds still: a role change that lands during the check finds
      // the member below, added without a pause after the last check.
      do {
        viewer = ctx.viewer;
        await checkAccess(subscriptionTarget(def, viewer, argValues), viewer, ctx.services);
      } while (viewer !== ctx.viewer);
    } catch (err) {
      return { errors: [locatedError(err, node, path)] };
    }
    if (def.durable) {
      const after = argValues.after ?? ctx.lastEventId;
      try {
        if (after != null) resumeAt = await this.log.resumePoint(after);
      } catch (err) {
        // The subscription ends with the error as its one result (`next`, then `complete`).
        return this.ending(locatedError(err, node, path));
      }
    }
    // Where to resume is not part of what the operation computes: subscribers resuming from
    // different positions still share the group (and its one execution per event).
    const afterNode = node.arguments?.find((a) => a.name.value === 'after')?.value;
    const vars = { ...(args.variableValues ?? {}) };
    if (afterNode?.kind === Kind.VARIABLE) delete vars[afterNode.name.value];
    const operationKey = `${operation.name ?? ''}\u0000${operation.text}\u0000${JSON.stringify(vars)}`;
    const key = `${def.name}\u0000${def.audience.groupKey(viewer, argValues)}\u0000${operationKey}`;
    let group = this.groups.get(key);
    if (!group) {
      const g: Group = { key, def, viewer, args: argValues, operationKey, exec: args, members: new Set(), ready: Promise.resolve() };
      g.ready = this.log.listen(def, (envelope) => this.deliver(g, envelope)).then((off) => {
        g.off = off;
        if (this.groups.get(g.key) !== g) off();
      });
      this.groups.set(key, (group = g));
    }
    const iterator = this.until(() => this.leave(member));
    const member: Member = {
      socket: target.socket, prefix: `{"id":${JSON.stringify(target.id)},"type":"next","payload":`, group, end: iterator.end,
      last: resumeAt ?? 0, held: resumeAt === null ? null : [],
    };
    group.members.add(member);
    this.byOperation.set(args, member);
    await group.ready;
    if (resumeAt !== null) void this.replay(group, member, resumeAt);
    return iterator;
  }

  /**
   * Writes to a resuming member every event of its group after `after` that the group's audience
   * accepts (through the same execute-once path as live events), then what arrived meanwhile.
   */
  private async replay(group: Group, member: Member, after: number): Promise<void> {
    let events: Envelope[];
    try {
      events = await this.log.since(after);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.RESYNC_REQUIRED) {
        // As when `resumePoint` refuses: one result carrying the error, then `complete`.
        member.held = null;
        this.write(member, JSON.stringify({ data: null, errors: [{ message: err.message, extensions: { code: err.code } }] }));
        member.end();
        return;
      }
      this.logger.error({ err, event: group.def.name }, 'event replay failed: closing the subscriber');
      member.held = null;
      member.socket.close(1011, 'Event replay failed');
      return;
    }
    for (const e of events) {
      if (e.name !== group.def.name || e.position! <= member.last || !group.def.audience.accepts(e.route, group.viewer, group.args)) continue;
      const json = this.result(group, e);
      if (json === null) continue;
      member.last = e.position!;
      this.write(member, json);
      this.replayed++;
    }
    const held = member.held ?? [];
    member.held = null;
    for (const [at, json] of held) {
      if (at !== undefined) {
        if (at <= member.last) continue;
        member.last = at;
      }
      this.write(member, json);
    }
  }

  private write(m: Member, json: string): void {
    if (m.socket.readyState !== WebSocket.OPEN) return;
    m.socket.send(m.prefix + json + '}');
    this.deliveries++;
  }

  /** A subscription that ends at once with one result carrying `error`. */
  private async *ending(error: GraphQLError): AsyncGenerator<ExecutionResult> {
    yield { data: null, errors: [error] };
  }

  /**
   * Whether the viewer may still have this operation (after a role change): null when allowed,
   * the coded refusal otherwise, undefined when the engine does not run it.
   */
  async recheck(args: ExecutionArgs, viewer: Viewer | null): Promise<unknown> {
    const member = this.byOperation.get(args);
    if (!member || !member.group.members.has(member)) return undefined;
    try {
      await checkAccess(subscriptionTarget(member.group.def, viewer, member.group.args), viewer, (args.contextValue as GqlContext).services);
      return null;
    } catch (err) {
      return err;
    }
  }

  /** Ends one operation the engine runs (graphql-ws then sends `complete`); false if it runs none. */
  end(args: ExecutionArgs): boolean {
    const member = this.byOperation.get(args);
    if (!member) return false;
    member.end();
    return true;
  }

  private argumentsOf(plan: { field: GraphQLField<unknown, unknown>; node: FieldNode }, args: ExecutionArgs): SubscriptionArgs {
    return getArgumentValues(plan.field, plan.node, args.variableValues ?? undefined) as SubscriptionArgs;
  }

  /** Grouped subscriptions: a single root field of the catalogue, no fragments or directives. */
  private plan(args: ExecutionArgs): { def: EventDefinition; field: GraphQLField<unknown, unknown>; node: FieldNode } | null {
    const op = getOperationAST(args.document, args.operationName);
    if (!op || op.operation !== 'subscription' || op.selectionSet.selections.length !== 1) return null;
    const node = op.selectionSet.selections[0];
    if (node.kind !== Kind.FIELD || node.directives?.length) return null;
    const def = byField.get(node.name.value);
    const field = args.schema.getSubscriptionType()?.getFields()[node.name.value];
    return def && field ? { def, field, node } : null;
  }

  private deliver(group: Group, envelope: Envelope): void {
    if (!group.members.size || !group.def.audience.accepts(envelope.route, group.viewer, group.args)) return;
    const json = this.result(group, envelope);
    if (json === null) return;
    const at = envelope.position;
    let written = 0;
    for (const m of group.members) {
      if (m.held) {
        m.held.push([at, json]);
        continue;
      }
      if (at !== undefined) {
        if (at <= m.last) continue;
        m.last = at;
      }
      if (m.socket.readyState !== WebSocket.OPEN) continue;
      m.socket.send(m.prefix + json + '}');
      written++;
    }
    this.deliveries += written;
    if (written) this.onDelivered?.(envelope, written);
  }

  /** The event as this operation's JSON result, executed once per (event, operation) on this instance. */
  private result(group: Group, envelope: Envelope): string | null {
    let perEnvelope = this.results.get(envelope);
    if (!perEnvelope) this.results.set(envelope, (perEnvelope = new Map()));
    const cached = perEnvelope.get(group.operationKey);
    if (cached !== undefined) return cached;
    const result = execute({ ...group.exec, rootValue: envelope }) as ExecutionResult;
    if (result instanceof Promise || result.errors?.length) {
      this.logger.error({ event: group.def.name, errors: result instanceof Promise ? 'async' : result.errors!.map((e) => e.message) },
        'event payload does not fit its subscription');
      return null;
    }
    this.executions++;
    const json = JSON.stringify(result);
    perEnvelope.set(group.operationKey, json);
    return json;
  }

  private leave(member: Member): void {
    const group = member.group;
    group.members.delete(member);
    if (group.members.size === 0 && this.groups.get(group.key) === group) {
      this.groups.delete(group.key);
      group.off?.();
    }
  }

  /**
   * An async iterator that yields nothing and runs `done` once when it ends: when graphql-ws ends
   * it (client `complete` or socket close) or when `end` is called (re-authorization refused).
   */
  private until(done: () => void): AsyncIterableIterator<ExecutionResult> & { end(): void } {
    let finish: ((r: IteratorResult<ExecutionResult>) => void) | null = null;
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        done();
      }
      finish?.({ value: undefined, done: true });
      finish = null;
      return Promise.resolve({ value: undefined, done: true } as IteratorResult<ExecutionResult>);
    };
    return {
      next: () => (ended ? Promise.resolve({ value: undefined, done: true }) : new Promise((resolve) => (finish = resolve))),
      return: end,
      throw: (err) => end().then(() => Promise.reject(err)),
      end: () => void end(),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Subscribers and groups on this instance (for tests and benchmarks). */
  stats() {
    let members = 0;
    for (const g of this.groups.values()) members += g.members.size;
    return { groups: this.groups.size, members };
  }

  /** Groups, members and the largest group by subscription field (read at a metrics scrape). */
  byField(): Array<{ field: string; groups: number; members: number; largest: number }> {
    const out = new Map<string, { field: string; groups: number; members: number; largest: number }>();
    for (const g of this.groups.values()) {
      let f = out.get(g.def.field);
      if (!f) out.set(g.def.field, (f = { field: g.def.field, groups: 0, members: 0, largest: 0 }));
      f.groups++;
      f.members += g.members.size;
      f.largest = Math.max(f.largest, g.members.size);
    }
    return [...out.values()];
  }

  close(): void {
    for (const g of this.groups.values()) g.off?.();
    this.groups.clear();
  }
}
