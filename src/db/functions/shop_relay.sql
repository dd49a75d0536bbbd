-- Moves relayed facts into the event log in one statement (the relay, src/events/event-log.ts).
-- Under the relay's lock p_lock (transaction-scoped: held until this statement commits), deletes the
-- facts p_facts and writes p_events ([{name, payload, route, trace}], in order) at the next
-- positions, then wakes the readers (NOTIFY shop_events). Returns the last position issued, or,
-- changing nothing: null when another relay holds the lock; -2 when another relay has taken any of
-- p_facts since they were read or handed over. Only the relay deletes facts, and only under this
-- lock, so what the checks see stays true.
-- p_handed: the facts were handed over by the instance that committed them, not read from the
-- outbox; then -1 when a committed fact older than them is still there: a change that waited for
-- an earlier one's commit records its fact after that one's, so the earlier fact goes first (the
-- caller reads the outbox instead).
drop function if exists shop_relay(bigint, bigint[], jsonb);
create or replace function shop_relay(p_lock bigint, p_facts bigint[], p_events jsonb, p_handed boolean default false) returns bigint
language plpgsql
as $$
declare
  v_n int := jsonb_array_length(p_events);
  v_last bigint;
begin
  if not pg_try_advisory_xact_lock(p_lock) then
    return null;
  end if;
  if (select count(*) from shop_outbox where id = any(p_facts)) <> cardinality(p_facts) then
    return -2;
  end if;
  if p_handed and exists (select 1 from shop_outbox where id < (select max(f) from unnest(p_facts) f) and id <> all(p_facts)) then
    return -1;
  end if;
  delete from shop_outbox where id = any(p_facts);
  if v_n = 0 then
    select last_id into v_last from shop_event_state;
    return v_last;
  end if;
  update shop_event_state set last_id = last_id + v_n returning last_id into v_last;
  insert into shop_events (id, name, payload, route, trace)
    select v_last - v_n + x.ord, x.name, x.payload, x.route, x.trace
      from rows from (jsonb_to_recordset(p_events) as (name text, payload jsonb, route jsonb, trace text))
           with ordinality as x(name, payload, route, trace, ord);
  perform pg_notify('shop_events', v_last::text);
  return v_last;
end $$;
