import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import {
  AdjustStockDocument, CreateProductDocument, ProductDocument, ProductsDocument, UpdateProductDocument,
  type ProductFilter, type ProductsQuery,
} from '../generated/graphql';
import { codeOf, gql, type GqlResult } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop, type TestShop } from '../support/use-shop';

/** Runs a generated, typed operation (test/operations → test/generated) over real HTTP. */
function run<R, V>(shop: TestShop, doc: TypedDocumentNode<R, V>, variables: V, token?: string): Promise<GqlResult<R>> {
  return gql<R>(shop.url, print(doc), variables as Record<string, unknown>, token);
}

async function ok<R, V>(shop: TestShop, doc: TypedDocumentNode<R, V>, variables: V, token?: string): Promise<R> {
  const r = await run(shop, doc, variables, token);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors ?? r)}`);
  return r.data;
}

const fieldPaths = (r: GqlResult) => ((r.errors?.[0]?.extensions?.fields ?? []) as Array<{ path: string }>).map((f) => f.path).sort();

describe('products: pagination', () => {
  const { shop } = useShop({ redis: false });
  let created: string[];

  beforeAll(async () => {
    // Created concurrently on purpose: equal created_at values must still page in a stable order.
    const products = await Promise.all(Array.from({ length: 25 }, (_, i) => makeProduct(shop(), undefined, { name: `Page Runner ${i}` })));
    created = products.map((p) => p.id);
  });

  async function walk(first: number, onPage?: (page: ProductsQuery['products'], n: number) => Promise<void>) {
    const seen: string[] = [];
    let after: string | null = null;
    for (let n = 0; n < 50; n++) {
      const { products: page }: ProductsQuery = await ok(shop(), ProductsDocument, { first, after });
      seen.push(...page.edges.map((e) => e.node.id));
      await onPage?.(page, n);
      if (!page.pageInfo.hasNextPage) return seen;
      after = page.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  it('walks 25 products in pages of 7 with no duplicates or gaps, and correct pageInfo', async () => {
    const sizes: number[] = [];
    const seen = await walk(7, async (page, n) => {
      sizes.push(page.edges.length);
      expect(page.totalCount).toBe(25);
      expect(page.pageInfo.hasPreviousPage).toBe(n > 0);
      expect(page.pageInfo.startCursor).toBe(page.edges[0].cursor);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
    });
    expect(sizes).toEqual([7, 7, 7, 4]);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual([...created].sort());
    // The same order as one big page: cursors are stable.
    const all = await ok(shop(), ProductsDocument, { first: 100 });
    expect(all.products.edges.map((e) => e.node.id)).toEqual(seen);
    expect(all.products.pageInfo.hasNextPage).toBe(false);
  });

  it('gives the same answer for every page size', async () => {
    const reference = await walk(25);
    for (const first of [1, 4, 10, 24]) expect(await walk(first)).toEqual(reference);
  });

  it('keeps going without duplicates or gaps when products are added mid-walk', async () => {
    const before = await walk(100);
    const first = await ok(shop(), ProductsDocument, { first: 10 });
    const added = await makeProduct(shop(), undefined, { name: 'Added Mid Walk' });
    const second = await ok(shop(), ProductsDocument, { first: 100, after: first.products.pageInfo.endCursor });
    const ids = [...first.products.edges, ...second.products.edges].map((e) => e.node.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...before, added.id]);
    expect(second.products.totalCount).toBe(26);
  });

  it('ends with hasNextPage false and an empty page after the last cursor', async () => {
    const all = await ok(shop(), ProductsDocument, { first: 100 });
    const last = all.products.pageInfo.endCursor;
    const after = await ok(shop(), ProductsDocument, { first: 5, after: last });
    expect(after.products.edges).toEqual([]);
    expect(after.products.pageInfo).toMatchObject({ hasNextPage: false, startCursor: null, endCursor: null });
    expect(after.products.totalCount).toBe(all.products.totalCount);
  });

  it('refuses an invalid cursor with BAD_USER_INPUT', async () => {
    const forged = Buffer.from('not-a-date|not-an-id').toString('base64url');
    for (const after of ['garbage', forged, Buffer.from('2026-01-01T00:00:00.000Z|1').toString('base64url')]) {
      const r = await run(shop(), ProductsDocument, { first: 5, after });
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.data?.products).toBeUndefined();
    }
  });

  it('refuses `first` outside 1–100 with BAD_USER_INPUT', async () => {
    const cheap = 'query($first: Int) { products(first: $first) { totalCount } }';
    for (const first of [0, -1, 101]) {
      const r = await gql(shop().url, cheap, { first });
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(fieldPaths(r)).toEqual(['first']);
      expect(r.data).toBeUndefined();
    }
    // A huge page is already over the cost budget: refused before it runs, with the same code.
    const huge = await run(shop(), ProductsDocument, { first: 100000 });
    expect(codeOf(huge)).toBe('BAD_USER_INPUT');
    expect(huge.data).toBeUndefined();
    const fine = await ok(shop(), ProductsDocument, { first: 100 });
    expect(fine.products.edges.length).toBeGreaterThan(0);
  });
});

describe('products: filters', () => {
  const { shop } = useShop({ redis: false });
  const ids: Record<'A' | 'B' | 'C' | 'D', string> = { A: '', B: '', C: '', D: '' };

  beforeAll(async () => {
    const mk = async (key: keyof typeof ids, variants: Array<{ size: string; color: string; stock: number }>, extra: Record<string, unknown>) => {
      const p = await shop().app.services.catalog.createProduct({ lowStockThreshold: 1, description: '', ...extra, variants });
      ids[key] = p.id;
    };
    await mk('A', [{ size: '12.5', color: 'teal', stock: 3 }, { size: '13', color: 'teal', stock: 0 }],
      { name: 'Zephyr Trail Blazer', brand: 'Altra', category: 'trail', price: 120 });
    await mk('B', [{ size: '12.5', color: 'mauve', stock: 0 }, { size: '4', color: 'mauve', stock: 5 }],
      { name: 'Court Classic', brand: 'K-Swiss', category: 'tennis', price: 80.5, description: 'Zephyr-light leather upper, 100% grip' });
    await mk('C', [{ size: '13', color: 'Mauve', stock: 2 }],
      { name: 'Marathon Pro', brand: 'Altra', category: 'road', price: 199.99 });
    await mk('D', [{ size: '4', color: 'teal', stock: 0 }],
      { name: 'Sold Out Sandal', brand: 'Teva', category: 'sandals', price: 45 });
  });

  /** The fixture letters a filter returns, in catalogue order, checked against totalCount. */
  async function names(filter: ProductFilter): Promise<string[]> {
    const r = await ok(shop(), ProductsDocument, { first: 100, filter });
    const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    const got = r.products.edges.map((e) => byId[e.node.id]);
    expect(r.products.totalCount).toBe(got.length);
    return got;
  }

  it('search matches name, brand or description, case-insensitively, with wildcards taken literally', async () => {
    expect(await names({ search: 'ZEPHYR' })).toEqual(['A', 'B']);
    expect(await names({ search: 'altra' })).toEqual(['A', 'C']);
    expect(await names({ search: 'marathon p' })).toEqual(['C']);
    expect(await names({ search: '100%' })).toEqual(['B']);
    expect(await names({ search: '%' })).toEqual(['B']);
    expect(await names({ search: '_' })).toEqual([]);
    expect(await names({ search: 'nothing like this' })).toEqual([]);
  });

  it('category and brand match exactly, ignoring case', async () => {
    expect(await names({ category: 'TRAIL' })).toEqual(['A']);
    expect(await names({ category: 'trai' })).toEqual([]);
    expect(await names({ brand: 'altra' })).toEqual(['A', 'C']);
    expect(await names({ brand: 'k-swiss' })).toEqual(['B']);
  });

  it('size and color match products having such a variant', async () => {
    expect(await names({ size: '12.5' })).toEqual(['A', 'B']);
    expect(await names({ size: '4' })).toEqual(['B', 'D']);
    expect(await names({ size: '99' })).toEqual([]);
    expect(await names({ color: 'MAUVE' })).toEqual(['B', 'C']);
    expect(await names({ color: 'teal' })).toEqual(['A', 'D']);
    expect(await names({ size: '13', color: 'teal' })).toEqual(['A']);
    expect(await names({ size: '4', color: 'teal' })).toEqual(['D']);
  });

  it('minPrice and maxPrice bound the price, both ends included', async () => {
    expect(await names({ minPrice: 120 })).toEqual(['A', 'C']);
    expect(await names({ maxPrice: 80.5 })).toEqual(['B', 'D']);
    expect(await names({ minPrice: 80.5, maxPrice: 120 })).toEqual(['A', 'B']);
    expect(await names({ minPrice: 199.99, maxPrice: 199.99 })).toEqual(['C']);
    expect(await names({ minPrice: 500 })).toEqual([]);
  });

  it('inStock alone: any variant in stock', async () => {
    expect(await names({ inStock: true })).toEqual(['A', 'B', 'C']);
    expect(await names({ inStock: false })).toEqual(['D']);
  });

  it('inStock with size and/or colour: that variant is in stock', async () => {
    expect(await names({ inStock: true, size: '12.5' })).toEqual(['A']);
    expect(await names({ inStock: false, size: '12.5' })).toEqual(['B']);
    expect(await names({ inStock: true, color: 'teal' })).toEqual(['A']);
    expect(await names({ inStock: false, color: 'teal' })).toEqual(['D']);
    expect(await names({ inStock: true, size: '13', color: 'teal' })).toEqual([]);
    expect(await names({ inStock: false, size: '13', color: 'teal' })).toEqual(['A']);
    expect(await names({ inStock: true, size: '13', color: 'mauve' })).toEqual(['C']);
  });

  it('combines filters and pages through a filtered result', async () => {
    expect(await names({ brand: 'Altra', maxPrice: 150 })).toEqual(['A']);
    expect(await names({ search: 'a', category: 'road', inStock: true })).toEqual(['C']);
    const p1 = await ok(shop(), ProductsDocument, { first: 1, filter: { brand: 'Altra' } });
    expect(p1.products).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    const p2 = await ok(shop(), ProductsDocument, { first: 1, after: p1.products.pageInfo.endCursor, filter: { brand: 'Altra' } });
    expect(p2.products.edges.map((e) => e.node.id)).toEqual([ids.C]);
    expect(p2.products.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses a negative price bound with BAD_USER_INPUT naming the field', async () => {
    const r = await run(shop(), ProductsDocument, { filter: { minPrice: -1 } });
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(fieldPaths(r)).toEqual(['minPrice']);
  });
});

describe('product(id) and admin edits', () => {
  const { shop } = useShop({ redis: false });
  let admin: TestUser;
  let customer: TestUser;

  beforeAll(async () => {
    admin = await makeAdmin(shop());
    customer = await makeUser(shop());
  });

  const count = async () => (await ok(shop(), ProductsDocument, { first: 1 })).products.totalCount;

  it('product(id) returns the product, and null for an unknown or malformed id', async () => {
    const p = await makeProduct(shop(), [{ size: '10', color: 'red', stock: 4 }, { size: '8', color: 'red', stock: 0 }], { price: 59.9 });
    const got = await ok(shop(), ProductDocument, { id: p.id });
    expect(got.product).toMatchObject({
      id: p.id, price: 59.9, basePrice: 59.9, totalStock: 4, inStock: true,
      variants: [
        { size: '8', color: 'red', stock: 0, inStock: false },
        { size: '10', color: 'red', stock: 4, inStock: true },
      ],
    });
    expect((await ok(shop(), ProductDocument, { id: '00000000-0000-4000-8000-000000000000' })).product).toBeNull();
    expect((await ok(shop(), ProductDocument, { id: 'no-such-product' })).product).toBeNull();
  });

  it('createProduct stores the product with its variants and generated SKUs', async () => {
    const r = await ok(shop(), CreateProductDocument, {
      input: {
        name: '  Tempo Racer ', brand: 'Saucony', category: 'running', price: 89.99,
        variants: [{ size: '9', color: 'black', stock: 7 }, { size: '10', color: 'black', stock: 0, sku: 'TEMPO-10-BLK' }],
      },
    }, admin.token);
    expect(r.createProduct).toMatchObject({ name: 'Tempo Racer', brand: 'Saucony', price: 89.99 });
    const skus = r.createProduct.variants.map((v) => v.sku);
    expect(skus).toContain('TEMPO-10-BLK');
    expect(new Set(skus).size).toBe(2);
    const again = await ok(shop(), ProductDocument, { id: r.createProduct.id });
    expect(again.product?.totalStock).toBe(7);
  });

  it('createProduct gives BAD_USER_INPUT with every invalid field named, and creates nothing', async () => {
    const before = await count();
    const r = await run(shop(), CreateProductDocument, {
      input: { name: ' ', brand: 'B', category: '', price: -5, variants: [] },
    }, admin.token);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(fieldPaths(r)).toEqual(['category', 'name', 'price', 'variants']);
    const r2 = await run(shop(), CreateProductDocument, {
      input: { name: 'N', brand: 'B', category: 'c', price: 10.555, variants: [{ size: '9', color: '', stock: -1 }] },
    }, admin.token);
    expect(codeOf(r2)).toBe('BAD_USER_INPUT');
    expect(fieldPaths(r2)).toEqual(['price', 'variants.0.color', 'variants.0.stock']);
    const dup = await run(shop(), CreateProductDocument, {
      input: { name: 'N', brand: 'B', category: 'c', price: 10, variants: [{ size: '9', color: 'red', stock: 1 }, { size: '9', color: 'red', stock: 2 }] },
    }, admin.token);
    expect(codeOf(dup)).toBe('BAD_USER_INPUT');
    // A wrong GraphQL type is the client's error too, never a server error: in a variable it is
    // BAD_USER_INPUT, written into the document it fails validation.
    const typedVar = await gql(shop().url, print(CreateProductDocument), { input: { name: 'N', brand: 'B', category: 'c', price: 'cheap', variants: [] } }, admin.token);
    expect(codeOf(typedVar)).toBe('BAD_USER_INPUT');
    const typedLiteral = await gql(shop().url, `mutation { createProduct(input: { name: "N", brand: "B", category: "c", price: "cheap", variants: [] }) { id } }`, {}, admin.token);
    expect(codeOf(typedLiteral)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await count()).toBe(before);
  });

  it('createProduct, updateProduct and adjustStock are for admins only', async () => {
    const p = await makeProduct(shop());
    const input = { name: 'X', brand: 'B', category: 'c', price: 10, variants: [{ size: '9', color: 'red', stock: 1 }] };
    expect(codeOf(await run(shop(), CreateProductDocument, { input }, customer.token))).toBe('FORBIDDEN');
    expect(codeOf(await run(shop(), UpdateProductDocument, { id: p.id, input: { name: 'Hacked' } }, customer.token))).toBe('FORBIDDEN');
    expect(codeOf(await run(shop(), AdjustStockDocument, { productId: p.id, variant: { size: '9', color: 'black' }, delta: 5 }))).toBe('UNAUTHENTICATED');
    const still = await ok(shop(), ProductDocument, { id: p.id });
    expect(still.product).toMatchObject({ name: p.name, totalStock: 10 });
  });

  it('updateProduct changes the given fields only and can add variants', async () => {
    const p = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 3 }], { price: 120, name: 'Before Update' });
    const r = await ok(shop(), UpdateProductDocument, {
      id: p.id,
      input: { price: 99.5, lowStockThreshold: 2, description: 'Now lighter', addVariants: [{ size: '10', color: 'black', stock: 6 }] },
    }, admin.token);
    expect(r.updateProduct).toMatchObject({
      name: 'Before Update', description: 'Now lighter', price: 99.5, basePrice: 99.5, lowStockThreshold: 2,
      variants: [{ size: '9', color: 'black', stock: 3 }, { size: '10', color: 'black', stock: 6 }],
    });
    const read = await ok(shop(), ProductDocument, { id: p.id });
    expect(read.product).toMatchObject({ price: 99.5, totalStock: 9, description: 'Now lighter' });
  });

  it('updateProduct refuses bad input, an unknown product and an existing variant', async () => {
    const p = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 3 }]);
    const bad = await run(shop(), UpdateProductDocument, { id: p.id, input: { price: 0, name: '' } }, admin.token);
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect(fieldPaths(bad)).toEqual(['name', 'price']);
    const missing = await run(shop(), UpdateProductDocument, { id: '00000000-0000-4000-8000-000000000000', input: { name: 'Ghost' } }, admin.token);
    expect(codeOf(missing)).toBe('NOT_FOUND');
    const existing = await run(shop(), UpdateProductDocument, { id: p.id, input: { addVariants: [{ size: '9', color: 'black', stock: 1 }] } }, admin.token);
    expect(codeOf(existing)).toBe('CONFLICT');
    const read = await ok(shop(), ProductDocument, { id: p.id });
    expect(read.product).toMatchObject({ name: p.name, price: p.price, totalStock: 3 });
  });

  it('adjustStock adds and removes units, and never goes below zero (INSUFFICIENT_STOCK)', async () => {
    const p = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 10 }, { size: '10', color: 'black', stock: 1 }]);
    const variant = { size: '9', color: 'black' };
    const up = await ok(shop(), AdjustStockDocument, { productId: p.id, variant, delta: 5 }, admin.token);
    expect(up.adjustStock.variants.find((v) => v.size === '9')!.stock).toBe(15);
    const down = await ok(shop(), AdjustStockDocument, { productId: p.id, variant, delta: -15 }, admin.token);
    expect(down.adjustStock.variants.find((v) => v.size === '9')!.stock).toBe(0);
    expect(down.adjustStock.totalStock).toBe(1);
    const below = await run(shop(), AdjustStockDocument, { productId: p.id, variant, delta: -1 }, admin.token);
    expect(codeOf(below)).toBe('INSUFFICIENT_STOCK');
    const tooMuch = await run(shop(), AdjustStockDocument, { productId: p.id, variant: { size: '10', color: 'black' }, delta: -2 }, admin.token);
    expect(codeOf(tooMuch)).toBe('INSUFFICIENT_STOCK');
    const read = await ok(shop(), ProductDocument, { id: p.id });
    expect(read.product?.variants.map((v) => v.stock)).toEqual([0, 1]);
  });

  it('adjustStock refuses a zero delta and an unknown variant or product', async () => {
    const p = await makeProduct(shop());
    expect(codeOf(await run(shop(), AdjustStockDocument, { productId: p.id, variant: { size: '9', color: 'black' }, delta: 0 }, admin.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await run(shop(), AdjustStockDocument, { productId: p.id, variant: { size: '42', color: 'black' }, delta: 1 }, admin.token))).toBe('NOT_FOUND');
    expect(codeOf(await run(shop(), AdjustStockDocument, { productId: '00000000-0000-4000-8000-000000000000', variant: { size: '9', color: 'black' }, delta: 1 }, admin.token))).toBe('NOT_FOUND');
    expect(codeOf(await run(shop(), AdjustStockDocument, { productId: 'nope', variant: { size: '9', color: 'black' }, delta: 1 }, admin.token))).toBe('BAD_USER_INPUT');
  });

  it('concurrent adjustStock requests over HTTP sell exactly the stock there is', async () => {
    const p = await makeProduct(shop(), [{ size: '9', color: 'black', stock: 6 }]);
    const variant = { size: '9', color: 'black' };
    const results = await Promise.all(Array.from({ length: 15 }, () => run(shop(), AdjustStockDocument, { productId: p.id, variant, delta: -1 }, admin.token)));
    const codes = results.map((r) => codeOf(r) ?? 'ok');
    expect(codes.filter((c) => c === 'ok')).toHaveLength(6);
    expect(codes.filter((c) => c === 'INSUFFICIENT_STOCK')).toHaveLength(9);
    expect((await ok(shop(), ProductDocument, { id: p.id })).product?.totalStock).toBe(0);
  });
});
