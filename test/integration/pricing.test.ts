import { Client } from 'pg';
import { discounted } from '../../src/services/context';

/**
 * Checkout prices lines in the database (shop_discounted, inside shop_checkout); carts and the
 * catalogue price them in TypeScript (discounted). Both must give the same cent for every price.
 */
describe('discounted prices', () => {
  it('shop_discounted (SQL) and discounted (TypeScript) agree to the cent, halves included', async () => {
    const db = new Client({ connectionString: process.env.TEST_TEMPLATE_DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query<{ c: number; p: number; d: number }>(
        'select c, p, shop_discounted(c, p) as d from generate_series(1, 20000, 7) c, generate_series(0, 100, 1) p');
      expect(rows.length).toBeGreaterThan(250_000);
      const mismatches = rows.filter((r) => discounted(r.c, r.p) !== r.d);
      expect(mismatches.slice(0, 5)).toEqual([]);
      // Half a cent (15 × 50 / 100 = 7.5) rounds up in both.
      expect(rows.find((r) => r.c === 15 && r.p === 50)?.d).toBe(8);
    } finally {
      await db.end();
    }
  });
});
