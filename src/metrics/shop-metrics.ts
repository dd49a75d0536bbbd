import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Envelope } from '../events/envelope';
import { catalogue, type EventName } from '../events/catalogue';

export type Transport = 'socket.io' | 'graphql-ws';
type GraphqlTransport = 'http' | 'graphql-ws';

/** What the scrape reads from the running instance (nothing of it is touched per message). */
export interface MetricSources {
  openConnections(): Record<Transport, number>;
  /** graphql-ws subscriptions run by the fan-out engine, by subscription field. */
  fanoutGroups(): Iterable<{ field: string; groups: number; members: number; largest: number }>;
  /** Socket.IO rooms of this instance and their members, by room kind. */
  socketRooms(): Iterable<{ kind: string; rooms: number; members: number }>;
  hub(): { published: ReadonlyMap<string, number>; dropped: ReadonlyMap<string, number> };
  eventLog(): { position: number; relayed: number; delivered: number; caughtUp: number; logReads: number };
  replayed(): Record<Transport, number>;
  /** The readiness checks: true when the dependency answers (absent: not configured). */
  dependencies(): Promise<{ database: boolean; redis?: boolean }>;
  /** Cluster-wide presence, the same figures on every instance (null when it cannot be read now). */
  cluster(): Promise<{ totalConnections: number; authenticatedUsers: number; adminConnections: number } | null>;
}

/** At most this many distinct operation names are labelled; later new ones count as "other". */
const MAX_OPERATION_NAMES = 200;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/** Seconds; delivery lag is mostly milliseconds, an outage may make it seconds. */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One (event, transport) series of the delivery metrics: plain numbers, no label handling per update. */
interface DeliverySeries {
  labels: { event: string; transport: Transport };
  /** Observations per bucket of LAG_BUCKETS (not cumulative), the last one for +Inf. */
  buckets: number[];
  sum: number;
  count: number;
  messages: number;
}

type Sample = { metricName?: string; labels: Record<string, string | number>; value: number };

/**
 * The delivery lag histogram and the delivered counter, kept by hand: prom-client's label handling
 * costs about a microsecond per update (validation, hashing), as much as a socket write to a group
 * of one. Exposed through the registry as two ordinary metric families.
 */
class DeliveryMetrics {
  private series: Record<Transport, Map<string, DeliverySeries>> = { 'socket.io': new Map(), 'graphql-ws': new Map() };

  record(transport: Transport, event: string, seconds: number, messages: number): void {
    let s = this.series[transport].get(event);
    if (!s) {
      s = { labels: { event, transport }, buckets: new Array(LAG_BUCKETS.length + 1).fill(0), sum: 0, count: 0, messages: 0 };
      this.series[transport].set(event, s);
    }
    let b = 0;
    while (b < LAG_BUCKETS.length && seconds > LAG_BUCKETS[b]) b++;
    s.buckets[b]++;
    s.sum += seconds;
    s.count++;
    s.messages += messages;
  }

