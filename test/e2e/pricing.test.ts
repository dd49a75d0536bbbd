import { Client } from 'pg';
import { collect, gqlOk, sleep, waitFor, wsClient } from '../support/clients';
import { makeAdmin, makeProduct, makeUser } from '../support/fixtures';
import { startTestShop } from '../support/shop';

/**
 * The effective price has one definition (src/db/functions/shop_price.sql). One product under
 * overlapping flash sales must cost the same cent wherever the shop shows or charges it: the
 * catalogue, the cart, the wishlist, the order a checkout makes, and the price-drop alert.
 */
describe('the effective price', () => {
  it('rounds to the cent, halves up (15 cents less 50 % is 8)', async () => {
    const db = new Client({ connectionString: process.env.TEST_TEMPLATE_DATABASE_URL });
    await db.connect();
    try {
      // A product id with no sale: only the base price and the rounding count.
      const { rows } = await db.query(`select shop_price(gen_random_uuid(), 15) as full, round(15 * 50 / 100.0)::int as half`);
      expect(rows[0]).toEqual({ full: 15, half: 8 });
    } finally {
      await db.end();
    }
  });

  it('is the same through product, cart, wishlist, checkout and price_drop_alert under overlapping sales', async () => {
    const shop = await startTestShop();
    try {
      const admin = await makeAdmin(shop);
      const buyer = await makeUser(shop);
      // 10.10 less 25 % = 7.575: the half cent rounds up to 7.58; less 15 % = 8.585 → 8.59.
      const product = await makeProduct(shop, [{ size: '42', color: 'red', stock: 5 }], { price: 10.1 });
      await gqlOk(shop.url, 'mutation($p: ID!) { addToWishlist(productId: $p) { itemCount } }', { p: product.id }, buyer.token);
      await gqlOk(shop.url, 'mutation($p: ID!) { addToCart(productId: $p, variant: { size: "42", color: "red" }, quantity: 2) { itemCount } }', { p: product.id }, buyer.token);
      const buyerWs = wsClient(shop.wsUrl, buyer.token);
      const drops = collect(buyerWs, 'subscription { priceDropAlert { productId oldPrice newPrice } }');
      await sleep(300);

      const sale = async (discountPercentage: number) => (await gqlOk<{ createFlashSale: { id: string } }>(shop.url,
        'mutation($input: CreateFlashSaleInput!) { createFlashSale(input: $input) { id state } }', {
          input: { name: `Sale ${discountPercentage}`, discountPercentage, productIds: [product.id], startTime: new Date().toISOString(), endTime: new Date(Date.now() + 3_600_000).toISOString() },
        }, admin.token)).createFlashSale.id;
      await sale(15);
      // A bigger sale that has ended no longer counts.
      const ended = await sale(50);
      await gqlOk(shop.url, 'mutation($id: ID!) { endFlashSale(id: $id) { state } }', { id: ended }, admin.token);
      await sale(25);

      await waitFor(() => drops.events.length === 3, 5000, 'three price drops');
      expect(drops.events.map((e) => [e.priceDropAlert.oldPrice, e.priceDropAlert.newPrice])).toEqual([[10.1, 8.59], [8.59, 5.05], [8.59, 7.58]]);

      const { product: shown } = await gqlOk(shop.url, 'query($id: ID!) { product(id: $id) { price basePrice discountPercentage } }', { id: product.id });
      expect(shown).toEqual({ price: 7.58, basePrice: 10.1, discountPercentage: 25 });
      const { products } = await gqlOk(shop.url, 'query { products(filter: { minPrice: 7.58, maxPrice: 7.58 }) { edges { node { id price } } } }');
      expect(products.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([product.id]);
      const { cart } = await gqlOk(shop.url, 'query { cart { subtotal items { unitPrice lineTotal } } }', {}, buyer.token);
      expect(cart).toEqual({ subtotal: 15.16, items: [{ unitPrice: 7.58, lineTotal: 15.16 }] });
      const { wishlist } = await gqlOk(shop.url, 'query { wishlist { items { price } } }', {}, buyer.token);
      expect(wishlist.items).toEqual([{ price: 7.58 }]);
      const { checkout } = await gqlOk(shop.url, `mutation { checkout(input: { shippingAddress: { name: "B", line1: "1 St", city: "C", postalCode: "1", country: "NL" } }) {
        totalAmount status statusHistory { status note } items { unitPrice lineTotal } } }`, {}, buyer.token);
      expect(checkout).toEqual({ totalAmount: 15.16, status: 'pending', statusHistory: [{ status: 'pending', note: 'Order placed' }], items: [{ unitPrice: 7.58, lineTotal: 15.16 }] });
      await buyerWs.dispose();
    } finally {
      await shop.close();
    }
  }, 30_000);
});
