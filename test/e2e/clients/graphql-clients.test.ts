import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Client as UrqlClient, cacheExchange, fetchExchange, gql as urqlGql, subscriptionExchange } from '@urql/core';
import { cacheExchange as graphcache } from '@urql/exchange-graphcache';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { gqlOk, waitFor } from '../../support/clients';
import { makeAdmin, makeProduct, makeUser, type TestUser } from '../../support/fixtures';
import { useShop } from '../../support/use-shop';

/**
 * The two GraphQL clients frontends use most, set up as their documentation shows and otherwise left
 * at their defaults, against a real instance: urql (@urql/core) and Apollo Client (HttpLink for
 * queries and mutations, GraphQLWsLink over graphql-ws for subscriptions).
 */
const { shop, track, defer } = useShop({ redis: false });
let admin: TestUser;
let alice: TestUser;
let productId: string;
/** Every GraphQL request the instance received over HTTP, as it arrived. */
const requests: Array<{ method: string; contentType?: string; accept?: string; auth: boolean }> = [];

beforeAll(async () => {
  // First in line: Express rewrites req.url while its routers run.
  shop().app.httpServer.prependListener('request', (req) => {
    if (req.url?.startsWith('/graphql')) {
      requests.push({ method: req.method!, contentType: req.headers['content-type'], accept: req.headers.accept, auth: Boolean(req.headers.authorization) });
    }
  });
  admin = await makeAdmin(shop());
  alice = await makeUser(shop());
  productId = (await makeProduct(shop(), [{ size: '9', color: 'black', stock: 50 }])).id;
});

const black9 = { size: '9', color: 'black' };
const address = { name: 'Alice Runner', line1: '1 Track Road', city: 'Leeds', postalCode: 'LS1 1AA', country: 'GB' };

