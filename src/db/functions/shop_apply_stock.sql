-- The only code that changes stock. p_deltas: [{variant_id, delta}] (merged per variant). Each
-- change is one conditional UPDATE, taken in variant-id order so concurrent multi-variant
-- checkouts cannot deadlock; CHECK (stock >= 0) is the backstop. Returns the changes, or raises
-- INSUFFICIENT_STOCK naming every short variant (nothing changes).
create or replace function shop_apply_stock(p_deltas jsonb) returns jsonb
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
end $$;
