import type { EntityManager } from '@mikro-orm/postgresql';
import type { CartView } from '../events/payloads/common.payload';
import { discounted, toMoney, type ServiceDeps } from './context';

interface CartRow {
  cart_id: string | null;
  updated_at: Date | null;
  product_id: string | null;
  product_name: string | null;
  size: string | null;
  color: string | null;
  sku: string | null;
  quantity: number | null;
  price_cents: number | null;
  discount: number | null;
  stock: number | null;
}

/** Carts: one per user, lines per variant. */
export class CartService {
  constructor(private deps: ServiceDeps) {}

  /** The whole cart as clients see it (an empty one when the user has none yet). */
  async getCart(userId: string, em: EntityManager = this.deps.orm.em.fork()): Promise<CartView> {
    await this.ensureCart(em, userId);
    const rows = await em.execute<CartRow[]>(
      `select c.id as cart_id, c.updated_at, p.id as product_id, p.name as product_name, v.size, v.color, v.sku,
              i.quantity, p.price_cents, v.stock,
              coalesce((select max(fs.discount_percentage) from flash_sale_products fsp join flash_sales fs on fs.id = fsp.flash_sale_id
                         where fsp.product_id = p.id and fs.state = 'active'), 0) as discount
         from users u
         left join carts c on c.user_id = u.id
         left join cart_items i on i.cart_id = c.id
         left join product_variants v on v.id = i.variant_id
         left join products p on p.id = v.product_id
        where u.id = ?
        order by i.added_at, i.id`,
      [userId],
    );
    const first = rows[0];
    const items = rows.filter((r) => r.product_id).map((r) => {
      const unit = discounted(Number(r.price_cents), Number(r.discount));
      return {
        productId: String(r.product_id), productName: String(r.product_name),
        variant: { size: String(r.size), color: String(r.color) }, sku: String(r.sku),
        quantity: Number(r.quantity), unitPrice: toMoney(unit), lineTotal: toMoney(unit * Number(r.quantity)),
        available: Number(r.stock),
      };
    });
    const subtotalCents = items.reduce((s, i) => s + Math.round(i.lineTotal * 100), 0);
    return {
      id: String(first?.cart_id),
      userId,
      items,
      itemCount: items.reduce((s, i) => s + i.quantity, 0),
      subtotal: toMoney(subtotalCents),
      updatedAt: new Date(first?.updated_at ?? Date.now()).toISOString(),
    };
  }

  /** The user's cart id, creating the (empty) cart on first use. */
  async ensureCart(em: EntityManager, userId: string): Promise<string> {
    const rows = await em.execute<Array<{ id: string }>>(
      `insert into carts (id, user_id, updated_at) values (gen_random_uuid(), ?, now())
       on conflict (user_id) do update set user_id = excluded.user_id returning id`,
      [userId],
    );
    return String(rows[0].id);
  }
}
