import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, sleep, socketV4, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, track } = useShop();
let admin: TestUser;

beforeAll(async () => {
  admin = await makeAdmin(shop());
});

const connect = async (token?: string) => {
  const s = await socketV4(shop().url, token);
  track(s);
  return s;
};
const ws = (token?: string) => {
  const c = wsClient(shop().wsUrl, token);
  track(c);
  return c;
};

const REVIEW_FIELDS = 'id productId productName rating title body status user { id name role } createdAt moderatedAt';
const CREATE = `mutation($input: CreateReviewInput!) { createReview(input: $input) { ${REVIEW_FIELDS} } }`;
const MODERATE = `mutation($id: ID!, $approve: Boolean!) { moderateReview(reviewId: $id, approve: $approve) { ${REVIEW_FIELDS} } }`;
const REVIEWS = `query($id: ID!, $first: Int, $after: String) { reviews(productId: $id, first: $first, after: $after) {
  totalCount edges { cursor node { id rating status } } pageInfo { hasNextPage endCursor } } }`;
const NEW_REVIEW_SUB = 'subscription { newReviewNotification { eventId reviewId productId productName rating title user { id name role } timestamp } }';
const REVIEW_ADDED_SUB = 'subscription($id: ID!) { productReviewAdded(productId: $id) { eventId reviewId productId rating title body user { id name role } averageRating reviewCount timestamp } }';

