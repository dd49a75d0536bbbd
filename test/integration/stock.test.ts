import { AppError } from '../../src/errors';
import { makeProduct } from '../support/fixtures';
import { useShop, type TestShop } from '../support/use-shop';

/** Stock never goes below zero, whatever the concurrency and however many instances. */
describe('stock under concurrency', () => {
  // A second instance on the same database: the guarantee must hold across processes' pools.
  const { a, b } = useShop({ instances: 2, redis: false });

  const stockOf = async (shop: TestShop, productId: string) => (await shop.app.services.catalog.product(productId)).variants[0].stock;
  const codes = (results: PromiseSettledResult<unknown>[]) =>
    results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof AppError ? r.reason.code : String(r.reason)));

  it('50 concurrent −1 adjustments on stock 20: exactly 20 succeed, the rest are INSUFFICIENT_STOCK, stock ends at 0', async () => {
    const p = await makeProduct(a(), [{ size: '9', color: 'black', stock: 20 }]);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => a().app.services.catalog.adjustStock(p.id, { size: '9', color: 'black' }, -1)),
    );
    const c = codes(results);
    expect(c.filter((x) => x === 'ok')).toHaveLength(20);
    expect(c.filter((x) => x === 'INSUFFICIENT_STOCK')).toHaveLength(30);
    expect(await stockOf(a(), p.id)).toBe(0);
  });

  it('holds across two instances sharing the database', async () => {
    const p = await makeProduct(a(), [{ size: '9', color: 'black', stock: 20 }]);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a() : b()).app.services.catalog.adjustStock(p.id, { size: '9', color: 'black' }, -1)),
    );
    const c = codes(results);
    expect(c.filter((x) => x === 'ok')).toHaveLength(20);
    expect(c.filter((x) => x === 'INSUFFICIENT_STOCK')).toHaveLength(30);
    expect(await stockOf(b(), p.id)).toBe(0);
  });

  it('mixed concurrent restocks and sales end at the sum of what succeeded, never below zero', async () => {
    const p = await makeProduct(a(), [{ size: '9', color: 'black', stock: 3 }]);
    const deltas = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 2 : -1));
    const results = await Promise.allSettled(
      deltas.map((d, i) => (i % 2 ? a() : b()).app.services.catalog.adjustStock(p.id, { size: '9', color: 'black' }, d)),
    );
    const applied = results.reduce((sum, r, i) => sum + (r.status === 'fulfilled' ? deltas[i] : 0), 0);
    expect(codes(results).every((x) => x === 'ok' || x === 'INSUFFICIENT_STOCK')).toBe(true);
    // Restocks (+2) can never fail.
    results.forEach((r, i) => {
      if (deltas[i] > 0) expect(r.status).toBe('fulfilled');
    });
    expect(await stockOf(a(), p.id)).toBe(3 + applied);
    expect(3 + applied).toBeGreaterThanOrEqual(0);
  });

  it('a refused adjustment names the variant and what is available, and changes nothing', async () => {
    const p = await makeProduct(a(), [{ size: '9', color: 'black', stock: 2 }], { name: 'Short Runner' });
    const err = await a().app.services.catalog.adjustStock(p.id, { size: '9', color: 'black' }, -3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('INSUFFICIENT_STOCK');
    expect((err as AppError).message).toContain('Short Runner 9/black');
    expect((err as AppError).details).toMatchObject({ variants: [{ productId: p.id, size: '9', color: 'black', requested: 3, available: 2 }] });
    expect(await stockOf(a(), p.id)).toBe(2);
  });

  it('the database itself refuses negative stock (CHECK constraint backstop)', async () => {
    const p = await makeProduct(a(), [{ size: '9', color: 'black', stock: 1 }]);
    const em = a().orm.em.fork();
    await expect(em.execute('update product_variants set stock = -1 where product_id = ?', [p.id])).rejects.toThrow(/product_variants_stock_check/);
    expect(await stockOf(a(), p.id)).toBe(1);
  });
});
