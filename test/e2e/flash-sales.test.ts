import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, sleep, waitFor } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop, type TestShop } from '../support/use-shop';

// Two instances on one database and one namespace, each running its own scheduler.
const { a, b, socket, ws } = useShop({ instances: 2, config: { flashSaleTickMs: 100 } });
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(a());
});

const SALE_EVENT = 'eventId saleId name description discountPercentage startTime endTime products event timestamp';
const SALE_FIELDS = 'id name description discountPercentage startTime endTime products state startedAt endedAt';
const CREATE = `mutation($input: CreateFlashSaleInput!) { createFlashSale(input: $input) { ${SALE_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateFlashSaleInput!) { updateFlashSale(id: $id, input: $input) { ${SALE_FIELDS} } }`;
const END = `mutation($id: ID!) { endFlashSale(id: $id) { ${SALE_FIELDS} } }`;
const PRICE = `query($id: ID!) { product(id: $id) { price basePrice discountPercentage } }`;

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/** A graphql-ws client following the three flash-sale subscriptions. */
function follow(shop: TestShop, token?: string) {
  const c = ws(shop, token);
  return {
    start: collect(c, `subscription { flashSaleStart { ${SALE_EVENT} } }`),
    update: collect(c, `subscription { flashSaleUpdate { ${SALE_EVENT} } }`),
    end: collect(c, `subscription { flashSaleEnd { ${SALE_EVENT} } }`),
  };
}

const forSale = <T extends { saleId: string }>(list: T[], saleId: string) => list.filter((e) => e.saleId === saleId);

