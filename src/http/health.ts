import type { MikroORM } from '@mikro-orm/postgresql';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { withinMs } from '../lib/within-ms';

/** Which dependencies answered: PostgreSQL always, Redis when configured. */
interface DependencyChecks {
  database: boolean;
  redis?: boolean;
}

export interface Health {
  /** Checks PostgreSQL, and Redis when configured (bounded to 1 s). */
  readiness(): Promise<DependencyChecks>;
  /** From now on /readyz answers 503 (`draining`) so a balancer stops routing here; all else serves on. */
  drain(): void;
  /**
   * Adds `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: its
   * dependencies do) to the app itself, not through a Router: a router's layer would appear in the
   * trace of every other request (src/tracing.ts leaves health checks untraced).
   */
  mount(app: Express): void;
}

export function health(deps: { orm: MikroORM; redis?: Redis; onChecked?: (checks: DependencyChecks) => void }): Health {
  let draining = false;
  const readiness = async (): Promise<DependencyChecks> => {
    const [database, redis] = await Promise.all([
      deps.orm.em.fork().execute('select 1').then(() => true, () => false),
      deps.redis ? withinMs(1000, deps.redis.ping()).then(() => true, () => false) : undefined,
    ]);
    const checks = redis === undefined ? { database } : { database, redis };
    deps.onChecked?.(checks);
    return checks;
  };
  const mount = (app: Express) => {
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.get('/readyz', async (_req, res) => {
      if (draining) {
        res.status(503).json({ status: 'draining' });
        return;
      }
      const found = await readiness();
      const checks = Object.fromEntries(Object.entries(found).map(([k, up]) => [k, up ? 'ok' : 'unreachable']));
      const ok = Object.values(found).every(Boolean);
      res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
    });
  };
  return { readiness, drain: () => void (draining = true), mount };
}
