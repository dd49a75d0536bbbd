import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { applyDbFunctions, DB_FUNCTIONS, dbFunctionFiles } from '../../src/db/functions';
import { initOrm } from '../../src/db/orm';
import { blankDatabase } from '../support/shop';

/** The migrations bring an EMPTY database to the whole data model, and running them again does nothing. */
describe('migrations from an empty database', () => {
  const blank = blankDatabase('blank');
  const { url } = blank;
  let db: Client;

  beforeAll(async () => {
    await blank.create();
    db = new Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await blank.drop();
  });

  const tables = async () =>
    (await db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' order by 1`)).rows.map((r) => r.table_name);

  const migrationFiles = readdirSync(path.join(__dirname, '../../migrations'))
    .filter((f) => /^Migration\d+.*\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();

  it('starts with nothing', async () => {
    expect(await tables()).toEqual([]);
  });

  it('creates every table of the data model', async () => {
    const orm = await initOrm(url, { pool: 2 });
    await orm.close(true);
    const t = await tables();
    for (const table of [
      'users', 'products', 'product_variants', 'carts', 'cart_items', 'orders', 'order_items', 'order_status_history',
      'flash_sales', 'flash_sale_products', 'reviews', 'wishlists', 'wishlist_items', 'support_chats',
      'support_messages', 'product_views', 'user_activities', 'mikro_orm_migrations',
    ]) {
      expect(t).toContain(table);
    }
    const applied = (await db.query<{ name: string }>('select name from mikro_orm_migrations order by id')).rows.map((r) => r.name.replace(/\.(ts|js)$/, ''));
    expect(applied).toEqual(migrationFiles);
  });

  it('has CHECK (stock >= 0) on variants, and variants unique per product + size + colour', async () => {
    const check = await db.query<{ def: string }>(
      `select pg_get_constraintdef(c.oid) as def from pg_constraint c join pg_class t on t.oid = c.conrelid
        where t.relname = 'product_variants' and c.contype = 'c'`,
    );
    expect(check.rows.map((r) => r.def)).toContainEqual(expect.stringMatching(/CHECK \(\(stock >= 0\)\)/));

    const pid = randomUUID();
    await db.query(`insert into products (id, name, brand, category, price_cents, created_at, updated_at) values ($1, 'P', 'B', 'c', 1000, now(), now())`, [pid]);
    await expect(db.query(`insert into product_variants (id, product_id, size, color, sku, stock) values ($1, $2, '9', 'red', 'SKU-NEG', -1)`, [randomUUID(), pid]))
      .rejects.toMatchObject({ code: '23514' });
    await db.query(`insert into product_variants (id, product_id, size, color, sku, stock) values ($1, $2, '9', 'red', 'SKU-1', 1)`, [randomUUID(), pid]);
    await expect(db.query(`insert into product_variants (id, product_id, size, color, sku, stock) values ($1, $2, '9', 'red', 'SKU-2', 1)`, [randomUUID(), pid]))
      .rejects.toMatchObject({ code: '23505' });
    await expect(db.query(`update product_variants set stock = stock - 2 where product_id = $1`, [pid])).rejects.toMatchObject({ code: '23514' });
    // Emails are unique (stored lower-case by the service).
    await db.query(`insert into users (id, email, name, password_hash, created_at) values ($1, 'a@b.c', 'A', 'x', now())`, [randomUUID()]);
    await expect(db.query(`insert into users (id, email, name, password_hash, created_at) values ($1, 'a@b.c', 'A2', 'x', now())`, [randomUUID()]))
      .rejects.toMatchObject({ code: '23505' });
  });

  it('a second initOrm is a no-op and keeps the data', async () => {
    const before = (await db.query('select id, name, executed_at from mikro_orm_migrations order by id')).rows;
    const orm = await initOrm(url, { pool: 2 });
    try {
      expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
    } finally {
      await orm.close(true);
    }
    expect((await db.query('select id, name, executed_at from mikro_orm_migrations order by id')).rows).toEqual(before);
    expect((await db.query('select count(*)::int as n from product_variants')).rows[0].n).toBe(1);
  });

  describe('the database functions (src/db/functions), applied after the migrations', () => {
    const recorded = async () => (await db.query<{ name: string; checksum: string; applied_at: Date }>(
      'select name, checksum, applied_at from shop_db_functions order by name')).rows;
    /** The shop's functions as PostgreSQL holds them: name → argument types. */
    const defined = async () => (await db.query<{ name: string; args: string }>(
      `select p.proname as name, pg_get_function_identity_arguments(p.oid) as args from pg_proc p
        join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and p.proname like 'shop\\_%' order by 1, 2`)).rows;

    it('creates every function once, in the version of its file, and records each file\'s checksum', async () => {
      const files = dbFunctionFiles();
      expect(files.map((f) => f.name).sort()).toEqual(readdirSync(path.join(__dirname, '../../src/db/functions')).map((f) => f.replace(/\.sql$/, '')).sort());
      expect((await recorded()).map(({ name, checksum }) => ({ name, checksum })))
        .toEqual(files.map(({ name, checksum }) => ({ name, checksum })).sort((a, b) => a.name.localeCompare(b.name)));
      // One signature per function: a file that changed the arguments dropped the first migration's.
      const fns = await defined();
      expect(fns.map((f) => f.name)).toEqual([...DB_FUNCTIONS].sort());
      expect(fns.find((f) => f.name === 'shop_checkout')!.args).toBe('p_user uuid, p_key text, p_address jsonb, p_at timestamp with time zone, p_fact jsonb');
    });

    it('applies nothing when no file changed, and exactly the changed file when one did', async () => {
      const before = await recorded();
      expect(await applyDbFunctions(url)).toEqual([]);
      expect(await recorded()).toEqual(before);

      // A changed rule is a changed file: the step applies it and records its new checksum.
      const files = dbFunctionFiles();
      const price = 'select shop_price(gen_random_uuid(), 999) as v';
      const edited = files.map((f) => f.name !== 'shop_price' ? f : { ...f, sql: f.sql.replace('round(p_cents', 'round(2 * p_cents'), checksum: 'edited' });
      expect(await applyDbFunctions(url, edited)).toEqual(['shop_price']);
      expect((await db.query(price)).rows[0].v).toBe(1998);
      expect((await recorded()).find((r) => r.name === 'shop_price')!.checksum).toBe('edited');
      // And back: the file as it is in the repository.
      expect(await applyDbFunctions(url, files)).toEqual(['shop_price']);
      expect((await db.query(price)).rows[0].v).toBe(999);
    });

    it('drops a function whose file was removed', async () => {
      const files = dbFunctionFiles();
      const extra = { name: 'shop_test_extra', sql: `create or replace function shop_test_extra() returns int language sql as $$ select 1 $$;`, checksum: 'x' };
      expect(await applyDbFunctions(url, [...files, extra])).toEqual(['shop_test_extra']);
      expect((await defined()).map((f) => f.name)).toContain('shop_test_extra');
      expect(await applyDbFunctions(url, files)).toEqual([]);
      expect((await defined()).map((f) => f.name)).toEqual([...DB_FUNCTIONS].sort());
      expect((await recorded()).map((r) => r.name)).toEqual([...DB_FUNCTIONS].sort());
    });

    it('two instances starting at once apply each function once', async () => {
      await db.query(`delete from shop_db_functions`);
      const [a, b] = await Promise.all([applyDbFunctions(url), applyDbFunctions(url)]);
      expect([...a, ...b].sort()).toEqual([...DB_FUNCTIONS].sort());
      expect(await applyDbFunctions(url)).toEqual([]);
    });
  });
});

/** Several instances deployed at once against one empty database. */
describe('instances starting together on an empty database', () => {
  const blank = blankDatabase('blank');
  const { url } = blank;
  beforeAll(() => blank.create());
  afterAll(() => blank.drop());

  it('three initOrm at once: all start, and each migration runs once', async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => initOrm(url, { pool: 2 })));
    for (const r of results) if (r.status === 'fulfilled') await r.value.close(true);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const names = (await db.query<{ name: string }>('select name from mikro_orm_migrations order by id')).rows.map((r) => r.name);
      expect(names.length).toBeGreaterThan(0);
      expect(new Set(names).size).toBe(names.length);
    } finally {
      await db.end();
    }
  });
});
