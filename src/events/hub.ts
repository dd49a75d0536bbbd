import { RedisPubSub } from 'graphql-redis-subscriptions';
import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from '../logger';
import type { Envelope, Route } from './envelope';
import type { LiveEventName, PayloadOf } from './catalogue';

/** The transport under the hub: Redis across instances, or in-process for a single one. */
export interface PubSubBackend {
  /** `message` is plain JSON: an envelope, or (the durable topic) a batch of them. */
  publish(topic: string, message: unknown): Promise<void>;
  subscribe(topic: string, onMessage: (message: unknown) => void): Promise<number>;
  unsubscribe(id: number): void;
  /** Whether a publish now would reach the other instances (false while Redis is unreachable). */
  connected(): boolean;
  /** Calls back whenever the subscriber connection is (re)established. */
  onReady(cb: () => void): void;
  close(): Promise<void>;
}

export class MemoryBackend implements PubSubBackend {
  private handlers = new Map<string, Map<number, (m: unknown) => void>>();
  private ids = new Map<number, string>();
  private next = 1;

  async publish(topic: string, message: unknown): Promise<void> {
    const set = this.handlers.get(topic);
    if (!set) return;
    // Delivered on a later tick, as Redis would: a publisher never runs subscribers inline.
    const targets = [...set.values()];
    setImmediate(() => targets.forEach((h) => h(message)));
  }

  async subscribe(topic: string, onMessage: (m: unknown) => void): Promise<number> {
    const id = this.next++;
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Map()));
    set.set(id, onMessage);
    this.ids.set(id, topic);
    return id;
  }

  unsubscribe(id: number): void {
    const topic = this.ids.get(id);
    if (topic) this.handlers.get(topic)?.delete(id);
    this.ids.delete(id);
  }

  connected(): boolean {
    return true;
  }

  onReady(): void {}

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

function redisOptions(): RedisOptions {
  return {
    lazyConnect: false,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 5000),
    reconnectOnError: () => true,
    connectionName: 'shoe-store-api',
  };
}

/** graphql-redis-subscriptions on two ioredis connections (publisher, subscriber) per instance. */
export class RedisBackend implements PubSubBackend {
  readonly publisher: Redis;
  readonly subscriber: Redis;
  private pubsub: RedisPubSub;

  constructor(url: string, private logger: Logger) {
    const opts = redisOptions();
    // Auto-pipelining: the PUBLISHes (and presence commands) of one tick go out in one write.
    this.publisher = new Redis(url, { ...opts, connectionName: 'shoe-store-pub', enableAutoPipelining: true });
    this.subscriber = new Redis(url, { ...opts, connectionName: 'shoe-store-sub' });
    for (const [role, c] of [['publisher', this.publisher], ['subscriber', this.subscriber]] as const) {
      c.on('error', (err) => this.logger.warn({ err: err.message, role }, 'redis connection error (retrying)'));
    }
    this.pubsub = new RedisPubSub({ publisher: this.publisher, subscriber: this.subscriber });
  }

  publish(topic: string, message: unknown): Promise<void> {
    return this.pubsub.publish(topic, message);
  }

  subscribe(topic: string, onMessage: (m: unknown) => void): Promise<number> {
    return this.pubsub.subscribe(topic, onMessage);
  }

  unsubscribe(id: number): void {
    this.pubsub.unsubscribe(id);
  }

  connected(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  onReady(cb: () => void): void {
    this.subscriber.on('ready', cb);
  }

  /** QUIT when connected; a client waiting for an unreachable Redis is just dropped. */
  async close(): Promise<void> {
    await Promise.allSettled([this.publisher, this.subscriber].map(async (c) => {
      if (c.status !== 'ready') return c.disconnect();
      const timer = setTimeout(() => c.disconnect(), 1000);
      try {
        await c.quit();
      } finally {
        clearTimeout(timer);
      }
    }));
  }
}

type Listener = (message: Envelope) => void;

/**
 * The one channel every durable event crosses, in position order: one message per relay batch (an
 * array of envelopes), so that a busy shop's events cost one PUBLISH, one serialization and one
 * parse per batch rather than per event.
 */
const DURABLE_TOPIC = 'durable';

/**
 * The instance's one door to the pub/sub. Each topic is subscribed once per instance however many
 * GraphQL subscribers and Socket.IO rooms want it; messages are then dispatched locally.
 */
export class EventHub {
  private listeners = new Map<string, Set<(message: unknown) => void>>();
  private subscriptions = new Map<string, Promise<number>>();
  published = 0;
  /** Publishes skipped while the pub/sub was unreachable. */
  dropped = 0;
  /** The same two counts by message name (event name, or internal channel). */
  readonly byName = { published: new Map<string, number>(), dropped: new Map<string, number>() };

