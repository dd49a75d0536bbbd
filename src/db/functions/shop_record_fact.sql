-- Records a fact for the event log, in the caller's transaction (src/events/outbox.ts).
-- p_fact = {kind, trace, with}: the fact is p_fact.with, merged with the object p_fields when given.
create or replace function shop_record_fact(p_fact jsonb, p_fields jsonb) returns void
language sql
as $$ insert into shop_outbox (kind, fact, trace, created_at)
      values (p_fact->>'kind',
              case when p_fields is null then p_fact->'with' else coalesce(p_fact->'with', '{}'::jsonb) || p_fields end,
              p_fact->>'trace', clock_timestamp()) $$;
