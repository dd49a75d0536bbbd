import { Client } from 'pg';
import { createTestDatabase } from '../support/shop';

/**
 * `shop_relay` (src/db/functions/shop_relay.sql), called as the relay calls it, on a database no
 * shop instance runs on: what it answers for handed facts, taken facts and a held lock, and that a
 * refusal changes nothing.
 */
describe('shop_relay', () => {
  const LOCK = 1234567;
  let db: Client;
  let other: Client;

  beforeAll(async () => {
    const url = await createTestDatabase();
    db = new Client({ connectionString: url });
    other = new Client({ connectionString: url });
    await Promise.all([db.connect(), other.connect()]);
  });
  afterAll(async () => {
    await Promise.all([db?.end(), other?.end()]);
  });

  /** Records a fact as the services do; its id. */
  const fact = async (n: number) => {
    const r = await db.query<{ f: { id: number } }>(`select shop_record_fact($1::jsonb, null) as f`, [JSON.stringify({ kind: 'test', trace: null, with: { n } })]);
    return r.rows[0].f.id;
  };
  const event = (n: number) => ({ name: 'test_event', payload: { n }, route: {}, trace: null });
  const relay = async (ids: number[], events: unknown[], handed: boolean) =>
    (await db.query<{ last: string | null }>('select shop_relay($1, $2::bigint[], $3::jsonb, $4) as last', [LOCK, `{${ids.join(',')}}`, JSON.stringify(events), handed])).rows[0].last;
  const state = async () => ({
    outbox: (await db.query<{ id: string }>('select id from shop_outbox order by id')).rows.map((r) => Number(r.id)),
    last: Number((await db.query<{ last_id: string }>('select last_id from shop_event_state')).rows[0].last_id),
  });

  it('returns the recorded row from shop_record_fact', async () => {
    const r = await db.query(`select shop_record_fact($1::jsonb, '{"b": 2}'::jsonb) as f`, [JSON.stringify({ kind: 'test', trace: 't', with: { a: 1 } })]);
    expect(r.rows[0].f).toEqual({ id: expect.any(Number), kind: 'test', fact: { a: 1, b: 2 }, trace: 't', at: expect.any(String) });
    await db.query('delete from shop_outbox');
  });

  it('refuses handed facts (-1) while an older committed fact waits, and takes them with it', async () => {
    const older = await fact(1);
    const mine = await fact(2);
    const before = await state();
    expect(await relay([mine], [event(2)], true)).toBe('-1');
    expect(await state()).toEqual(before);
    // Read from the outbox (not handed), the same facts go through, in order.
    expect(Number(await relay([older, mine], [event(1), event(2)], false))).toBe(before.last + 2);
    expect((await state()).outbox).toEqual([]);
  });

  it('takes handed facts when nothing older waits', async () => {
    const mine = await fact(3);
    const { last } = await state();
    expect(Number(await relay([mine], [event(3)], true))).toBe(last + 1);
    const row = await db.query('select name, payload from shop_events where id = $1', [last + 1]);
    expect(row.rows[0]).toEqual({ name: 'test_event', payload: { n: 3 } });
  });

  it('answers -2 for facts another relay took, null while another holds the lock; neither changes anything', async () => {
    const gone = await fact(4);
    expect(Number(await relay([gone], [event(4)], false))).toBeGreaterThan(0);
    const next = await fact(5);
    const before = await state();
    expect(await relay([gone, next], [event(4), event(5)], false)).toBe('-2');
    expect(await relay([gone], [event(4)], true)).toBe('-2');
    await other.query('begin');
    await other.query('select pg_advisory_xact_lock($1)', [LOCK]);
    try {
      expect(await relay([next], [event(5)], true)).toBeNull();
    } finally {
      await other.query('rollback');
    }
    expect(await state()).toEqual(before);
  });
});
