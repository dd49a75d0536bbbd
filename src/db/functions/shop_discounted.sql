-- The discounted unit price in cents, rounded half up: the same rule as `discounted()` in
-- src/services/context.ts (cents are positive, so half-away-from-zero = Math.round).
create or replace function shop_discounted(p_cents int, p_percent int) returns int
language sql immutable parallel safe
as $$ select round(p_cents * (100 - p_percent) / 100.0)::int $$;
