import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { query } from '../db/raw';
import { traceContext } from '../tracing';
import type { Route } from './envelope';
import type { DraftOf, DurableEventName } from './catalogue';

/** A durable event before the log gives it its position. */
export type DraftEvent = { [K in DurableEventName]: { name: K; payload: DraftOf<K>; route: Route } }[DurableEventName];

/** Collects the events a fact raises. */
export type Emit = <K extends DurableEventName>(name: K, payload: DraftOf<K>, route?: Route) => void;

/**
 * Turns one recorded fact into its events, when the relay takes it. Runs after the change
 * committed, outside any transaction (`em`), so it may read what the change committed, and who
 * should hear of it now.
 * `at` is when the change recorded the fact (ISO): the events' `timestamp`.
 */
export type FactHandler<F> = (fact: F, emit: Emit, em: EntityManager, at: string) => void | Promise<void>;

/** A fact as `shop_record_fact` returns it (and the relay reads it from `shop_outbox`); `at`: when it was recorded. */
export interface RecordedFact {
  /** A bigint: a number from `shop_record_fact`'s JSON, a string from a read of the table. */
  id: number | string;
  kind: string;
  fact: unknown;
  trace: string | null;
  at: string | Date;
}

/** One kind of fact: how it is recorded (in the change's transaction) and what it raises. */
export interface FactKind<F> {
  kind: string;
  /** Records the fact in the caller's transaction: it raises its events if and only if that commits. */
  record(em: EntityManager, fact: F): Promise<void>;
  /**
   * For a change that is one call of a database function that records the fact itself
   * (`shop_record_fact`, in the change's own statement): runs `sql`, whose last parameter is the
   * function's `p_fact` (`{kind, trace, with, always}`: the fact is `with` plus what the function adds;
   * `always` asks for a fact also when the call changed nothing). `sql` returns what
   * `shop_record_fact` returned in a column `fact` (null when it recorded nothing), which is handed
   * to the relay when the change commits.
   */
  call<R>(em: EntityManager, sql: string, params: unknown[], fact: { with: Record<string, unknown>; always?: boolean }): Promise<R[]>;
}

/** The parameter `p_fact` of the database functions that record a fact: `trace` is the change's trace context (null unless tracing is on). */
const factParam = (kind: string, fact: { with: unknown; always?: boolean }) => JSON.stringify({ kind, trace: traceContext(), ...fact });

/**
 * The transactional outbox: services record what a change raises in the change's own transaction
 * (a fact), and the relay (src/events/event-log.ts) expands each committed fact into catalogue events,
 * gives them their positions and publishes them. A change that rolls back records nothing.
 *
 * The instance that committed a fact hands it to its own relay right after the commit (the relay
 * need not read it back unless an earlier fact is still waiting). There is no NOTIFY
 * for facts: PostgreSQL commits the transactions that notify one at a time (a database-wide lock
 * held through the commit's flush), which capped checkouts. A fact whose instance died before its
 * relay ran is taken by the relay's poll on any instance.
 */
export class Outbox {
  private handlers = new Map<string, FactHandler<unknown>>();
  /** Events built by the service itself, inside the transaction. */
  readonly events: FactKind<DraftEvent[]>;
  /** Open transactions that recorded facts: their commit hands them to the relay. */
  private recordedIn = new WeakMap<object, RecordedFact[] | null>();
  private wake: (facts: RecordedFact[] | null) => void = () => undefined;

  constructor() {
    this.events = this.define<DraftEvent[]>('events', (events, emit) => {
      for (const e of events) emit(e.name, e.payload as never, e.route);
    });
  }

  /**
   * Calls `wake` with the facts of every commit that recorded any (the relay's `relay(facts)`), or
   * with null when a statement did not say what it recorded (the relay then reads the outbox).
   */
  onCommitted(orm: MikroORM, wake: (facts: RecordedFact[] | null) => void): void {
    this.wake = wake;
    orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: ({ transaction }) => {
        if (!transaction || !this.recordedIn.has(transaction)) return;
        const facts = this.recordedIn.get(transaction)!;
        this.recordedIn.delete(transaction);
        this.wake(facts);
      },
    });
  }

  /**
   * After a statement through `em` that may have recorded facts (the rows' `fact` column; rows
   * without that column may have recorded any): hands them on now (the statement committed by
   * itself) or at its transaction's commit. Nothing recorded, nothing to wake.
   */
  private recorded(em: EntityManager, rows: unknown[]): void {
    const told = rows.length > 0 && rows.every((r) => typeof r === 'object' && r !== null && 'fact' in r);
    const facts = told ? rows.map((r) => (r as { fact: RecordedFact | null }).fact).filter((f): f is RecordedFact => f !== null) : null;
    if (facts && !facts.length) return;
    const tx = em.isInTransaction() ? (em.getTransactionContext() as object | undefined) : undefined;
    if (!tx) return this.wake(facts);
    const list = this.recordedIn.has(tx) ? this.recordedIn.get(tx)! : [];
    this.recordedIn.set(tx, list && facts ? [...list, ...facts] : null);
  }

  /** Declares a kind of fact and the handler that expands it. One handler per kind. */
  define<F>(kind: string, handler: FactHandler<F>): FactKind<F> {
    if (this.handlers.has(kind)) throw new Error(`fact kind ${kind} defined twice`);
    this.handlers.set(kind, handler as FactHandler<unknown>);
    return {
      kind,
      record: async (em, fact) => {
        this.recorded(em, await query(em, 'select shop_record_fact(?::jsonb, null) as fact', [factParam(kind, { with: fact })]));
      },
      call: async <R>(em: EntityManager, sql: string, params: unknown[], fact: { with: Record<string, unknown>; always?: boolean }) => {
        const rows = await query<R>(em, sql, [...params, factParam(kind, fact)]);
        this.recorded(em, rows);
        return rows;
      },
    };
  }

  /** Records events the caller built, in its transaction (nothing when the list is empty). */
  async emit(em: EntityManager, events: DraftEvent[]): Promise<void> {
    if (events.length) await this.events.record(em, events);
  }

  /** The events one fact raises (the relay calls this). */
  async expand(kind: string, fact: unknown, em: EntityManager, at: string): Promise<DraftEvent[]> {
    const handler = this.handlers.get(kind);
    if (!handler) throw new Error(`no handler for fact kind ${kind}`);
    const out: DraftEvent[] = [];
    await handler(fact, (name, payload, route = {}) => void out.push({ name, payload, route } as DraftEvent), em, at);
    return out;
  }
}

