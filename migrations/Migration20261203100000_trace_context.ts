import { Migration } from '@mikro-orm/migrations';

/**
 * Tracing: the W3C `traceparent` of the change that recorded a fact, and of the publish that gave
 * an event its position (null when tracing is off), so one trace runs from a mutation to the
 * delivery of its events on every instance (src/tracing.ts).
 */
export class Migration20261203100000_trace_context extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "shop_outbox" add column "trace" text null;`);
    this.addSql(`alter table "shop_events" add column "trace" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "shop_outbox" drop column if exists "trace";`);
    this.addSql(`alter table "shop_events" drop column if exists "trace";`);
  }
}
