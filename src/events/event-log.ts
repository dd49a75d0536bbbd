import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { query } from '../db/raw';
import { every, type Loop } from '../lib/every';
import { AppError, ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { inSpan, openSpan, untraced, type OpenSpan } from '../tracing';
import type { Envelope, Route } from './envelope';
import type { EventHub } from './hub';
import type { DraftEvent, Outbox, RecordedFact } from './outbox';

/** An event id: its position, zero-padded to a fixed width so ids also sort as strings. */
export const formatEventId = (position: number): string => String(position).padStart(16, '0');

/** The position an `eventId` names, or null when it is not one of ours. */
function parseEventId(id: unknown): number | null {
  if (typeof id !== 'string' || !/^\d{1,16}$/.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}

const resyncRequired = (why: string) =>
  new AppError(ErrorCode.RESYNC_REQUIRED, `Cannot resume: ${why}. Refetch by query and subscribe again without \`after\``);

/**
 * A logged event as it is published and replayed: its payload carries its position as `eventId`
 * (the log stores the payload without it: the row's `id` is the position).
 */
function logged(position: number, name: string, payload: Record<string, unknown>, route: Route, at: number, trace?: string): Envelope {
  return { name, payload: { eventId: formatEventId(position), ...payload }, route, at, position, ...(trace ? { trace } : {}) };
}

type Listener = (envelope: Envelope) => void;

export interface EventLogOptions {
  orm: MikroORM;
  hub: EventHub;
  outbox: Outbox;
  logger: Logger;
  /** For LISTEN: the readers are woken when the relay commits new positions. */
  databaseUrl: string;
  retentionSeconds: number;
  /** Fallback polling of the outbox and the log when a wake-up was missed. */
  pollMs: number;
  /** Test builds only: die (SIGKILL) at this point. */
  faultPoint?: string;
}

const RELAY_LOCK = 726_4001;
const RELAY_BATCH = 500;
const READ_PAGE = 1000;
/** Fact ids remembered as taken by a read (oldest forgotten first). */
const TAKEN_MAX = 10_000;
/** Recent events kept in memory for resumes without a log read. */
const RING_SIZE = 20_000;

/**
 * The durable event log and its delivery on this instance.
 *
 * **Relay** (one commit at a time across the cluster, under a transaction-scoped advisory lock):
 * takes the facts this instance's commits handed over, or reads the committed facts from
 * `shop_outbox` (after a poll, or when an older fact waits there), and expands them into events;
 * `shop_relay` (src/db/functions/shop_relay.sql) then deletes the facts, gives the events the next
 * positions (gapless: a counter row, not a sequence) and writes them to `shop_events` in one
 * statement; then they are published through the hub. Woken right after this instance commits a
 * fact (src/events/outbox.ts), and by a poll.
 *
 * **Delivery** (every instance): events reach this instance's listeners strictly in position order,
 * each once. Live from the hub (Redis); anything missed — a message lost while Redis was away, an
 * instance that died after its commit — is read from the log: a gap in positions, a NOTIFY of a
 * later position, or the poll trigger a read.
 *
 * **Replay**: `since(after)` returns the events after a position up to what this instance has
 * delivered, from memory when recent, otherwise from one log read shared by every caller asking for
 * the same position at once.
 */
export class EventLog {
  private listeners = new Map<string, Set<Listener>>();
  /** Last position delivered to this instance's listeners. */
  private position = 0;
  private started = false;
  private pending = new Map<number, Envelope>();
  private ring: Envelope[] = [];
  private reads = new Map<number, Promise<Envelope[]>>();
  private catchingUp: Promise<void> | null = null;
  private relayRunning = false;
  private relayDirty = false;
  /** Facts this instance committed and handed over: relayed without reading the outbox. */
  private handed: RecordedFact[] = [];
  /** The next batch reads the outbox (at start, on the poll, and whenever the handed facts are not all there is). */
  private readNeeded = true;
  /** Facts a read took before their hand-off arrived (a commit's answer comes after the commit): not relayed twice. */
  private taken = new Set<number>();
  private relayRetry: NodeJS.Timeout | null = null;
  private loops: Loop[] = [];
  private listenClient: Client | null = null;
  private offHub: (() => void) | null = null;
  private closed = false;
  private state = { lastId: 0, prunedThrough: 0, at: 0 };
  /** Counters for tests, benchmarks and metrics. */
  readonly stats = { relayed: 0, delivered: 0, logReads: 0, replayed: 0, caughtUp: 0 };

  constructor(private opts: EventLogOptions) {}

  /** Subscribes to the hub, takes the current position, and starts the relay, the poll and the pruning. */
  async start(): Promise<void> {
    this.offHub = await this.opts.hub.onDurable((batch) => {
      for (const e of batch) this.receive(e);
    });
    this.opts.hub.onReconnect(() => void this.catchUp());
    const s = await this.readState(true);
    this.position = s.lastId;
    this.started = true;
    this.drainPending();
    await this.listenForWakeUps();
    // Facts committed on this instance are handed to its relay; those of a dead instance wait for
    // the poll. The relay is not part of the request that woke it: its spans continue each fact's own trace.
    this.opts.outbox.onCommitted(this.opts.orm, (facts) => untraced(() => {
      this.fault('before-relay');
      void this.relay(facts);
    }));
    const poll = Math.max(50, this.opts.pollMs);
    const { logger } = this.opts;
    this.loops.push(every(poll, async () => {
      void this.relay();
      if ((await this.readState(true)).lastId > this.position) await this.catchUp();
    }, { what: 'event log poll', logger, level: 'warn' }));
    const pruneMs = Math.max(500, Math.min(60_000, (this.opts.retentionSeconds * 1000) / 2));
    this.loops.push(every(pruneMs, () => this.prune(), { what: 'event log pruning', logger, level: 'warn' }));
    void this.relay();
  }

  async close(): Promise<void> {
    this.closed = true;
    const loopsStopped = Promise.all(this.loops.map((l) => l.stop()));
    if (this.relayRetry) clearTimeout(this.relayRetry);
    this.offHub?.();
    const c = this.listenClient;
    this.listenClient = null;
    await c?.end().catch(() => undefined);
    await loopsStopped;
    await this.catchingUp?.catch(() => undefined);
  }

  /** Listens to one durable event on this instance. */
  on(name: string, listener: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => void set!.delete(listener);
  }

  /** Listens to one event of the catalogue: durable ones from this log (in order), live signals from the hub. */
  async listen(def: { name: string; durable: boolean }, listener: Listener): Promise<() => void> {
    return def.durable ? this.on(def.name, listener) : this.opts.hub.on(def.name, listener);
  }

  /** The last position delivered here: what a snapshot read now reflects at least. */
  current(): number {
    return this.position;
  }

  // ---------------------------------------------------------------- relay

  /**
   * Moves committed facts into the log; any instance may call it, one runs at a time cluster-wide.
   * `facts`: what a commit of this instance recorded (relayed without a read of the outbox when the
   * relay was idle and nothing older waits there); none: read the outbox.
   */
  async relay(facts?: RecordedFact[] | null): Promise<void> {
    if (this.closed) return;
    if (!facts) {
      this.readNeeded = true;
    } else {
      const fresh = facts.filter((f) => !this.taken.delete(Number(f.id)));
      if (!fresh.length) return;
      this.handed.push(...fresh);
    }
    if (this.relayRunning) {
      this.relayDirty = true;
      return;
    }
    this.relayRunning = true;
    try {
      let first = true;
      do {
        // Facts that came while a batch was under way read the outbox: under load a read takes
        // many commits at once, where handed facts would often be refused for an older one.
        if (!first) this.readNeeded = true;
        first = false;
        this.relayDirty = false;
        const outcome = await this.relayBatch();
        if (outcome === 'busy') {
          this.readNeeded = true;
          // Another instance holds the relay; look again shortly in case it finished before our facts committed.
          this.relayRetry ??= setTimeout(() => {
            this.relayRetry = null;
            void this.relay();
          }, 25);
          break;
        }
        if (outcome === 'full') this.relayDirty = true;
      } while (this.relayDirty && !this.closed);
    } catch (err) {
      // The facts stay in the outbox: the next batch reads them.
      this.readNeeded = true;
      if (!this.closed) this.opts.logger.error({ err }, 'event relay failed (retrying)');
    } finally {
      this.relayRunning = false;
    }
  }

  /**
   * One batch: the facts this instance handed over, or else the oldest facts read from the outbox,
   * expanded into events (no transaction, no lock); then `shop_relay`, which in one statement
   * deletes the facts, gives the events their positions and writes them, under the relay's lock.
   * One round trip for handed facts, two after a read: under a busy event loop every round trip
   * waits its turn, and the relay's are in every event's delivery latency.
   */
  private async relayBatch(): Promise<'busy' | 'empty' | 'some' | 'full'> {
    const { orm, outbox, logger } = this.opts;
    const em = orm.em.fork();
    const handed = !this.readNeeded && this.handed.length > 0;
    let rows: RecordedFact[];
    /** Facts read before their hand-off arrived: remembered once relayed. */
    let unhanded: number[] = [];
    if (handed) {
      rows = this.handed.splice(0, RELAY_BATCH);
    } else {
      this.readNeeded = false;
      const known = new Set(this.handed.map((f) => Number(f.id)));
      rows = await query<RecordedFact>(em, `select id, kind, fact, trace, created_at as at from shop_outbox order by id limit ${RELAY_BATCH}`);
      const read = new Set(rows.map((r) => Number(r.id)));
      unhanded = [...read].filter((id) => !known.has(id));
      // Handed facts the read brought are relayed with it. Those handed before it that it did not
      // bring (and it was not cut at the batch size) were taken by another relay: forgotten.
      const cut = rows.length === RELAY_BATCH;
      this.handed = this.handed.filter((f) => !read.has(Number(f.id)) && (cut || !known.has(Number(f.id))));
    }
    if (!rows.length) return 'empty';
    /** Per traced fact: the span of its relay and publish (tracing on only). */
    const spans: OpenSpan[] = [];
    const drafts: Array<DraftEvent & { at: number; trace?: string }> = [];
    for (const row of rows) {
      const span = openSpan(`publish ${row.kind}`, row.trace, 'producer', { 'shop.fact': row.kind, 'shop.outbox_id': String(row.id) });
      if (span) spans.push(span);
      try {
        const at = new Date(row.at);
        for (const d of await outbox.expand(row.kind, row.fact, em, at.toISOString())) {
          // `at`: when its change recorded the fact, the start of its delivery lag; `trace`: the
          // context its publish continues (the fact's relay span).
          drafts.push({ ...d, at: at.getTime(), ...(span ? { trace: span.context } : {}) });
        }
      } catch (err) {
        // A fact that cannot be expanded must not stop every later one: it is dropped with the batch.
        logger.error({ err, kind: row.kind, outboxId: row.id }, 'event fact dropped: its handler failed');
      }
    }
    let last: string | null;
    try {
      [{ last }] = await query<{ last: string | null }>(em, 'select shop_relay(?, ?::bigint[], ?::jsonb, ?) as last', [
        RELAY_LOCK, `{${rows.map((r) => r.id).join(',')}}`,
        JSON.stringify(drafts.map((d) => ({ name: d.name, payload: d.payload, route: d.route, trace: d.trace ?? null }))), handed,
      ]);
    } catch (err) {
      for (const span of spans) span.end({ 'shop.relay_failed': true });
      throw err;
    }
    const outcome = rows.length === RELAY_BATCH || (handed && this.handed.length) ? 'full' : 'some';
    if (last !== null && Number(last) >= 0 && unhanded.length) {
      // What the read took, this instance's own facts among them, may be handed over still (or was
      // meanwhile): not relayed twice.
      const gone = new Set(unhanded);
      this.handed = this.handed.filter((f) => !gone.delete(Number(f.id)));
      for (const id of gone) this.taken.add(id);
      for (const id of this.taken) {
        if (this.taken.size <= TAKEN_MAX) break;
        this.taken.delete(id);
      }
    }
    if (last === null || Number(last) < 0 || !drafts.length) {
      for (const span of spans) span.end();
      if (last === null) return 'busy';
      if (Number(last) < 0) {
        // -1: an older fact waits in the outbox, and goes first; -2: another relay took some of
        // these. Either way the outbox says what is left.
        this.readNeeded = true;
        return 'full';
      }
      return outcome;
    }
    const first = Number(last) - drafts.length + 1;
    const envelopes = drafts.map((d, i) => logged(first + i, d.name, d.payload as Record<string, unknown>, d.route, d.at, d.trace));
    this.stats.relayed += envelopes.length;
    this.fault('after-relay');
    this.opts.hub.sendDurable(envelopes);
    for (const e of envelopes) this.receive(e);
    for (const span of spans) span.end();
    return outcome;
  }

  // ---------------------------------------------------------------- delivery

  /** An event from the hub, the relay or a log read: delivered in position order, once. */
  private receive(e: Envelope): void {
    const at = e.position;
    if (typeof at !== 'number') return;
    if (!this.started) {
      this.pending.set(at, e);
      return;
    }
    if (at <= this.position) return;
    if (at === this.position + 1) {
      this.deliver(e);
      this.drainPending();
      return;
    }
    this.pending.set(at, e);
    void this.catchUp();
  }

  private drainPending(): void {
    for (const at of [...this.pending.keys()]) if (at <= this.position) this.pending.delete(at);
    let next: Envelope | undefined;
    while ((next = this.pending.get(this.position + 1))) {
      this.pending.delete(next.position!);
      this.deliver(next);
    }
  }

  private deliver(e: Envelope): void {
    this.position = e.position!;
    this.ring.push(e);
    // Trimmed in steps of a quarter, not per event (a splice moves the whole array).
    if (this.ring.length > RING_SIZE * 1.25) this.ring.splice(0, this.ring.length - RING_SIZE);
    this.stats.delivered++;
    const set = this.listeners.get(e.name);
    if (!set) return;
    // With tracing on, this instance's delivery of the event is one span in the trace of its change.
    inSpan(`deliver ${e.name}`, e.trace, 'consumer', { 'shop.event': e.name, 'shop.event_id': e.position!, 'shop.listeners': set.size }, () => {
      for (const l of set) {
        try {
          l(e);
        } catch (err) {
          this.opts.logger.error({ err, event: e.name }, 'event listener failed');
        }
      }
    });
  }

  /** Reads from the log whatever this instance has not delivered yet. One read at a time. */
  private catchUp(): Promise<void> {
    if (!this.started || this.closed) return Promise.resolve();
    this.catchingUp ??= (async () => {
      try {
        for (;;) {
          const rows = await this.read(this.position, READ_PAGE);
          if (!rows.length) break;
          if (rows[0].position! > this.position + 1) {
            this.opts.logger.warn({ from: this.position + 1, to: rows[0].position! - 1 }, 'events pruned before this instance delivered them');
            this.position = rows[0].position! - 1;
          }
          this.stats.caughtUp += rows.length;
          for (const e of rows) this.receive(e);
          if (rows.length < READ_PAGE) break;
        }
      } catch (err) {
        if (!this.closed) this.opts.logger.warn({ err }, 'event log read failed (will retry)');
      } finally {
        this.catchingUp = null;
      }
      if (this.pending.size) setTimeout(() => void this.catchUp(), 100).unref();
    })();
    return this.catchingUp;
  }

  private async read(after: number, limit: number): Promise<Envelope[]> {
    this.stats.logReads++;
    const rows = await query<{ id: string; name: string; payload: Record<string, unknown>; route: Route; trace: string | null; t: string }>(this.opts.orm.em.fork(),
      `select id, name, payload, route, trace, (extract(epoch from created_at) * 1000)::bigint as t
         from shop_events where id > ? order by id limit ?`, [after, limit]);
    return rows.map((r) => logged(Number(r.id), r.name, r.payload, r.route, Number(r.t), r.trace ?? undefined));
  }

  // ---------------------------------------------------------------- resume

  /**
   * The position of a client's `after`, or RESYNC_REQUIRED when it is not an id of this shop's log,
   * is later than any id issued, or is older than what the retention kept.
   */
  async resumePoint(after: unknown): Promise<number> {
    const at = parseEventId(after);
    if (at === null) throw resyncRequired('the event id is not one this shop issued');
    // The state is refreshed by every poll; a resume inside what it shows needs no read of its own.
    let s = this.started ? this.state : await this.readState(false);
    if (at > Math.max(this.position, s.lastId) || at < s.prunedThrough) s = await this.readState(true);
    if (at > Math.max(this.position, s.lastId)) throw resyncRequired('the event id is later than any issued');
    if (at < s.prunedThrough) throw resyncRequired('the events after this id are past the retention');
    return at;
  }

  /**
   * Every event after `after` up to what this instance has delivered, in order. Recent ones come
   * from memory; older ones from one log read per distinct position, shared by concurrent callers.
   */
  async since(after: number): Promise<Envelope[]> {
    const upTo = this.position;
    if (after >= upTo) return [];
    const ringStart = this.ring.length ? this.ring[0].position! : upTo + 1;
    if (after + 1 >= ringStart) return this.fromRing(after, upTo);
    let read = this.reads.get(after);
    if (!read) {
      read = (async () => {
        const out: Envelope[] = [];
        let from = after;
        while (from < ringStart - 1) {
          const page = await this.read(from, READ_PAGE);
          // Positions are gapless: a log that does not start right after `after` was pruned past it
          // after `resumePoint` let it through.
          if (from === after && page[0]?.position !== after + 1) throw resyncRequired('the events after this id are past the retention');
          if (!page.length) break;
          for (const e of page) if (e.position! < ringStart) out.push(e);
          from = page[page.length - 1].position!;
          if (page.length < READ_PAGE) break;
        }
        return out;
      })().finally(() => setTimeout(() => this.reads.delete(after), 1000).unref());
      this.reads.set(after, read);
    }
    const older = await read;
    const rest = this.fromRing(Math.max(after, older.length ? older[older.length - 1].position! : after), upTo);
    return [...older, ...rest];
  }

  private fromRing(after: number, upTo: number): Envelope[] {
    if (!this.ring.length) return [];
    const start = this.ring[0].position!;
    const from = Math.max(0, after + 1 - start);
    const to = Math.min(this.ring.length, upTo - start + 1);
    return from < to ? this.ring.slice(from, to) : [];
  }

  // ---------------------------------------------------------------- housekeeping

  private async readState(fresh: boolean): Promise<{ lastId: number; prunedThrough: number }> {
    if (!fresh && Date.now() - this.state.at < 250) return this.state;
    const [row] = await this.opts.orm.em.fork().execute<Array<{ last_id: string; pruned_through: string }>>(
      'select last_id, pruned_through from shop_event_state');
    this.state = { lastId: Number(row.last_id), prunedThrough: Number(row.pruned_through), at: Date.now() };
    return this.state;
  }

  /** Deletes events older than the retention (a prefix of the log) and records how far it went. */
  private async prune(): Promise<void> {
    try {
      const [row] = await this.opts.orm.em.fork().execute<Array<{ pruned_through: string }>>(
        `with gone as (delete from shop_events where created_at < now() - make_interval(secs => ?) returning id)
         update shop_event_state set pruned_through = greatest(pruned_through, (select max(id) from gone))
          where exists (select 1 from gone) returning pruned_through`, [this.opts.retentionSeconds]);
      if (row) this.state.prunedThrough = Math.max(this.state.prunedThrough, Number(row.pruned_through));
    } catch (err) {
      if (!this.closed) this.opts.logger.warn({ err }, 'event log pruning failed');
    }
  }

  /** LISTEN on a connection of its own: new positions in the log wake the readers. */
  private async listenForWakeUps(): Promise<void> {
    const connect = async () => {
      if (this.closed) return;
      const client = new Client({ connectionString: this.opts.databaseUrl });
      client.on('error', (err) => this.opts.logger.warn({ err: err.message }, 'event log LISTEN connection lost'));
      client.on('end', () => {
        if (this.listenClient === client && !this.closed) {
          this.listenClient = null;
          setTimeout(() => void connect().catch(() => undefined), 500).unref();
        }
      });
      client.on('notification', (n) => {
        if (n.channel === 'shop_events') {
          const last = Number(n.payload);
          // The hub usually brings these first; read the log only if it did not.
          if (last > this.position) setTimeout(() => (last > this.position ? void this.catchUp() : undefined), 200).unref();
        }
      });
      await client.connect();
      await client.query('LISTEN shop_events');
      this.listenClient = client;
    };
    await connect();
  }

  private fault(point: string): void {
    if (this.opts.faultPoint === point) {
      this.opts.logger.warn({ point }, 'fault point reached: killing the process');
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
