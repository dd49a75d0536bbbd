-- A user's cart as clients see it, before money formatting (CartService turns it into a CartView).
create or replace function shop_cart_view(p_user uuid) returns jsonb
language sql
as $$
  select jsonb_build_object('id', c.id, 'updatedAt', c.updated_at, 'items', coalesce((
           select jsonb_agg(jsonb_build_object('productId', p.id, 'productName', p.name, 'size', v.size, 'color', v.color,
                    'sku', v.sku, 'quantity', i.quantity, 'unitPriceCents', shop_price(p.id, p.price_cents),
                    'stock', v.stock) order by i.added_at, i.id)
             from cart_items i join product_variants v on v.id = i.variant_id join products p on p.id = v.product_id
            where i.cart_id = c.id), '[]'::jsonb))
    from carts c where c.user_id = p_user $$;