describe('flash sales', () => {
  it('starts and ends at its times exactly once with two instances, discounting the price meanwhile', async () => {
    const p1 = await makeProduct(a(), [{ size: '9', color: 'black', stock: 5 }], { price: 100 });
    const p2 = await makeProduct(a(), [{ size: '9', color: 'black', stock: 5 }], { price: 59.99 });
    const wisher = await makeUser(a());
    const bystander = await makeUser(a());
    await gqlOk(a().url, `mutation($id: ID!) { addToWishlist(productId: $id) { id } }`, { id: p1.id }, wisher.token);

    // Clients spread over both instances, on both transports.
    const wsA = follow(a());
    const wsB = follow(b(), wisher.token);
    const sockA = recordSocket(await socket(a()));
    const sockB = recordSocket(await socket(b(), wisher.token));
    const bystanderSock = recordSocket(await socket(a(), bystander.token));
    const adminSocket = await socket(b(), admin.token);
    expect((await emitAck(adminSocket, 'join_room', { room: 'admin' })).ok).toBe(true);
    const adminRec = recordSocket(adminSocket);
    await sleep(300);

    const input = { name: 'Lunch rush', description: '20% off two runners', discountPercentage: 20, startTime: inMs(1000), endTime: inMs(2800), productIds: [p1.id, p2.id] };
    const created = (await gqlOk(a().url, CREATE, { input }, admin.token)).createFlashSale;
    expect(created).toMatchObject({ name: 'Lunch rush', discountPercentage: 20, state: 'scheduled', startedAt: null, products: [p1.id, p2.id].sort() });
    expect((await gqlOk(b().url, PRICE, { id: p1.id })).product).toEqual({ price: 100, basePrice: 100, discountPercentage: 0 });

    const started = () => [wsA.start.events, wsB.start.events, sockA.of('flash_sale_start'), sockB.of('flash_sale_start')];
    await waitFor(() => started().every((l) => l.length >= 1), 5000, 'flash_sale_start everywhere');

    // During the sale, every instance shows the discounted price.
    expect((await gqlOk(a().url, PRICE, { id: p1.id })).product).toEqual({ price: 80, basePrice: 100, discountPercentage: 20 });
    expect((await gqlOk(b().url, PRICE, { id: p2.id })).product).toEqual({ price: 47.99, basePrice: 59.99, discountPercentage: 20 });
    const running = (await gqlOk(b().url, `{ flashSales(active: true) { id state startedAt productDetails { id price } } }`)).flashSales;
    expect(running).toEqual([expect.objectContaining({ id: created.id, state: 'active', startedAt: expect.any(String) })]);
    expect(running[0].productDetails).toEqual(expect.arrayContaining([{ id: p1.id, price: 80 }, { id: p2.id, price: 47.99 }]));

    // An order for one of its products while it runs (checkout is another service: a row as it would write it).
    await a().orm.em.fork().execute(
      `with o as (insert into orders (id, order_number, user_id, status, total_cents, item_count, shipping_address, created_at, updated_at)
                  values (gen_random_uuid(), ?, ?, 'pending', 8000, 1, '{}'::jsonb, now(), now()) returning id)
       insert into order_items (id, order_id, position, product_id, product_name, size, color, sku, unit_price_cents, quantity)
       select gen_random_uuid(), o.id, 0, ?, 'x', '9', 'black', 'SKU', 8000, 1 from o`,
      [`ORD-2026-9${Date.now().toString().slice(-5)}`, bystander.id, p1.id]);

    const ended = () => [wsA.end.events, wsB.end.events, sockA.of('flash_sale_end'), sockB.of('flash_sale_end')];
    await waitFor(() => ended().every((l) => l.length >= 1), 6000, 'flash_sale_end everywhere');
    await waitFor(() => adminRec.of('admin_notification').some((n) => n.entityId === created.id), 3000, 'admin_notification');
    await sleep(500); // several more ticks on both instances

    for (const list of [wsA.start.events.map((e) => e.flashSaleStart), wsB.start.events.map((e) => e.flashSaleStart), sockA.of('flash_sale_start'), sockB.of('flash_sale_start')]) {
      expect(forSale(list, created.id)).toHaveLength(1);
    }
    for (const list of [wsA.end.events.map((e) => e.flashSaleEnd), wsB.end.events.map((e) => e.flashSaleEnd), sockA.of('flash_sale_end'), sockB.of('flash_sale_end')]) {
      expect(forSale(list, created.id)).toHaveLength(1);
    }
    const startPayload = sockA.of('flash_sale_start')[0];
    expect(startPayload).toEqual({
      saleId: created.id, name: 'Lunch rush', description: '20% off two runners', discountPercentage: 20,
      startTime: created.startTime, endTime: created.endTime, products: created.products, event: 'start', timestamp: expect.any(String),
      eventId: expect.any(String),
    });
    expect(wsB.start.events[0].flashSaleStart).toEqual(startPayload);
    expect(sockB.of('flash_sale_end')[0]).toMatchObject({ saleId: created.id, event: 'end' });
    expect(wsA.end.events[0].flashSaleEnd).toEqual(sockB.of('flash_sale_end')[0]);

    // Wishlisters of a product hear of the lower price once; nobody else does.
    expect(sockB.of('price_drop_alert')).toEqual([
      expect.objectContaining({ productId: p1.id, productName: p1.name, oldPrice: 100, newPrice: 80, discountPercentage: 20 }),
    ]);
    expect(bystanderSock.of('price_drop_alert')).toHaveLength(0);

    const notes = adminRec.of('admin_notification').filter((n) => n.entityId === created.id);
    expect(notes).toEqual([expect.objectContaining({ type: 'flash_sale_ended', severity: 'info', entityId: created.id })]);
    expect(notes[0].message).toContain('1 order ');

    // After the sale the price is back, and the sale reads as ended.
    expect((await gqlOk(b().url, PRICE, { id: p1.id })).product).toEqual({ price: 100, basePrice: 100, discountPercentage: 0 });
    const sale = (await gqlOk(a().url, `query($id: ID!) { flashSale(id: $id) { state startedAt endedAt } }`, { id: created.id })).flashSale;
    expect(sale).toEqual({ state: 'ended', startedAt: expect.any(String), endedAt: expect.any(String) });
  });

  it('announces updates, lowers prices for wishlisters of a running sale, and refuses changes to an ended sale', async () => {
    const p1 = await makeProduct(a(), [{ size: '9', color: 'black', stock: 5 }], { price: 200 });
    const p2 = await makeProduct(a(), [{ size: '9', color: 'black', stock: 5 }], { price: 50 });
    const wisher = await makeUser(a());
    const other = await makeUser(a());
    for (const id of [p1.id, p2.id]) await gqlOk(a().url, `mutation($id: ID!) { addToWishlist(productId: $id) { id } }`, { id }, wisher.token);
    const ws = follow(b());
    const sock = recordSocket(await socket(a(), wisher.token));
    const otherSock = recordSocket(await socket(b(), other.token));
    await sleep(300);

    // A start time already passed starts the sale at once.
    const sale = (await gqlOk(a().url, CREATE, { input: { name: 'Now', discountPercentage: 10, startTime: inMs(-1000), endTime: inMs(60_000), productIds: [p1.id] } }, admin.token)).createFlashSale;
    expect(sale).toMatchObject({ state: 'active', description: '', startedAt: expect.any(String) });
    await waitFor(() => sock.of('price_drop_alert').length === 1, 5000, 'price drop at start');

    const updated = (await gqlOk(a().url, UPDATE, { id: sale.id, input: { name: 'Now bigger', discountPercentage: 25, productIds: [p1.id, p2.id] } }, admin.token)).updateFlashSale;
    expect(updated).toMatchObject({ name: 'Now bigger', discountPercentage: 25, state: 'active', startTime: sale.startTime });
    expect((await gqlOk(b().url, PRICE, { id: p2.id })).product.price).toBe(37.5);
    await waitFor(() => ws.update.events.length === 1 && sock.of('flash_sale_update').length === 1 && sock.of('price_drop_alert').length === 3, 5000, 'update events');
    expect(sock.of('flash_sale_update')[0]).toEqual({
      saleId: sale.id, name: 'Now bigger', description: '', discountPercentage: 25, startTime: sale.startTime, endTime: sale.endTime,
      products: [p1.id, p2.id].sort(), event: 'update', timestamp: expect.any(String), eventId: expect.any(String),
    });
    expect(ws.update.events[0].flashSaleUpdate).toEqual(sock.of('flash_sale_update')[0]);
    expect(sock.of('price_drop_alert').slice(1)).toEqual(expect.arrayContaining([
      expect.objectContaining({ productId: p1.id, oldPrice: 180, newPrice: 150 }),
      expect.objectContaining({ productId: p2.id, oldPrice: 50, newPrice: 37.5 }),
    ]));

    // A running sale keeps its start time.
    const moveStart = await gql(a().url, UPDATE, { id: sale.id, input: { startTime: inMs(5000) } }, admin.token);
    expect(codeOf(moveStart)).toBe('BAD_USER_INPUT');

    const ended = (await gqlOk(b().url, END, { id: sale.id }, admin.token)).endFlashSale;
    expect(ended).toMatchObject({ state: 'ended', endedAt: expect.any(String) });
    expect(Date.parse(ended.endTime)).toBeLessThan(Date.parse(sale.endTime));
    await waitFor(() => forSale(ws.end.events.map((e) => e.flashSaleEnd), sale.id).length === 1, 5000, 'flash_sale_end');
    expect((await gqlOk(a().url, PRICE, { id: p2.id })).product.price).toBe(50);
    expect(codeOf(await gql(a().url, UPDATE, { id: sale.id, input: { name: 'Too late' } }, admin.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(a().url, END, { id: sale.id }, admin.token))).toBe('BAD_USER_INPUT');
    await sleep(300);
    expect(forSale(ws.end.events.map((e) => e.flashSaleEnd), sale.id)).toHaveLength(1);
    expect(otherSock.of('price_drop_alert')).toHaveLength(0);

    // A scheduled sale can change anything; the update is announced with event 'update'.
    const later = (await gqlOk(a().url, CREATE, { input: { name: 'Later', discountPercentage: 5, startTime: inMs(3_600_000), endTime: inMs(7_200_000), productIds: [p2.id] } }, admin.token)).createFlashSale;
    const moved = (await gqlOk(b().url, UPDATE, { id: later.id, input: { startTime: inMs(1_800_000), description: 'Sooner' } }, admin.token)).updateFlashSale;
    expect(moved).toMatchObject({ state: 'scheduled', description: 'Sooner', name: 'Later' });
    await waitFor(() => forSale(ws.update.events.map((e) => e.flashSaleUpdate), later.id).length === 1, 5000, 'update of scheduled sale');
    expect((await gqlOk(a().url, PRICE, { id: p2.id })).product.price).toBe(50);
    const scheduled = (await gqlOk(a().url, `{ flashSales(active: false) { id state } }`)).flashSales;
    expect(scheduled).toEqual(expect.arrayContaining([{ id: later.id, state: 'scheduled' }, { id: sale.id, state: 'ended' }]));
  });

  it('validates flash sale input and keeps the mutations for admins', async () => {
    const product = await makeProduct(a());
    const user = await makeUser(a());
    const ok = { name: 'X', discountPercentage: 10, startTime: inMs(60_000), endTime: inMs(120_000), productIds: [product.id] };
    for (const [bad, field] of [
      [{ discountPercentage: 0 }, 'discountPercentage'],
      [{ discountPercentage: 91 }, 'discountPercentage'],
      [{ endTime: inMs(30_000) }, 'endTime'],
      [{ startTime: inMs(-120_000), endTime: inMs(-60_000) }, 'endTime'],
      [{ startTime: 'tomorrow' }, 'startTime'],
      [{ name: ' ' }, 'name'],
      [{ productIds: [] }, 'productIds'],
    ] as const) {
      const r = await gql(a().url, CREATE, { input: { ...ok, ...bad } }, admin.token);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions!.fields).toEqual(expect.arrayContaining([expect.objectContaining({ path: field })]));
    }
    expect(codeOf(await gql(a().url, CREATE, { input: { ...ok, productIds: ['00000000-0000-4000-8000-000000000000'] } }, admin.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(a().url, CREATE, { input: ok }, user.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(a().url, CREATE, { input: ok }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(a().url, END, { id: '00000000-0000-4000-8000-000000000000' }, admin.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(a().url, UPDATE, { id: '00000000-0000-4000-8000-000000000000', input: { name: 'y' } }, admin.token))).toBe('NOT_FOUND');
    expect((await gqlOk(a().url, `{ flashSales { id } }`)).flashSales.map((s: { id: string }) => s.id)).not.toContain(undefined);
  });
});
