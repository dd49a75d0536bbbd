import type { EntityManager } from '@mikro-orm/postgresql';
import { traceContext } from '../tracing';
import type { Route } from './audience';
import type { DraftOf, DurableEventName } from './catalogue';

/** A durable event before the log gives it its position. */
export type DraftEvent = { [K in DurableEventName]: { name: K; payload: DraftOf<K>; route: Route } }[DurableEventName];

/** Collects the events a fact raises. */
export type Emit = <K extends DurableEventName>(name: K, payload: DraftOf<K>, route?: Route) => void;

/**
 * Turns one recorded fact into its events, when the relay takes it. Runs inside the relay's
 * transaction (`em`), so it may read what the change committed, and who should hear of it now.
 * `at` is when the change recorded the fact (ISO): the events' `timestamp`.
 */
export type FactHandler<F> = (fact: F, emit: Emit, em: EntityManager, at: string) => void | Promise<void>;

/** One kind of fact: how it is recorded (in the change's transaction) and what it raises. */
export interface FactKind<F> {
  kind: string;
  /** Records the fact in the caller's transaction: it raises its events if and only if that commits. */
  record(em: EntityManager, fact: F): Promise<void>;
  /**
   * For a change that is a single statement (`select shop_checkout(...)`): the SQL that runs it and
   * records its result in the same statement. `call` must be one `select f(...) as <column>`; the
   * fact is `jsonb_build_object('<column>', <its result>, ...extra)`; `when` filters (SQL on `r.<column>`).
   */
  wrap(call: string, column: string, extra: string[], when?: string): WrappedCall;
}

/** A change and the recording of its fact, as one statement. */
export interface WrappedCall {
  sql: string;
  /** The statement's parameters: those of `call`, of `extra` and of `when`, in that order. */
  params(call: unknown[], extra: unknown[], when?: unknown[]): unknown[];
}

/**
 * Inserts a fact and wakes every relay at commit (NOTIFY is delivered when the transaction commits).
 * `trace` is the change's trace context (null unless tracing is on).
 */
const INSERT_FACT = `with f as (insert into shop_outbox (kind, fact, trace, created_at) values (?, ?::jsonb, ?, clock_timestamp()) returning 1)
  select pg_notify('shop_outbox', '') from f`;

/**
 * The transactional outbox: services record what a change raises in the change's own transaction
 * (a fact), and the relay (src/events/event-log.ts) expands each committed fact into catalogue events,
 * gives them their positions and publishes them. A change that rolls back records nothing.
 */
export class Outbox {
  private handlers = new Map<string, FactHandler<unknown>>();
  /** Events built by the service itself, inside the transaction. */
  readonly events: FactKind<DraftEvent[]>;

  constructor() {
    this.events = this.define<DraftEvent[]>('events', (events, emit) => {
      for (const e of events) emit(e.name, e.payload as never, e.route);
    });
  }

  /** Declares a kind of fact and the handler that expands it. One handler per kind. */
  define<F>(kind: string, handler: FactHandler<F>): FactKind<F> {
    if (this.handlers.has(kind)) throw new Error(`fact kind ${kind} defined twice`);
    this.handlers.set(kind, handler as FactHandler<unknown>);
    return {
      kind,
      record: async (em, fact) => {
        await em.execute(INSERT_FACT, [kind, JSON.stringify(fact), traceContext()]);
      },
      wrap: (call, column, extra, when) => ({
        sql: `with r as (${call}),
          f as (insert into shop_outbox (kind, fact, trace, created_at)
                select '${kind}', jsonb_build_object('${column}', r.${column}${extra.length ? `, ${extra.join(', ')}` : ''}), ?::text, clock_timestamp() from r
                ${when ? `where ${when}` : ''} returning 1),
          n as (select pg_notify('shop_outbox', '') from f limit 1)
          select r.*, (select count(*) from n) as notified from r`,
        params: (callParams, extraParams, whenParams = []) => [...callParams, ...extraParams, traceContext(), ...whenParams],
      }),
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

/** A list of events under construction, for a service that builds them inside its transaction. */
export function draftList(): { events: DraftEvent[]; emit: Emit } {
  const events: DraftEvent[] = [];
  return { events, emit: (name, payload, route = {}) => void events.push({ name, payload, route } as DraftEvent) };
}