describe('reviews', () => {
  it('notifies admins of a new review on both transports, and refuses the subscription to customers', async () => {
    const alice = await makeUser(shop(), undefined, 'Alice');
    const product = await makeProduct(shop());
    const adminSocket = await connect(admin.token);
    expect((await emitAck(adminSocket, 'join_room', { room: 'admin' })).ok).toBe(true);
    const adminRec = recordSocket(adminSocket);
    const customerSocket = await connect(alice.token);
    const customerRec = recordSocket(customerSocket);
    const adminSub = collect(ws(admin.token), NEW_REVIEW_SUB);
    const customerSub = collect(ws(alice.token), NEW_REVIEW_SUB);
    await sleep(300);
    await waitFor(() => customerSub.errors.length > 0, 3000, 'customer subscription refused');
    expect(JSON.stringify(customerSub.errors)).toContain('FORBIDDEN');

    const created = await gqlOk(shop().url, CREATE, { input: { productId: product.id, rating: 4, title: 'Comfy', body: 'Runs true to size.' } }, alice.token);
    expect(created.createReview).toMatchObject({
      productId: product.id, productName: product.name, rating: 4, status: 'pending', moderatedAt: null,
      user: { id: alice.id, name: 'Alice', role: 'CUSTOMER' },
    });
    await waitFor(() => adminSub.events.length === 1 && adminRec.of('new_review_notification').length === 1, 5000, 'new_review_notification');
    const viaWs = adminSub.events[0].newReviewNotification;
    expect(viaWs).toMatchObject({
      reviewId: created.createReview.id, productId: product.id, productName: product.name, rating: 4, title: 'Comfy',
      user: { id: alice.id, name: 'Alice', role: 'CUSTOMER' },
    });
    expect(adminRec.of('new_review_notification')).toEqual([viaWs]);
    await sleep(200);
    expect(customerRec.of('new_review_notification')).toHaveLength(0);
    expect(customerSub.events).toHaveLength(0);

    // Pending reviews are for admins only and not public yet.
    const pending = await gqlOk(shop().url, `{ pendingReviews { id status } }`, {}, admin.token);
    expect(pending.pendingReviews).toContainEqual({ id: created.createReview.id, status: 'pending' });
    expect(codeOf(await gql(shop().url, `{ pendingReviews { id } }`, {}, alice.token))).toBe('FORBIDDEN');
    expect((await gqlOk(shop().url, REVIEWS, { id: product.id })).reviews.totalCount).toBe(0);
  });

  it('approval updates the rating and tells the product room; rejection stays private', async () => {
    const product = await makeProduct(shop());
    const [u1, u2, u3] = await Promise.all([makeUser(shop(), undefined, 'Una'), makeUser(shop()), makeUser(shop())]);
    const watcher = await connect();
    expect((await emitAck(watcher, 'join_room', { room: `product_${product.id}` })).ok).toBe(true);
    const rec = recordSocket(watcher);
    const sub = collect(ws(), REVIEW_ADDED_SUB, { id: product.id });
    const elsewhere = await makeProduct(shop());
    const otherRoom = await connect();
    expect((await emitAck(otherRoom, 'join_room', { room: `product_${elsewhere.id}` })).ok).toBe(true);
    const otherRec = recordSocket(otherRoom);
    await sleep(300);

    const r1 = (await gqlOk(shop().url, CREATE, { input: { productId: product.id, rating: 5, title: 'Great', body: 'Love them' } }, u1.token)).createReview;
    const r2 = (await gqlOk(shop().url, CREATE, { input: { productId: product.id, rating: 2, title: 'Meh', body: '' } }, u2.token)).createReview;
    const r3 = (await gqlOk(shop().url, CREATE, { input: { productId: product.id, rating: 1, title: 'Awful', body: 'Spam spam' } }, u3.token)).createReview;

    const approved = await gqlOk(shop().url, MODERATE, { id: r1.id, approve: true }, admin.token);
    expect(approved.moderateReview).toMatchObject({ id: r1.id, status: 'approved', moderatedAt: expect.any(String) });
    await gqlOk(shop().url, MODERATE, { id: r2.id, approve: true }, admin.token);
    const rejected = await gqlOk(shop().url, MODERATE, { id: r3.id, approve: false }, admin.token);
    expect(rejected.moderateReview.status).toBe('rejected');

    await waitFor(() => rec.of('product_review_added').length === 2 && sub.events.length === 2, 5000, 'product_review_added');
    await sleep(300);
    const events = rec.of('product_review_added');
    expect(events[0]).toMatchObject({ reviewId: r1.id, productId: product.id, rating: 5, title: 'Great', body: 'Love them', user: { id: u1.id, name: 'Una', role: 'CUSTOMER' }, averageRating: 5, reviewCount: 1 });
    expect(events[1]).toMatchObject({ reviewId: r2.id, rating: 2, averageRating: 3.5, reviewCount: 2 });
    expect(sub.events.map((e) => e.productReviewAdded)).toEqual(events);
    expect(otherRec.of('product_review_added')).toHaveLength(0);

    const p = await gqlOk(shop().url, `query($id: ID!) { product(id: $id) { averageRating reviewCount } }`, { id: product.id });
    expect(p.product).toEqual({ averageRating: 3.5, reviewCount: 2 });
    const publicList = await gqlOk(shop().url, REVIEWS, { id: product.id });
    expect(publicList.reviews.totalCount).toBe(2);
    expect(publicList.reviews.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual([r1.id, r2.id].sort());
    const adminList = await gqlOk(shop().url, REVIEWS, { id: product.id }, admin.token);
    expect(adminList.reviews.totalCount).toBe(3);

    // Moderating twice is refused and changes nothing.
    const twice = await gql(shop().url, MODERATE, { id: r1.id, approve: true }, admin.token);
    expect(codeOf(twice)).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, MODERATE, { id: r3.id, approve: true }, admin.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, MODERATE, { id: '00000000-0000-4000-8000-000000000000', approve: true }, admin.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, MODERATE, { id: r2.id, approve: true }, u1.token))).toBe('FORBIDDEN');
    const after = await gqlOk(shop().url, `query($id: ID!) { product(id: $id) { averageRating reviewCount } }`, { id: product.id });
    expect(after.product).toEqual({ averageRating: 3.5, reviewCount: 2 });
    await sleep(200);
    expect(rec.of('product_review_added')).toHaveLength(2);
  });

  it('keeps one review per user and product (CONFLICT) and ratings within 1–5 (BAD_USER_INPUT)', async () => {
    const product = await makeProduct(shop());
    const user = await makeUser(shop());
    const input = { productId: product.id, rating: 3, title: 'Fine', body: 'ok' };
    await gqlOk(shop().url, CREATE, { input }, user.token);
    expect(codeOf(await gql(shop().url, CREATE, { input: { ...input, rating: 5 } }, user.token))).toBe('CONFLICT');
    const other = await makeUser(shop());
    for (const rating of [0, 6, -1]) {
      const r = await gql(shop().url, CREATE, { input: { ...input, rating } }, other.token);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0].extensions!.fields).toEqual([expect.objectContaining({ path: 'rating' })]);
    }
    expect(codeOf(await gql(shop().url, CREATE, { input: { ...input, title: '  ' } }, other.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, CREATE, { input: { ...input, productId: '00000000-0000-4000-8000-000000000000' } }, other.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, CREATE, { input }))).toBe('UNAUTHENTICATED');
    // The refused attempts left nothing behind: the other user can still review once.
    await gqlOk(shop().url, CREATE, { input }, other.token);
    const all = await gqlOk(shop().url, REVIEWS, { id: product.id }, admin.token);
    expect(all.reviews.totalCount).toBe(2);
  });

  it('pages approved reviews newest first with cursors', async () => {
    const product = await makeProduct(shop());
    const users = await Promise.all(Array.from({ length: 5 }, () => makeUser(shop())));
    const ids: string[] = [];
    for (const [i, u] of users.entries()) {
      const r = (await gqlOk(shop().url, CREATE, { input: { productId: product.id, rating: 1 + i, title: `R${i}`, body: '' } }, u.token)).createReview;
      await gqlOk(shop().url, MODERATE, { id: r.id, approve: true }, admin.token);
      ids.push(r.id);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { reviews: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } =
        await gqlOk(shop().url, REVIEWS, { id: product.id, first: 2, after });
      seen.push(...page.reviews.edges.map((e) => e.node.id));
      if (!page.reviews.pageInfo.hasNextPage) break;
      after = page.reviews.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    expect(codeOf(await gql(shop().url, REVIEWS, { id: '00000000-0000-4000-8000-000000000000' }))).toBe('NOT_FOUND');
    expect(codeOf(await gql(shop().url, REVIEWS, { id: product.id, after: 'garbage' }))).toBe('BAD_USER_INPUT');
  });
});