  register(registry: Registry, lag: { name: string; help: string }, delivered: { name: string; help: string }): void {
    const all = () => [...this.series['socket.io'].values(), ...this.series['graphql-ws'].values()];
    const family = (m: { name: string; help: string }, type: 'histogram' | 'counter', values: () => Sample[]) => ({
      ...m, type, aggregator: 'sum', get: async () => ({ ...m, type, aggregator: 'sum', values: values() }), reset: () => undefined,
    });
    registry.registerMetric(family(lag, 'histogram', () => all().flatMap((s) => {
      let acc = 0;
      const out: Sample[] = LAG_BUCKETS.map((le, i) => ({ metricName: `${lag.name}_bucket`, labels: { ...s.labels, le }, value: (acc += s.buckets[i]) }));
      out.push({ metricName: `${lag.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${lag.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${lag.name}_count`, labels: s.labels, value: s.count });
      return out;
    })) as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric(family(delivered, 'counter', () => all().map((s) => ({ labels: s.labels, value: s.messages }))) as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}

const kindOf = (name: string): 'durable' | 'live' | 'internal' => {
  const def = catalogue[name as EventName];
  return def ? (def.durable ? 'durable' : 'live') : 'internal';
};

/**
 * The Prometheus metrics of one instance, in a registry of its own (two instances in one process
 * never share one). Every series carries the default label `instance`, so a Prometheus scraping
 * every instance of a cluster keeps them apart.
 *
 * The per-message cost is `delivered`: one histogram observation and one counter increment per
 * event per fan-out group (graphql-ws) or per room emit (Socket.IO), never per subscriber, on
 * plain numbers (`DeliveryMetrics`).
 */
export class ShopMetrics {
  readonly registry = new Registry();
  private names = new Set<string>();
  private deliveries = new DeliveryMetrics();
  private http: Histogram<'method' | 'route' | 'code'>;
  private graphql: Histogram<'operation' | 'type' | 'code' | 'transport'>;
  private rateLimitedTotal: Counter<'transport'>;
  private up: Gauge<'dependency'>;

  constructor(private sources: MetricSources, instance: string) {
    const register = this.registry;
    register.setDefaultLabels({ instance });
    collectDefaultMetrics({ register, prefix: 'shop_' });

    this.deliveries.register(register, {
      name: 'shop_event_delivery_lag_seconds',
      help: 'From the change that recorded the event (its commit) to the socket write, per event per fan-out group (graphql-ws) or room emit (Socket.IO)',
    }, {
      name: 'shop_events_delivered_total',
      help: 'Events written live to this instance\'s clients: graphql-ws messages (one per subscriber), Socket.IO room emits (one per event)',
    });
    this.http = new Histogram({
      name: 'shop_http_request_duration_seconds',
      help: 'HTTP requests served by Express, by route and status code',
      labelNames: ['method', 'route', 'code'], buckets: DURATION_BUCKETS, registers: [register],
    });
    this.graphql = new Histogram({
      name: 'shop_graphql_operation_duration_seconds',
      help: 'GraphQL operations by operation name, type and outcome (OK or the first error\'s code); subscriptions: until set up',
      labelNames: ['operation', 'type', 'code', 'transport'], buckets: DURATION_BUCKETS, registers: [register],
    });
    this.rateLimitedTotal = new Counter({
      name: 'shop_rate_limited_total',
      help: 'Socket.IO messages and graphql-ws operations refused with RATE_LIMITED',
      labelNames: ['transport'], registers: [register],
    });
    for (const t of ['socket.io', 'graphql-ws'] as const) this.rateLimitedTotal.inc({ transport: t }, 0);
    this.up = new Gauge({
      name: 'shop_dependency_up',
      help: '1 when the dependency answered the last readiness check (/readyz or this scrape), else 0',
      labelNames: ['dependency'], registers: [register],
      collect: async () => this.setUp(await sources.dependencies()),
    });

    const gauge = <L extends string>(name: string, help: string, labelNames: L[], collect: (g: Gauge<L>) => void | Promise<void>) =>
      new Gauge<L>({ name, help, labelNames, registers: [register], collect(this: Gauge<L>) { this.reset(); return collect(this); } });
    // Counters kept by the code itself (the event log, the hub, the engines), read at scrape time.
    const counter = <L extends string>(name: string, help: string, labelNames: L[], collect: (c: Counter<L>) => void) =>
      new Counter<L>({ name, help, labelNames, registers: [register], collect(this: Counter<L>) { this.reset(); collect(this); } });

    gauge('shop_open_connections', 'Open connections on this instance, by transport', ['transport'], (g) => {
      for (const [transport, n] of Object.entries(sources.openConnections())) g.set({ transport }, n);
    });
    gauge('shop_graphql_subscriptions', 'Active graphql-ws subscriptions on this instance, by subscription field', ['field'], (g) => {
      for (const f of sources.fanoutGroups()) g.set({ field: f.field }, f.members);
    });
    gauge('shop_fanout_groups', 'graphql-ws fan-out groups (one execution per event each), by subscription field', ['field'], (g) => {
      for (const f of sources.fanoutGroups()) g.set({ field: f.field }, f.groups);
    });
    gauge('shop_fanout_group_size_max', 'Members of the largest fan-out group, by subscription field', ['field'], (g) => {
      for (const f of sources.fanoutGroups()) g.set({ field: f.field }, f.largest);
    });
    gauge('shop_socketio_rooms', 'Socket.IO rooms with members on this instance, by kind (user, product, admin, support, cart)', ['kind'], (g) => {
      for (const r of sources.socketRooms()) g.set({ kind: r.kind }, r.rooms);
    });
    gauge('shop_socketio_room_members', 'Socket.IO room memberships on this instance, by room kind', ['kind'], (g) => {
      for (const r of sources.socketRooms()) g.set({ kind: r.kind }, r.members);
    });
    gauge('shop_event_log_position', 'Last event log position delivered on this instance (instances that lag show a lower one)', [], (g) => {
      g.set(sources.eventLog().position);
    });
    counter('shop_events_published_total', 'Events this instance published to the pub/sub, by event (durable ones travel one message per relay batch; internal: instance-to-instance signals)', ['event', 'kind'], (c) => {
      for (const [event, n] of sources.hub().published) c.inc({ event, kind: kindOf(event) }, n);
    });
    counter('shop_events_dropped_total', 'Publishes skipped while the pub/sub was unreachable: live signals are lost, durable events still flow through the event log', ['event', 'kind'], (c) => {
      for (const [event, n] of sources.hub().dropped) c.inc({ event, kind: kindOf(event) }, n);
    });
    counter('shop_events_replayed_total', 'Durable events written to resuming clients (after / lastEventId, Socket.IO recovery and resume)', ['transport'], (c) => {
      for (const [transport, n] of Object.entries(sources.replayed())) c.inc({ transport }, n);
    });
    counter('shop_event_log_relayed_total', 'Durable events this instance moved from the outbox into the log', [], (c) => c.inc(sources.eventLog().relayed));
    counter('shop_event_log_delivered_total', 'Durable events delivered in order to this instance\'s listeners', [], (c) => c.inc(sources.eventLog().delivered));
    counter('shop_event_log_caught_up_total', 'Durable events this instance read back from the log because the pub/sub did not bring them', [], (c) => c.inc(sources.eventLog().caughtUp));
    counter('shop_event_log_reads_total', 'Reads of the event log (catch-up and replays of old positions)', [], (c) => c.inc(sources.eventLog().logReads));
    gauge('shop_cluster_connections', 'Cluster-wide connections (the same on every instance: do not sum across instances)', ['scope', 'role'], async (g) => {
      const c = await sources.cluster();
      if (!c) return;
      g.set({ scope: 'cluster', role: 'all' }, c.totalConnections);
      g.set({ scope: 'cluster', role: 'admin' }, c.adminConnections);
    });
    gauge('shop_cluster_authenticated_users', 'Distinct signed-in users connected anywhere in the cluster (the same on every instance)', ['scope'], async (g) => {
      const c = await sources.cluster();
      if (c) g.set({ scope: 'cluster' }, c.authenticatedUsers);
    });
  }

  /**
   * One event written live to `messages` clients of one fan-out group, or emitted once to its
   * rooms: its lag from the commit (`envelope.t`) to now.
   */
  delivered(transport: Transport, envelope: Envelope, messages: number): void {
    this.deliveries.record(transport, envelope.name, Math.max(0, Date.now() - envelope.at) / 1000, messages);
  }

  rateLimited(transport: Transport): void {
    this.rateLimitedTotal.inc({ transport });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, code: String(status) }, seconds);
  }

  /** Bounded names: anonymous operations are "anonymous", names past the cap "other". */
  operationName(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!NAME.test(name)) return 'other';
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_OPERATION_NAMES) return 'other';
    this.names.add(name);
    return name;
  }

  graphqlOperation(transport: GraphqlTransport, name: string | null | undefined, type: string, code: string, seconds: number): void {
    this.graphql.observe({ operation: this.operationName(name), type, code, transport }, seconds);
  }

  /** What a readiness check found (also run at every scrape). */
  setUp(checks: { database: boolean; redis?: boolean }): void {
    this.up.set({ dependency: 'database' }, checks.database ? 1 : 0);
    if (checks.redis !== undefined) this.up.set({ dependency: 'redis' }, checks.redis ? 1 : 0);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Bounded route labels for HTTP requests (Socket.IO's own HTTP requests never reach Express). */
export function routeOf(path: string): string {
  if (path === '/graphql' || path === '/healthz' || path === '/readyz' || path === '/metrics') return path;
  if (path.startsWith('/graphiql/')) return '/graphiql';
  return 'other';
}

/** The outcome of a GraphQL result: OK, or the first error's code. */
export function outcomeOf(errors: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined): string {
  if (!errors?.length) return 'OK';
  const code = errors[0].extensions?.code;
  return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : 'INTERNAL_SERVER_ERROR';
}
