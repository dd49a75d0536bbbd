import { Client } from 'pg';

/** The embedded database (started by the test setup exactly as `npm start` starts it, fsync aside). */
describe('embedded PostgreSQL', () => {
  const url = process.env.TEST_TEMPLATE_DATABASE_URL!;

  const clientAddress = async (connectionString: string) => {
    const c = new Client({ connectionString });
    await c.connect();
    try {
      return (await c.query<{ addr: string | null }>('select inet_client_addr()::text as addr')).rows[0].addr;
    } finally {
      await c.end();
    }
  };

  it('is reached through the Unix socket in its data directory (no client address), and still over loopback TCP', async () => {
    const u = new URL(url);
    expect(decodeURIComponent(u.hostname)).toMatch(/^\/.*\/pg$/);
    expect(await clientAddress(url)).toBeNull();
    const tcp = Object.assign(new URL(url), { hostname: '127.0.0.1' }).toString();
    expect(await clientAddress(tcp)).toBe('127.0.0.1/32');
  });
});
