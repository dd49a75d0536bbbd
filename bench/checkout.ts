/**
 * Checkout under load: B concurrent buyers (real users, registered over GraphQL), each looping
 * addToCart + checkout with a fresh idempotencyKey. Spread variants, then one hot variant with
 * limited stock; the oversell check reads the database at the end.
 */
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { gql, gqlOk } from './lib/servers';
import type { summarizeProfile } from './lib/profiler';
import { summarizeList, type Summary } from './lib/stats';

export interface CheckoutResult {
  spread?: SpreadRun;
  /** The same spread run with the product reaching PostgreSQL over loopback TCP instead of its Unix socket. */
  spreadTcp?: SpreadRun;
  hot?: CheckoutRun & { accounting: StockAccounting; soldOutBuyers: number };
  profile?: CheckoutProfile;
  errors: string[];
}

export type SpreadRun = CheckoutRun & {
  variants: number;
  accounting: StockAccounting;
  cpuPerOrderMs?: Record<string, number>;
  /**
   * What the database wrote per order over the run, cluster-wide (one product runs at a time): WAL
   * bytes (`pg_current_wal_lsn()`), and transactions that wrote anything (transaction ids assigned,
   * from `pg_current_snapshot()`). Both are read at once, unlike the statistics views.
   */
  walBytesPerOrder?: number;
  writeXactsPerOrder?: number;
};

/** The WAL position and the next transaction id, now. */
async function writeMark(db: PgClient): Promise<{ lsn: string; xid: number }> {
  const r = await db.query<{ lsn: string; xid: string }>('select pg_current_wal_lsn()::text as lsn, pg_snapshot_xmax(pg_current_snapshot())::text as xid');
  return { lsn: r.rows[0].lsn, xid: Number(r.rows[0].xid) };
}

export interface CheckoutRun {
  buyers: number;
  seconds: number;
  orders: number;
  ordersPerSec: number;
  checkoutLatency: Summary;
  cycleLatency: Summary;
  errorsByCode: Record<string, number>;
}

export interface StockAccounting {
  initialStock: number;
  finalStock: number;
  orderedQuantity: number;
  ordersInDb: number;
  oversold: number;
  ok: boolean;
}

/** The operations every buyer loops over, selecting as little as the product allows. */
const OPS = {
  addToCart: 'mutation Add($p: ID!, $v: VariantInput!, $q: Int!) { addToCart(productId: $p, variant: $v, quantity: $q) { itemCount } }',
  checkout: 'mutation Checkout($input: CheckoutInput!) { checkout(input: $input) { id } }',
  clearCart: 'mutation { clearCart { itemCount } }',
  shippingAddress: { name: 'Bench Buyer', line1: '1 Bench Street', city: 'Benchville', postalCode: '1000', country: 'NL' },
};

const codeOf = (r: { errors?: Array<{ message: string; extensions?: { code?: string } }> }) =>
  r.errors?.length ? r.errors[0].extensions?.code ?? r.errors[0].message.slice(0, 60) : undefined;

async function accounting(db: PgClient, variantIds: string[], initial: Map<string, number>): Promise<StockAccounting> {
  const stock = await db.query<{ id: string; stock: number }>('select id, stock from product_variants where id = any($1::uuid[])', [variantIds]);
  const ordered = await db.query<{ qty: string | null; orders: string }>(
    `select sum(i.quantity) as qty, count(distinct o.id) as orders from order_items i join orders o on o.id = i.order_id
      where i.variant_id = any($1::uuid[]) and o.status <> 'cancelled'`, [variantIds]);
  const initialStock = variantIds.reduce((s, id) => s + (initial.get(id) ?? 0), 0);
  const finalStock = stock.rows.reduce((s, r) => s + Number(r.stock), 0);
  const orderedQuantity = Number(ordered.rows[0]?.qty ?? 0);
  const negative = stock.rows.some((r) => Number(r.stock) < 0);
  return {
    initialStock, finalStock, orderedQuantity, ordersInDb: Number(ordered.rows[0]?.orders ?? 0),
    oversold: Math.max(0, orderedQuantity - initialStock),
    ok: !negative && orderedQuantity === initialStock - finalStock,
  };
}

export interface CheckoutOptions {
  url: string;
  databaseUrl: string;
  adminToken: string;
  buyers: number;
  spreadSeconds: number;
  spreadVariants: number;
  hotStock: number;
  hotMaxSeconds: number;
  log: (s: string) => void;
  /** CPU time so far (µs) of each process group (server, PostgreSQL, Redis); the harness itself is added here. */
  cpu?: () => Record<string, number>;
  /** The spread run only (and its profile when asked; no hot variant). */
  spreadOnly?: boolean;
  /** Profiles the server over the spread run when given. */
  profile?: { start(): Promise<void>; stop(): Promise<CheckoutProfile> };
}

