import { Migration } from '@mikro-orm/migrations';

/**
 * `shop_events.created_at` is read only by the retention's pruning (src/events/event-log.ts), and it
 * grows with the position (the relay writes one batch at a time). A BRIN index serves that range
 * delete and costs a fraction of a btree entry per event on the relay's insert.
 */
export class Migration20261203200000_event_log_brin extends Migration {

  override async up(): Promise<void> {
    this.addSql(`drop index if exists "shop_events_created_at_index";`);
    this.addSql(`create index "shop_events_created_at_brin" on "shop_events" using brin ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "shop_events_created_at_brin";`);
    this.addSql(`create index "shop_events_created_at_index" on "shop_events" ("created_at");`);
  }
}
