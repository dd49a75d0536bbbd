-- Checkout, all or nothing: the same (user, key) replays the first order (retries on any
-- instance queue on an advisory lock until the first commits; the unique (user_id,
-- idempotency_key) is the backstop); the cart is locked, its lines priced with the active
-- flash-sale discount and snapshotted, the stock taken, the cart emptied. Returns {replay} or the
-- new order with its lines, stock changes and the emptied cart's id and time. The placed order is
-- recorded for its events (shop_record_fact) in the same transaction: p_fact as the caller built it;
-- the recorded fact comes back as the result's `fact`.
drop function if exists shop_checkout(uuid, text, jsonb, timestamptz);
create or replace function shop_checkout(p_user uuid, p_key text, p_address jsonb, p_at timestamptz, p_fact jsonb) returns jsonb
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
  v_result jsonb;
  -- What a new order starts as: the one place this is said.
  v_status constant order_status := 'pending';
  v_note constant text := 'Order placed';
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
           'unit_price_cents', shop_price(s.product_id, s.price_cents)) order by s.position)
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
          p_user, v_status, v_total, v_count, p_address, p_key, p_at, p_at)
  returning id, order_number into v_order, v_number;
  insert into order_items (id, order_id, position, product_id, variant_id, product_name, size, color, sku, unit_price_cents, quantity)
  select gen_random_uuid(), v_order, l.position, l.product_id, l.variant_id, l.product_name, l.size, l.color, l.sku, l.unit_price_cents, l.quantity
    from jsonb_to_recordset(v_lines) as l(position int, product_id uuid, variant_id uuid, product_name text, size text,
         color text, sku text, unit_price_cents int, quantity int);
  insert into order_status_history (order_id, status, note, at) values (v_order, v_status, v_note, p_at);
  delete from cart_items where cart_id = v_cart.id;
  v_result := jsonb_build_object('id', v_order, 'orderNumber', v_number, 'status', v_status, 'note', v_note,
    'totalCents', v_total, 'itemCount', v_count, 'lines', v_lines, 'changes', v_changes, 'cartId', v_cart.id,
    'cartUpdatedAt', v_cart.updated_at);
  -- The fact leaves out the lines: the events name the order, not what it holds.
  return v_result || jsonb_build_object('fact', shop_record_fact(p_fact, jsonb_build_object('placed', v_result - 'lines')));
end $$;