  /** `namespace` keeps shops that share one Redis apart (one shop = one namespace). */
  constructor(private backend: PubSubBackend, private logger: Logger, private namespace = 'shop') {}

  private topic(name: string): string {
    return `${this.namespace}.event.${name}`;
  }

  /**
   * Publishes one live signal to every instance, without waiting: a caller never waits on Redis.
   * While Redis is unreachable live signals are dropped (durable events go through the event log).
   */
  publish<K extends LiveEventName>(name: K, payload: PayloadOf<K>, route: Route = {}): void {
    const envelope: Envelope = { name, payload, route, at: Date.now() };
    this.send(this.topic(name), envelope, [envelope]);
  }

  /** Sends durable events the log already holds, in one message; the instances that miss it read them from the log. */
  sendDurable(envelopes: Envelope[]): void {
    if (envelopes.length) this.send(this.topic(DURABLE_TOPIC), envelopes, envelopes);
  }

  /** Listens to the durable events on this instance, a relay batch at a time (the event log orders them). */
  onDurable(listener: (batch: Envelope[]) => void): Promise<() => void> {
    return this.listen(this.topic(DURABLE_TOPIC), (m) => listener(m as Envelope[]));
  }

  /** Calls back when the pub/sub connection comes back after an outage. */
  onReconnect(cb: () => void): void {
    this.backend.onReady(cb);
  }

  /**
   * Publishes one message without waiting; skipped while the pub/sub is unreachable. `events` are
   * what it carries, counted by name (published or dropped).
   */
  private send(topic: string, message: unknown, events: Array<{ name: string }>): void {
    const up = this.backend.connected();
    const count = up ? this.byName.published : this.byName.dropped;
    for (const e of events) count.set(e.name, (count.get(e.name) ?? 0) + 1);
    if (!up) {
      this.dropped += events.length;
      return;
    }
    this.published += events.length;
    this.backend.publish(topic, message).catch((err) => {
      this.logger.error({ err, events: events.length, first: events[0]?.name }, 'event publish failed');
    });
  }

  /** Listens to one live signal on this instance; resolves once the pub/sub subscription is live. */
  on(name: string, listener: Listener): Promise<() => void> {
    return this.listen(this.topic(name), (m) => listener(m as Envelope));
  }

  private signalTopic(channel: string): string {
    return `${this.namespace}.internal.${channel}`;
  }

  /**
   * Publishes an internal message between instances (every instance, this one included, gets it
   * on `onSignal`). Signals are not events: no bridge or subscription ever delivers them to clients.
   */
  signal(channel: string, message: unknown): void {
    this.send(this.signalTopic(channel), message, [{ name: channel }]);
  }

  /** Listens to one internal channel; resolves once the pub/sub subscription is live. */
  onSignal(channel: string, listener: (message: unknown) => void): Promise<() => void> {
    return this.listen(this.signalTopic(channel), listener);
  }

  private async listen(topic: string, listener: (message: unknown) => void): Promise<() => void> {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    if (!this.subscriptions.has(topic)) {
      this.subscriptions.set(topic, this.backend.subscribe(topic, (m) => this.dispatch(topic, m)));
    }
    await this.subscriptions.get(topic);
    return () => {
      set!.delete(listener);
    };
  }

  private dispatch(topic: string, message: unknown) {
    const set = this.listeners.get(topic);
    if (!set) return;
    for (const l of set) {
      try {
        l(message);
      } catch (err) {
        this.logger.error({ err, topic }, 'event listener failed');
      }
    }
  }

  async close(): Promise<void> {
    for (const [, id] of this.subscriptions) this.backend.unsubscribe(await id);
    this.subscriptions.clear();
    this.listeners.clear();
    await this.backend.close();
  }
}
