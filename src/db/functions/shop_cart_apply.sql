-- Cart changes, all or nothing: the cart row is locked (created on first use), so one user's
-- changes and checkouts apply one at a time. p_ops: [{index, action: add|set|remove|clear,
-- product_id, size, color, quantity}] in order. Every added/set line must fit p_max and the stock.
-- Returns {changed, cart}; records it for its events (shop_record_fact) when it changed something,
-- or always when p_fact.always, and then adds the recorded fact to the result as `fact`.
drop function if exists shop_cart_apply(uuid, jsonb, int);
create or replace function shop_cart_apply(p_user uuid, p_ops jsonb, p_max int, p_fact jsonb) returns jsonb
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
  v_result jsonb;
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
  v_result := jsonb_build_object('changed', v_changed, 'cart', shop_cart_view(p_user));
  if v_changed or (p_fact->>'always')::boolean then
    v_result := v_result || jsonb_build_object('fact', shop_record_fact(p_fact, jsonb_build_object('r', v_result)));
  end if;
  return v_result;
end $$;
