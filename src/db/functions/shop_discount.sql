-- The discount of a product now: the largest among the active flash sales that include it (sales
-- may overlap), 0 without one. p_excluding leaves sales out: a sale's start, end or edit compares
-- the price with and without it.
drop function if exists shop_discount(uuid);
create or replace function shop_discount(p_product uuid, p_excluding uuid[] default '{}') returns int
language sql stable parallel safe
as $$ select coalesce((select max(fs.discount_percentage) from flash_sale_products fsp
                          join flash_sales fs on fs.id = fsp.flash_sale_id
                         where fsp.product_id = p_product and fs.state = 'active' and fs.id <> all(p_excluding)), 0)::int $$;
