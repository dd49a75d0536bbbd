import { Migration } from '@mikro-orm/migrations';

/**
 * The cart and checkout hot path as database functions: one round trip per cart change and per
 * checkout instead of 7 and 10 (the SQL client was half of the server's CPU per order).
 *
 * The services still own each operation (validation, messages, events after commit); these functions
 * are their transactions. An expected refusal is raised with a SQLSTATE of class `SH` (one per reason,
 * see src/db/shop-sql.ts) and a JSON object as DETAIL, so the whole statement rolls back and the
 * service builds the client's error from the detail.
 *
 * These are the first versions. The functions now live in src/db/functions, one file each, and are
 * applied after the migrations when their text changes (src/db/functions.ts).
 */
export class Migration20261127030000_hot_path_functions extends Migration {

  override async up(): Promise<void> {
    // The discounted unit price in cents, rounded half up: the same rule as `discounted()` in
    // src/services/context.ts (cents are positive, so half-away-from-zero = Math.round).
    this.addSql(`create or replace function shop_discounted(p_cents int, p_percent int) returns int
      language sql immutable parallel safe
      as $$ select round(p_cents * (100 - p_percent) / 100.0)::int $$;`);

    // The active flash-sale discount of a product (the best one when several overlap), 0 without.
    this.addSql(`create or replace function shop_discount(p_product uuid) returns int
      language sql stable parallel safe
      as $$ select coalesce((select max(fs.discount_percentage) from flash_sale_products fsp
                                join flash_sales fs on fs.id = fsp.flash_sale_id
                               where fsp.product_id = p_product and fs.state = 'active'), 0)::int $$;`);

    // The only code that changes stock. p_deltas: [{variant_id, delta}] (merged per variant). Each
    // change is one conditional UPDATE, taken in variant-id order so concurrent multi-variant
    // checkouts cannot deadlock; CHECK (stock >= 0) is the backstop. Returns the changes, or raises
    // INSUFFICIENT_STOCK naming every short variant (nothing changes).
    this.addSql(`create or replace function shop_apply_stock(p_deltas jsonb) returns jsonb
      language plpgsql
      as $$
      declare
        d record;
        r record;
        v_changes jsonb := '[]';
        v_short jsonb := '[]';
      begin
        for d in
          select x.variant_id, sum(x.delta)::int as delta
            from jsonb_to_recordset(p_deltas) as x(variant_id uuid, delta int)
           group by x.variant_id
          having sum(x.delta) <> 0
           order by x.variant_id
        loop
          update product_variants v set stock = v.stock + d.delta
            from products p
           where v.id = d.variant_id and p.id = v.product_id and v.stock + d.delta >= 0
          returning v.id, v.product_id, v.size, v.color, v.stock, p.name, p.low_stock_threshold into r;
          if found then
            v_changes := v_changes || jsonb_build_object('variantId', r.id, 'productId', r.product_id, 'productName', r.name,
              'size', r.size, 'color', r.color, 'after', r.stock, 'delta', d.delta, 'lowStockThreshold', r.low_stock_threshold);
          else
            v_short := v_short || jsonb_build_object('variant_id', d.variant_id, 'delta', d.delta);
          end if;
        end loop;
        if jsonb_array_length(v_short) > 0 then
          select jsonb_agg(jsonb_build_object('variantId', s.variant_id, 'productId', coalesce(v.product_id::text, ''),
                   'productName', coalesce(p.name, ''), 'size', coalesce(v.size, ''), 'color', coalesce(v.color, ''),
                   'requested', -s.delta, 'available', coalesce(v.stock, 0)) order by s.variant_id)
            into v_short
            from jsonb_to_recordset(v_short) as s(variant_id uuid, delta int)
            left join product_variants v on v.id = s.variant_id
            left join products p on p.id = v.product_id;
          raise exception using errcode = 'SH001', message = 'INSUFFICIENT_STOCK', detail = jsonb_build_object('variants', v_short)::text;
        end if;
        return v_changes;
      end $$;`);

    // A user's cart as clients see it, before money formatting (CartService turns it into a CartView).
    this.addSql(`create or replace function shop_cart_view(p_user uuid) returns jsonb
      language sql
      as $$
        select jsonb_build_object('id', c.id, 'updatedAt', c.updated_at, 'items', coalesce((
                 select jsonb_agg(jsonb_build_object('productId', p.id, 'productName', p.name, 'size', v.size, 'color', v.color,
                          'sku', v.sku, 'quantity', i.quantity, 'priceCents', p.price_cents, 'discount', shop_discount(p.id),
                          'stock', v.stock) order by i.added_at, i.id)
                   from cart_items i join product_variants v on v.id = i.variant_id join products p on p.id = v.product_id
                  where i.cart_id = c.id), '[]'::jsonb))
          from carts c where c.user_id = p_user $$;`);

    // Cart changes, all or nothing: the cart row is locked (created on first use), so one user's
    // changes and checkouts apply one at a time. p_ops: [{index, action: add|set|remove|clear,
    // product_id, size, color, quantity}] in order. Every added/set line must fit p_max and the stock.
    // Returns {changed, cart}.
    this.addSql(`create or replace function shop_cart_apply(p_user uuid, p_ops jsonb, p_max int) returns jsonb
      language plpgsql
      as $$
      declare
        v_cart uuid;
        op record;
        v_variant uuid;
        v_name text;
        v_touched uuid[] := '{}';
        v_changed boolean := false;
        v_bad record;
        v_short jsonb;
      begin
        loop
          update carts set updated_at = now() where user_id = p_user returning id into v_cart;
          exit when found;
          insert into carts (id, user_id, updated_at) values (gen_random_uuid(), p_user, now()) on conflict (user_id) do nothing;
        end loop;
        for op in select * from jsonb_to_recordset(p_ops) as x("index" int, action text, product_id uuid, size text, color text, quantity int) loop
          if op.action = 'clear' then
            delete from cart_items where cart_id = v_cart;
            v_changed := v_changed or found;
            continue;
          end if;
          select v.id into v_variant from product_variants v
           where v.product_id = op.product_id and v.size = op.size and v.color = op.color;
          if not found then
            select p.name into v_name from products p where p.id = op.product_id;
            raise exception using errcode = 'SH002', message = 'NOT_FOUND', detail = jsonb_build_object('index', op."index",
              'productId', op.product_id, 'productName', v_name, 'size', op.size, 'color', op.color)::text;
          end if;
          if op.action = 'remove' or (op.action = 'set' and op.quantity = 0) then
            delete from cart_items where cart_id = v_cart and variant_id = v_variant;
            v_changed := v_changed or found;
          else
            insert into cart_items (id, cart_id, variant_id, quantity, added_at)
            values (gen_random_uuid(), v_cart, v_variant, op.quantity, clock_timestamp())
            on conflict (cart_id, variant_id) do update
              set quantity = case when op.action = 'add' then cart_items.quantity + excluded.quantity else excluded.quantity end;
            v_changed := true;
            v_touched := v_touched || v_variant;
          end if;
        end loop;
        if cardinality(v_touched) > 0 then
          select i.quantity, v.size, v.color, p.name into v_bad
            from cart_items i join product_variants v on v.id = i.variant_id join products p on p.id = v.product_id
           where i.cart_id = v_cart and i.variant_id = any(v_touched) and i.quantity > p_max
           order by i.added_at, i.id limit 1;
          if found then
            raise exception using errcode = 'SH003', message = 'OVER_LINE_MAXIMUM', detail = jsonb_build_object('productName', v_bad.name,
              'size', v_bad.size, 'color', v_bad.color, 'quantity', v_bad.quantity, 'max', p_max)::text;
          end if;
          select jsonb_agg(jsonb_build_object('variantId', v.id, 'productId', v.product_id, 'productName', p.name, 'size', v.size,
                   'color', v.color, 'requested', i.quantity, 'available', v.stock) order by i.added_at, i.id)
            into v_short
            from cart_items i join product_variants v on v.id = i.variant_id join products p on p.id = v.product_id
           where i.cart_id = v_cart and i.variant_id = any(v_touched) and i.quantity > v.stock;
          if v_short is not null then
            raise exception using errcode = 'SH001', message = 'INSUFFICIENT_STOCK', detail = jsonb_build_object('variants', v_short)::text;
          end if;
        end if;
        return jsonb_build_object('changed', v_changed, 'cart', shop_cart_view(p_user));
      end $$;`);

    // Checkout, all or nothing: the same (user, key) replays the first order (retries on any
    // instance queue on an advisory lock until the first commits; the unique (user_id,
    // idempotency_key) is the backstop); the cart is locked, its lines priced with the active
    // flash-sale discount and snapshotted, the stock taken, the cart emptied. Returns {replay} or the
    // new order with its lines, stock changes and the emptied cart's id and time.
    this.addSql(`create or replace function shop_checkout(p_user uuid, p_key text, p_address jsonb, p_at timestamptz) returns jsonb
      language plpgsql
      as $$
      declare
        v_order uuid;
        v_number text;
        v_cart record;
        v_lines jsonb;
        v_changes jsonb;
        v_total int;
        v_count int;
      begin
        if p_key is not null then
          perform pg_advisory_xact_lock(hashtext('checkout:' || p_user || ':' || p_key));
          select id into v_order from orders where user_id = p_user and idempotency_key = p_key;
          if found then
            return jsonb_build_object('replay', v_order);
          end if;
        end if;
        update carts set updated_at = now() where user_id = p_user returning id, updated_at into v_cart;
        if not found then
          raise exception using errcode = 'SH004', message = 'EMPTY_CART', detail = '{}';
        end if;
        select jsonb_agg(jsonb_build_object('position', s.position, 'variant_id', s.variant_id, 'product_id', s.product_id,
                 'product_name', s.name, 'size', s.size, 'color', s.color, 'sku', s.sku, 'quantity', s.quantity,
                 'unit_price_cents', shop_discounted(s.price_cents, shop_discount(s.product_id))) order by s.position)
          into v_lines
          from (select i.variant_id, i.quantity, v.product_id, p.name, v.size, v.color, v.sku, p.price_cents,
                       (row_number() over (order by i.added_at, i.id) - 1)::int as position
                  from cart_items i join product_variants v on v.id = i.variant_id join products p on p.id = v.product_id
                 where i.cart_id = v_cart.id) s;
        if v_lines is null then
          raise exception using errcode = 'SH004', message = 'EMPTY_CART', detail = '{}';
        end if;
        v_changes := shop_apply_stock((select jsonb_agg(jsonb_build_object('variant_id', l->'variant_id', 'delta', -(l->>'quantity')::int))
                                         from jsonb_array_elements(v_lines) l));
        select sum((l->>'unit_price_cents')::int * (l->>'quantity')::int), sum((l->>'quantity')::int)
          into v_total, v_count
          from jsonb_array_elements(v_lines) l;
        insert into orders (id, order_number, user_id, status, total_cents, item_count, shipping_address, idempotency_key, created_at, updated_at)
        values (gen_random_uuid(), 'ORD-' || to_char(p_at at time zone 'UTC', 'YYYY') || '-' || lpad(nextval('order_number_seq')::text, 6, '0'),
                p_user, 'pending', v_total, v_count, p_address, p_key, p_at, p_at)
        returning id, order_number into v_order, v_number;
        insert into order_items (id, order_id, position, product_id, variant_id, product_name, size, color, sku, unit_price_cents, quantity)
        select gen_random_uuid(), v_order, l.position, l.product_id, l.variant_id, l.product_name, l.size, l.color, l.sku, l.unit_price_cents, l.quantity
          from jsonb_to_recordset(v_lines) as l(position int, product_id uuid, variant_id uuid, product_name text, size text,
               color text, sku text, unit_price_cents int, quantity int);
        insert into order_status_history (order_id, status, note, at) values (v_order, 'pending', 'Order placed', p_at);
        delete from cart_items where cart_id = v_cart.id;
        return jsonb_build_object('id', v_order, 'orderNumber', v_number, 'totalCents', v_total, 'itemCount', v_count,
          'lines', v_lines, 'changes', v_changes, 'cartId', v_cart.id, 'cartUpdatedAt', v_cart.updated_at);
      end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop function if exists shop_checkout(uuid, text, jsonb, timestamptz);');
    this.addSql('drop function if exists shop_cart_apply(uuid, jsonb, int);');
    this.addSql('drop function if exists shop_cart_view(uuid);');
    this.addSql('drop function if exists shop_apply_stock(jsonb);');
    this.addSql('drop function if exists shop_discount(uuid);');
    this.addSql('drop function if exists shop_discounted(int, int);');
  }
}
