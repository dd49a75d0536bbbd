import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Everything the process reads from its environment, resolved once. */
export interface AppConfig {
  port: number;
  host: string;
  nodeEnv: string;
  production: boolean;
  databaseUrl?: string;
  redisUrl?: string;
  /** Prefix of every Redis channel and key: shops sharing one Redis must differ. */
  redisNamespace: string;
  dataDir: string;
  jwtSecret: string;
  jwtIssuer: string;
  jwtAudience: string;
  jwtTtlSeconds: number;
  adminEmail?: string;
  adminPassword?: string;
  seedDemoData: boolean;
  logLevel: string;
  introspection: boolean;
  ide: boolean;
  allowedOrigins: string[] | null;
  connectionStatsIntervalMs: number;
  presenceTimeoutMs: number;
  flashSaleTickMs: number;
  /** On SIGTERM/SIGINT, fail /readyz and keep serving this long before closing (a balancer's grace). */
  shutdownDrainMs: number;
  rateLimit: { points: number; windowMs: number };
  /** A Socket.IO client that reconnects within this many seconds recovers its rooms and missed events (0: recovery off). */
  socketRecoverySeconds: number;
  /** Durable events stay replayable at least this long. */
  eventRetentionSeconds: number;
  /** How often each instance looks for committed facts and log positions it was not woken for. */
  eventPollMs: number;
  /** Test builds only (ignored in production): a point where the process kills itself. */
  faultPoint?: string;
  limits: { maxDepth: number; maxAliases: number; maxCost: number; maxTokens: number };
  /** `GET /metrics` and the measurements behind it. */
  metrics: boolean;
  /** When set, `/metrics` requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** The `instance` label of every metric (default `<hostname>:<port>`). */
  metricsInstance?: string;
}

const bool = (v: string | undefined, dflt: boolean): boolean =>
  v === undefined || v === '' ? dflt : ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());

const int = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};

/** Development secret: generated once and kept under the data directory so tokens survive restarts. */
function devSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const nodeEnv = env.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const dataDir = path.resolve(env.DATA_DIR ?? '.data');
  const databaseUrl = env.DATABASE_URL || undefined;
  let jwtSecret = env.JWT_SECRET;
  if (!jwtSecret) {
    if (production) throw new Error('JWT_SECRET is required when NODE_ENV=production');
    jwtSecret = overrides.jwtSecret ?? devSecret(dataDir);
  } else if (jwtSecret.length < 32 && production) {
    throw new Error('JWT_SECRET must be at least 32 characters in production');
  }
  const origins = env.ALLOWED_ORIGINS?.split(',').map((s) => s.trim()).filter(Boolean);
  const devTools = bool(env.GRAPHQL_IDE, !production);
  return {
    port: int('PORT', env.PORT, 5000),
    host: env.HOST ?? '0.0.0.0',
    nodeEnv,
    production,
    databaseUrl,
    redisUrl: env.REDIS_URL || undefined,
    redisNamespace: env.REDIS_NAMESPACE || 'shoe-store',
    dataDir,
    jwtSecret,
    jwtIssuer: env.JWT_ISSUER ?? 'shoe-store-api',
    jwtAudience: env.JWT_AUDIENCE ?? 'shoe-store',
    jwtTtlSeconds: int('JWT_TTL_SECONDS', env.JWT_TTL_SECONDS, 7 * 24 * 3600),
    adminEmail: env.ADMIN_EMAIL || undefined,
    adminPassword: env.ADMIN_PASSWORD || undefined,
    seedDemoData: bool(env.SEED_DEMO_DATA, !databaseUrl),
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    introspection: bool(env.GRAPHQL_INTROSPECTION, !production),
    ide: devTools,
    allowedOrigins: origins && origins.length ? origins : null,
    connectionStatsIntervalMs: int('CONNECTION_STATS_INTERVAL_MS', env.CONNECTION_STATS_INTERVAL_MS, 5000),
    presenceTimeoutMs: int('PRESENCE_TIMEOUT_MS', env.PRESENCE_TIMEOUT_MS, 90000),
    flashSaleTickMs: int('FLASH_SALE_TICK_MS', env.FLASH_SALE_TICK_MS, 1000),
    shutdownDrainMs: int('SHUTDOWN_DRAIN_MS', env.SHUTDOWN_DRAIN_MS, 0),
    rateLimit: {
      points: int('RATE_LIMIT_POINTS', env.RATE_LIMIT_POINTS, 60),
      windowMs: int('RATE_LIMIT_WINDOW_MS', env.RATE_LIMIT_WINDOW_MS, 10000),
    },
    socketRecoverySeconds: int('SOCKET_RECOVERY_SECONDS', env.SOCKET_RECOVERY_SECONDS, 120),
    eventRetentionSeconds: Math.max(1, int('EVENT_RETENTION_SECONDS', env.EVENT_RETENTION_SECONDS, 86400)),
    eventPollMs: Math.max(50, int('EVENT_POLL_MS', env.EVENT_POLL_MS, 1000)),
    faultPoint: production ? undefined : env.SHOP_FAULT_POINT || undefined,
    limits: {
      maxDepth: int('GRAPHQL_MAX_DEPTH', env.GRAPHQL_MAX_DEPTH, 12),
      maxAliases: int('GRAPHQL_MAX_ALIASES', env.GRAPHQL_MAX_ALIASES, 30),
      maxCost: int('GRAPHQL_MAX_COST', env.GRAPHQL_MAX_COST, 5000),
      maxTokens: int('GRAPHQL_MAX_TOKENS', env.GRAPHQL_MAX_TOKENS, 2000),
    },
    metrics: bool(env.METRICS, true),
    metricsToken: env.METRICS_TOKEN || undefined,
    metricsInstance: env.METRICS_INSTANCE || undefined,
    ...overrides,
  };
}