describe('urql (@urql/core) with its default exchanges and fetch options', () => {
  const client = () => new UrqlClient({
    url: `${shop().url}/graphql`,
    exchanges: [cacheExchange, fetchExchange],
    fetchOptions: () => ({ headers: { authorization: `Bearer ${alice.token}` } }),
  });

  it('sends queries as GET without a content type, and they are answered', async () => {
    const from = requests.length;
    const r = await client().query(urqlGql`query Catalog($first: Int) { products(first: $first) { totalCount edges { node { id name } } } }`, { first: 5 }).toPromise();
    expect(r.error).toBeUndefined();
    expect(r.data.products.totalCount).toBe(1);
    expect(r.data.products.edges[0].node.id).toBe(productId);
    const sent = requests.slice(from);
    expect(sent).toEqual([{ method: 'GET', contentType: undefined, accept: expect.stringMatching(/^application\/graphql-response\+json/), auth: true }]);
  });

  it('reads the signed-in user over GET with the bearer token', async () => {
    const r = await client().query(urqlGql`query Me { me { id email } }`, {}).toPromise();
    expect(r.error).toBeUndefined();
    expect(r.data.me).toEqual({ __typename: 'User', id: alice.id, email: alice.email });
  });

  it('sends mutations as JSON POST, and they run', async () => {
    const from = requests.length;
    const r = await client().mutation(urqlGql`mutation Add($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 1) { id itemCount } }`, { p: productId, v: black9 }).toPromise();
    expect(r.error).toBeUndefined();
    expect(r.data.addToCart.itemCount).toBe(1);
    expect(requests.slice(from).map((q) => [q.method, q.contentType])).toEqual([['POST', 'application/json']]);
    await gqlOk(shop().url, 'mutation { clearCart { id } }', {}, alice.token);
  });

  it('reports a refused query as a GraphQL error with its code', async () => {
    const r = await client().query(urqlGql`query Bad { products(first: 1) { noSuchField } }`, {}).toPromise();
    expect(r.data).toBeUndefined();
    expect(r.error?.graphQLErrors.map((e) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });
});

/** Places an order for `user` through the services' GraphQL API; returns its id. */
async function placeOrder(user: TestUser): Promise<string> {
  await gqlOk(shop().url, 'mutation { clearCart { id } }', {}, user.token);
  await gqlOk(shop().url, 'mutation($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 1) { id } }', { p: productId, v: black9 }, user.token);
  return (await gqlOk(shop().url, 'mutation($input: CheckoutInput!) { checkout(input: $input) { id } }', { input: { shippingAddress: address } }, user.token)).checkout.id;
}

const moveOrder = (id: string, status: string) =>
  gqlOk(shop().url, 'mutation($id: ID!, $s: OrderStatus!) { updateOrderStatus(orderId: $id, status: $s) { id } }', { id, s: status }, admin.token);

/** urql with Graphcache and graphql-ws subscriptions, set up as the README's client set-up shows. */
function graphcacheClient(user?: TestUser): UrqlClient {
  const ws: WsClient = createWsClient({ url: shop().wsUrl, webSocketImpl: WebSocket, connectionParams: user ? { authToken: user.token } : {} });
  track(ws);
  return new UrqlClient({
    url: `${shop().url}/graphql`,
    fetchOptions: () => (user ? { headers: { authorization: `Bearer ${user.token}` } } : {}),
    exchanges: [
      // Embedded objects without an id: history entries live inside their order, and the events'
      // `variant { size color }` inside its event.
      graphcache({ keys: { StatusChange: () => null, Variant: () => null } }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
}

describe('urql with Graphcache (normalized) and graphql-ws subscriptions', () => {
  it('updates a watched order query from orderStatusUpdate, without refetching', async () => {
    const orderId = await placeOrder(alice);
    const client = graphcacheClient(alice);
    const seen: string[] = [];
    const watch = client.query(urqlGql`query Order($id: ID!) { order(id: $id) { id status statusHistory { status } } }`, { id: orderId })
      .subscribe((r) => r.data && seen.push(r.data.order.status));
    const events: string[] = [];
    const members = shop().app.fanout.stats().members;
    const sub = client.subscription(urqlGql`subscription OrderStatus { orderStatusUpdate { orderId status order { id status statusHistory { status } } } }`, {})
      .subscribe((r) => r.data && events.push(r.data.orderStatusUpdate.status));
    defer(() => {
      watch.unsubscribe();
      sub.unsubscribe();
    });
    await waitFor(() => seen.length === 1, 5000, 'the order query');
    expect(seen).toEqual(['pending']);
    await waitFor(() => shop().app.fanout.stats().members === members + 1, 5000, 'the subscription registered');

    const httpBefore = requests.length;
    await moveOrder(orderId, 'confirmed');
    await waitFor(() => events.length === 1 && seen.length === 2, 5000, 'the watched query after orderStatusUpdate');
    await moveOrder(orderId, 'processing');
    await waitFor(() => seen.length === 3, 5000, 'the watched query after the second move');
    expect(seen).toEqual(['pending', 'confirmed', 'processing']);
    // Only the test's two mutations went over HTTP: the watched query was never refetched.
    expect(requests.length - httpBefore).toBe(2);
  });
});

describe('urql Graphcache and a variant\'s stock', () => {
  it('updates a watched product query from productStockUpdate, without refetching', async () => {
    const client = graphcacheClient();
    const seen: number[] = [];
    const watch = client.query(urqlGql`query Product($id: ID!) { product(id: $id) { id variants { id stock inStock } } }`, { id: productId })
      .subscribe((r) => r.data && seen.push(r.data.product.variants[0].stock));
    await waitFor(() => seen.length === 1, 5000, 'the product query');
    const events: number[] = [];
    const members = shop().app.fanout.stats().members;
    const sub = client.subscription(urqlGql`subscription Stock($id: ID!) { productStockUpdate(productId: $id) { stockChange productVariant { id stock inStock } } }`, { id: productId })
      .subscribe((r) => r.data && events.push(r.data.productStockUpdate.productVariant.stock));
    defer(() => {
      watch.unsubscribe();
      sub.unsubscribe();
    });
    await waitFor(() => shop().app.fanout.stats().members === members + 1, 5000, 'the subscription registered');

    const httpBefore = requests.length;
    const start = seen[0];
    await adjust(-2);
    await waitFor(() => events.length === 1 && seen.length === 2, 5000, 'the watched query after productStockUpdate');
    await adjust(5);
    await waitFor(() => seen.length === 3, 5000, 'the watched query after the second change');
    expect(seen).toEqual([start, start - 2, start + 3]);
    expect(requests.length - httpBefore).toBe(2);
  });
});

describe('Apollo Client (HttpLink + GraphQLWsLink) with InMemoryCache', () => {
  function apollo(user: TestUser) {
    const ws: WsClient = createWsClient({ url: shop().wsUrl, webSocketImpl: WebSocket, connectionParams: { authToken: user.token } });
    const link = ApolloLink.split(
      ({ query }) => {
        const def = getMainDefinition(query);
        return def.kind === 'OperationDefinition' && def.operation === 'subscription';
      },
      new GraphQLWsLink(ws),
      new HttpLink({ uri: `${shop().url}/graphql`, headers: { authorization: `Bearer ${user.token}` } }),
    );
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    defer(() => {
      client.stop();
      return ws.dispose();
    });
    return client;
  }

  const ORDER = gql`query Order($id: ID!) { order(id: $id) { id orderNumber status statusHistory { status } } }`;
  const CART = gql`query Cart { cart { id itemCount subtotal } }`;
  const STATUS_SUB = gql`subscription OrderStatus { orderStatusUpdate { orderId status order { id status statusHistory { status } } } }`;
  const CART_SUB = gql`subscription CartUpdated { cartUpdated { action cart { id itemCount subtotal } } }`;

  it('keeps the cached order and cart in step with the subscription events, without refetching', async () => {
    const client = apollo(alice);
    await gqlOk(shop().url, 'mutation { clearCart { id } }', {}, alice.token);
    const add = await client.mutate({
      mutation: gql`mutation Add($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 2) { id itemCount subtotal } }`,
      variables: { p: productId, v: black9 },
    });
    expect(add.data).toMatchObject({ addToCart: { itemCount: 2, subtotal: 200 } });
    const placed = await client.mutate<{ checkout: { id: string; status: string } }>({
      mutation: gql`mutation Checkout($input: CheckoutInput!) { checkout(input: $input) { id status } }`,
      variables: { input: { shippingAddress: address } },
    });
    const orderId = placed.data!.checkout.id;
    const first = await client.query<{ order: { status: string } }>({ query: ORDER, variables: { id: orderId } });
    expect(first.data?.order.status).toBe('pending');
    await client.query({ query: CART });
    expect(client.readQuery<{ cart: { itemCount: number } }>({ query: CART })?.cart.itemCount).toBe(0);

    const members = shop().app.fanout.stats().members;
    const statusEvents: unknown[] = [];
    const cartEvents: unknown[] = [];
    const subs = [
      client.subscribe({ query: STATUS_SUB }).subscribe({ next: (r) => statusEvents.push(r.data) }),
      client.subscribe({ query: CART_SUB }).subscribe({ next: (r) => cartEvents.push(r.data) }),
    ];
    defer(() => subs.forEach((s) => s.unsubscribe()));
    await waitFor(() => shop().app.fanout.stats().members === members + 2, 5000, 'both subscriptions registered');

    const cached = () => client.cache.readFragment<{ status: string; statusHistory: Array<{ status: string }> }>({
      id: client.cache.identify({ __typename: 'Order', id: orderId }),
      fragment: gql`fragment CachedOrder on Order { status statusHistory { status } }`,
    });
    const httpBefore = requests.length;
    for (const [i, status] of (['confirmed', 'processing'] as const).entries()) {
      await gqlOk(shop().url, 'mutation($id: ID!, $s: OrderStatus!) { updateOrderStatus(orderId: $id, status: $s) { id } }', { id: orderId, s: status }, admin.token);
      await waitFor(() => statusEvents.length === i + 1, 5000, `orderStatusUpdate ${status}`);
      const history = ['pending', 'confirmed', 'processing'].slice(0, i + 2).map((h) => ({ __typename: 'StatusChange', status: h }));
      expect(cached()).toEqual({ __typename: 'Order', status, statusHistory: history });
      expect(client.readQuery<{ order: { status: string } }>({ query: ORDER, variables: { id: orderId } })?.order.status).toBe(status);
    }

    // A cart change made elsewhere (another tab: a plain HTTP client) reaches the cached cart.
    await gqlOk(shop().url, 'mutation($p: ID!, $v: VariantInput!) { addToCart(productId: $p, variant: $v, quantity: 3) { id } }', { p: productId, v: black9 }, alice.token);
    await waitFor(() => cartEvents.length === 1, 5000, 'cartUpdated');
    expect(client.readQuery<{ cart: { itemCount: number; subtotal: number } }>({ query: CART })?.cart).toMatchObject({ itemCount: 3, subtotal: 300 });
    // The cache followed the events by itself: the only HTTP requests meanwhile are the test's three
    // mutations, none from Apollo Client.
    expect(requests.length - httpBefore).toBe(3);
  });

  it('keeps the cached variant stock in step with inventoryUpdate and productStockUpdate', async () => {
    const client = apollo(alice);
    const PRODUCT = gql`query Product($id: ID!) { product(id: $id) { id variants { id stock inStock } } }`;
    const first = await client.query<{ product: { variants: Array<{ id: string; stock: number }> } }>({ query: PRODUCT, variables: { id: productId } });
    const variant = first.data!.product.variants[0];
    const members = shop().app.fanout.stats().members;
    const got: unknown[] = [];
    const subs = [
      client.subscribe({ query: gql`subscription Inventory { inventoryUpdate { stockChange productVariant { id stock inStock } } }` }).subscribe({ next: (r) => got.push(r.data) }),
      client.subscribe({ query: gql`subscription Stock($id: ID!) { productStockUpdate(productId: $id) { stock productVariant { id stock inStock } } }`, variables: { id: productId } }).subscribe({ next: (r) => got.push(r.data) }),
    ];
    defer(() => subs.forEach((x) => x.unsubscribe()));
    await waitFor(() => shop().app.fanout.stats().members === members + 2, 5000, 'both subscriptions registered');
    const cached = () => client.cache.readFragment<{ stock: number; inStock: boolean }>({
      id: client.cache.identify({ __typename: 'ProductVariant', id: variant.id }),
      fragment: gql`fragment CachedVariant on ProductVariant { stock inStock }`,
    });
    const httpBefore = requests.length;
    await adjust(-3);
    await waitFor(() => got.length === 2, 5000, 'both stock events');
    expect(cached()).toEqual({ __typename: 'ProductVariant', stock: variant.stock - 3, inStock: true });
    await adjust(-(variant.stock - 3));
    await waitFor(() => got.length === 4, 5000, 'both stock events again');
    expect(cached()).toEqual({ __typename: 'ProductVariant', stock: 0, inStock: false });
    const again = client.readQuery<{ product: { variants: Array<{ stock: number }> } }>({ query: PRODUCT, variables: { id: productId } });
    expect(again?.product.variants[0].stock).toBe(0);
    await adjust(variant.stock);
    await waitFor(() => got.length === 6, 5000, 'restocked');
    expect(requests.length - httpBefore).toBe(3);
  });
});

/** Changes the test product's stock (9/black) by `delta`, as an admin over plain HTTP. */
async function adjust(delta: number): Promise<void> {
  await gqlOk(shop().url, 'mutation($id: ID!, $d: Int!) { adjustStock(productId: $id, variant: { size: "9", color: "black" }, delta: $d) { id } }', { id: productId, d: delta }, admin.token);
}
