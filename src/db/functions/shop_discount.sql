-- The active flash-sale discount of a product (the best one when several overlap), 0 without.
create or replace function shop_discount(p_product uuid) returns int
language sql stable parallel safe
as $$ select coalesce((select max(fs.discount_percentage) from flash_sale_products fsp
                          join flash_sales fs on fs.id = fsp.flash_sale_id
                         where fsp.product_id = p_product and fs.state = 'active'), 0)::int $$;
