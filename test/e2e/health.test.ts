import { spawn, type ChildProcess } from 'node:child_process';
import request from 'supertest';
import { waitFor } from '../support/clients';
import { ensureRedisServer, startRedis } from '../support/redis-server';
import { startTestShop } from '../support/shop';

type Shop = Awaited<ReturnType<typeof startTestShop>>;

describe('health and readiness', () => {
  let plain: Shop;
  let clustered: Shop;

  beforeAll(async () => {
    [plain, clustered] = await Promise.all([startTestShop({ redis: false }), startTestShop({ redis: true })]);
  });
  afterAll(async () => {
    await Promise.all([plain?.close(), clustered?.close()]);
  });

  it('GET /healthz answers 200 while the process is alive', async () => {
    const res = await request(plain.url).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('GET /readyz checks the database (and nothing else without Redis)', async () => {
    const res = await request(plain.url).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });

  it('GET /readyz with REDIS_URL checks Redis as well', async () => {
    const res = await request(clustered.url).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });

  it('GET /readyz answers 503 naming Redis when Redis goes away, and 200 again when it is back', async () => {
    const redis = await startRedis();
    const shop = await startTestShop({ config: { redisUrl: redis.url } });
    let revived: ChildProcess | undefined;
    try {
      expect((await request(shop.url).get('/readyz')).status).toBe(200);
      await redis.stop();
      const down = await request(shop.url).get('/readyz');
      expect(down.status).toBe(503);
      expect(down.body).toEqual({ status: 'not ready', checks: { database: 'ok', redis: 'unreachable' } });
      // Liveness does not depend on Redis: the process is alive and should not be restarted.
      expect((await request(shop.url).get('/healthz')).status).toBe(200);
      // The same Redis comes back on the same port: the shop reconnects by itself.
      revived = spawn(ensureRedisServer(), ['--bind', '127.0.0.1', '--port', String(redis.port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitFor(async () => (await request(shop.url).get('/readyz')).status === 200, 15_000, 'readiness after Redis restart');
    } finally {
      await shop.close();
      if (revived && revived.exitCode === null) {
        const exited = new Promise((r) => revived!.once('exit', r));
        revived.kill('SIGTERM');
        await exited;
      }
    }
  });

  it('echoes a client X-Request-Id (bounded) for log correlation', async () => {
    const res = await request(plain.url).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    const long = await request(plain.url).get('/healthz').set('X-Request-Id', 'x'.repeat(500));
    expect(long.headers['x-request-id'].length).toBeLessThanOrEqual(100);
  });
});