/** `orders`: the orders of the profiled run (to put the profile's busy time per order). */
export type CheckoutProfile = ReturnType<typeof summarizeProfile> & { file?: string; orders?: number };

export async function runCheckout(o: CheckoutOptions): Promise<CheckoutResult> {
  const result: CheckoutResult = { errors: [] };
  const ops = OPS;
  const db = new PgClient({ connectionString: o.databaseUrl });
  await db.connect();
  try {
    // Catalogue for the run: one product with many well-stocked variants, one with a single hot variant.
    const tag = randomUUID().slice(0, 8);
    const sizes = Array.from({ length: o.spreadVariants }, (_, i) => String(i + 1));
    const create = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id variants { id size color stock } } }`;
    const spread = (await gqlOk<{ createProduct: { id: string; variants: Array<{ id: string; size: string; color: string; stock: number }> } }>(o.url, create, {
      input: { name: `Bench spread ${tag}`, brand: 'Bench', category: 'bench', price: 10, lowStockThreshold: 0, variants: sizes.map((size) => ({ size, color: 'spread', stock: 1_000_000 })) },
    }, o.adminToken)).createProduct;
    const hot = (await gqlOk<{ createProduct: { id: string; variants: Array<{ id: string; size: string; color: string; stock: number }> } }>(o.url, create, {
      input: { name: `Bench hot ${tag}`, brand: 'Bench', category: 'bench', price: 10, lowStockThreshold: 0, variants: [{ size: '42', color: 'hot', stock: o.hotStock }] },
    }, o.adminToken)).createProduct;

    // Buyers: real registrations, a few at a time (argon2 is deliberately expensive).
    const tokens: string[] = [];
    const register = 'mutation($input: RegisterInput!) { register(input: $input) { token } }';
    for (let i = 0; i < o.buyers; i += 5) {
      const batch = await Promise.all(Array.from({ length: Math.min(5, o.buyers - i) }, (_, j) =>
        gqlOk<{ register: { token: string } }>(o.url, register, { input: { email: `buyer-${tag}-${i + j}@bench.local`, password: 'bench-password-123', name: `Buyer ${i + j}` } })));
      tokens.push(...batch.map((b) => b.register.token));
    }

    const run = async (
      pick: (buyer: number, round: number) => { id: string; size: string; color: string },
      product: string, seconds: number, stopOnSoldOut: boolean,
    ): Promise<CheckoutRun & { soldOutBuyers: number }> => {
      const checkoutMs: number[] = [];
      const cycleMs: number[] = [];
      const errorsByCode: Record<string, number> = {};
      let orders = 0;
      let soldOut = 0;
      const t0 = Date.now();
      const until = t0 + seconds * 1000;
      const note = (code: string) => (errorsByCode[code] = (errorsByCode[code] ?? 0) + 1);
      await Promise.all(tokens.map(async (token, b) => {
        for (let round = 0; Date.now() < until; round++) {
          const v = pick(b, round);
          const c0 = performance.now();
          const add = await gql(o.url, ops.addToCart, { p: product, v: { size: v.size, color: v.color }, q: 1 }, token);
          const addErr = codeOf(add);
          if (!addErr) {
            const k0 = performance.now();
            const co = await gql(o.url, ops.checkout, { input: { idempotencyKey: randomUUID(), shippingAddress: ops.shippingAddress } }, token);
            const now = performance.now();
            const coErr = codeOf(co);
            if (!coErr) {
              orders++;
              checkoutMs.push(now - k0);
              cycleMs.push(now - c0);
              continue;
            }
            note(`checkout ${coErr}`);
            if (coErr !== 'INSUFFICIENT_STOCK' && result.errors.length < 5) result.errors.push(`checkout: ${JSON.stringify(co.errors).slice(0, 300)}`);
            await gql(o.url, ops.clearCart, {}, token);
            if (stopOnSoldOut && coErr === 'INSUFFICIENT_STOCK') {
              soldOut++;
              return;
            }
          } else {
            note(`addToCart ${addErr}`);
            if (addErr !== 'INSUFFICIENT_STOCK' && result.errors.length < 5) result.errors.push(`addToCart: ${JSON.stringify(add.errors).slice(0, 300)}`);
            await gql(o.url, ops.clearCart, {}, token);
            if (stopOnSoldOut && addErr === 'INSUFFICIENT_STOCK') {
              soldOut++;
              return;
            }
          }
        }
      }));
      const secs = (Date.now() - t0) / 1000;
      return {
        buyers: tokens.length, seconds: secs, orders, ordersPerSec: orders / secs,
        checkoutLatency: summarizeList(checkoutMs), cycleLatency: summarizeList(cycleMs), errorsByCode, soldOutBuyers: soldOut,
      };
    };

    const spreadIds = spread.variants.map((v) => v.id);
    const spreadInitial = new Map(spread.variants.map((v) => [v.id, v.stock]));
    const pickSpread = (b: number, r: number) => spread.variants[(b * 7 + r) % spread.variants.length];
    const cpuNow = (): Record<string, number> => {
      const u = process.cpuUsage();
      return { ...o.cpu?.(), 'load client (this harness)': u.user + u.system };
    };
    const w0 = await writeMark(db);
    const cpu0 = cpuNow();
    const s = await run(pickSpread, spread.id, o.spreadSeconds, false);
    const cpu1 = cpuNow();
    const w1 = await writeMark(db);
    const wal = Number((await db.query<{ b: string }>('select pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text as b', [w1.lsn, w0.lsn])).rows[0].b);
    const cpuPerOrderMs = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, s.orders ? (v - (cpu0[k] ?? 0)) / 1000 / s.orders : 0]));
    const { soldOutBuyers: _ignored, ...spreadRun } = s;
    result.spread = {
      ...spreadRun, variants: spread.variants.length, accounting: await accounting(db, spreadIds, spreadInitial), cpuPerOrderMs,
      walBytesPerOrder: s.orders ? wal / s.orders : NaN,
      writeXactsPerOrder: s.orders ? (w1.xid - w0.xid) / s.orders : NaN,
    };
    o.log(`  checkout spread: ${s.orders} orders in ${s.seconds.toFixed(1)} s = ${s.ordersPerSec.toFixed(0)} orders/s, checkout p50 ${s.checkoutLatency.p50} p99 ${s.checkoutLatency.p99} ms`);
    o.log(`  CPU per order (ms): ${Object.entries(cpuPerOrderMs).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; ` +
      `per order the database wrote ${Math.round(result.spread.walBytesPerOrder!)} bytes of WAL in ${result.spread.writeXactsPerOrder!.toFixed(2)} writing transactions`);

    if (o.spreadOnly && result.spread.orders !== result.spread.accounting.ordersInDb) {
      result.errors.push(`spread: ${result.spread.orders} orders answered but ${result.spread.accounting.ordersInDb} in the database`);
    }
    if (o.spreadOnly && !result.spread.accounting.ok) result.errors.push(`spread: stock accounting mismatch ${JSON.stringify(result.spread.accounting)}`);

    if (o.profile) {
      // A second, shorter spread run under the profiler (kept out of the figures above).
      await o.profile.start();
      const profiled = await run(pickSpread, spread.id, Math.min(5, o.spreadSeconds), false);
      result.profile = { ...(await o.profile.stop()), orders: profiled.orders };
      const after = await accounting(db, spreadIds, spreadInitial);
      if (!after.ok) result.errors.push(`spread (profiled run): stock accounting mismatch ${JSON.stringify(after)}`);
    }
    if (o.spreadOnly) return result;

    const h = await run(() => hot.variants[0], hot.id, o.hotMaxSeconds, true);
    result.hot = { ...h, accounting: await accounting(db, [hot.variants[0].id], new Map([[hot.variants[0].id, o.hotStock]])) };
    o.log(`  checkout hot: ${h.orders} orders for ${o.hotStock} units, final stock ${result.hot.accounting.finalStock}, ordered ${result.hot.accounting.orderedQuantity}, oversold ${result.hot.accounting.oversold}`);
    for (const [name, r] of [['spread', result.spread], ['hot', result.hot]] as const) {
      if (r.orders !== r.accounting.ordersInDb) result.errors.push(`${name}: ${r.orders} orders answered but ${r.accounting.ordersInDb} in the database`);
    }
    if (!result.spread.accounting.ok) result.errors.push(`spread: stock accounting mismatch ${JSON.stringify(result.spread.accounting)}`);
    if (!result.hot.accounting.ok) result.errors.push(`hot: stock accounting mismatch ${JSON.stringify(result.hot.accounting)}`);
  } finally {
    await db.end();
  }
  return result;
}
