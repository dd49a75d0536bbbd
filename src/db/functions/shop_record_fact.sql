-- Records a fact for the event log, in the caller's transaction (src/events/outbox.ts).
-- p_fact = {kind, trace, with}: the fact is p_fact.with, merged with the object p_fields when given.
-- Returns the recorded row ({id, kind, fact, trace, at}): the caller hands it to its relay once the
-- transaction has committed, which then need not read it back.
drop function if exists shop_record_fact(jsonb, jsonb);
create function shop_record_fact(p_fact jsonb, p_fields jsonb) returns jsonb
language sql
as $$ insert into shop_outbox (kind, fact, trace, created_at)
      values (p_fact->>'kind',
              case when p_fields is null then p_fact->'with' else coalesce(p_fact->'with', '{}'::jsonb) || p_fields end,
              p_fact->>'trace', clock_timestamp())
      returning jsonb_build_object('id', id, 'kind', kind, 'fact', fact, 'trace', trace, 'at', created_at) $$;
