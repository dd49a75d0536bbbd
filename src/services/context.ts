import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config';
import type { EventLog } from '../events/event-log';
import type { EventHub } from '../events/hub';
import type { Outbox } from '../events/outbox';
import type { Logger } from '../logger';

/** What every service is built from; passed explicitly, never a global. */
export interface ServiceDeps {
  orm: MikroORM;
  /** Live signals (publish); durable events are recorded through `outbox` in the change's transaction. */
  hub: EventHub;
  outbox: Outbox;
  /** The durable event log: positions and replay (snapshots name the position they reflect). */
  log: EventLog;
  config: AppConfig;
  logger: Logger;
  /**
   * A command connection to Redis when REDIS_URL is set (cluster-wide state: presence, counters,
   * leader election). Undefined for a single in-process instance: keep that state in memory then.
   */
  redis?: Redis;
}

export const nowIso = () => new Date().toISOString();
export const toMoney = (cents: number) => Math.round(cents) / 100;
export const toCents = (amount: number) => Math.round(amount * 100);
