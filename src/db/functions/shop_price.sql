-- Replaces shop_discounted (the rounding alone) of the first migration.
drop function if exists shop_discounted(int, int);
-- The effective price of a product in cents: p_cents (its base price, or a price it is about to
-- have) less shop_discount, rounded to the cent, halves up. The one definition of a price the shop
-- charges or shows: catalogue, carts, wishlists, checkout and price-drop alerts all read it.
create or replace function shop_price(p_product uuid, p_cents int, p_excluding uuid[] default '{}') returns int
language sql stable parallel safe
as $$ select round(p_cents * (100 - shop_discount(p_product, p_excluding)) / 100.0)::int $$;
