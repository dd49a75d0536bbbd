import { Migration } from '@mikro-orm/migrations';

/**
 * The durable event log (src/events/event-log.ts).
 *
 * - `shop_outbox`: what a committed change raises, written in the change's own transaction (a fact
 *   per change, expanded into catalogue events by the relay). Rows live until the relay takes them.
 * - `shop_events`: the log itself. `id` is the event's position in the shop-wide sequence, handed out
 *   by the relay without gaps, under one lock, in commit order: a reader that has seen position n has
 *   seen every position below n, and nothing that commits later can take a lower one.
 * - `shop_event_state`: one row, the last position issued and the last one pruned by retention.
 */
export class Migration20261203010000_event_log extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "shop_outbox" ("id" bigserial primary key, "kind" text not null, "fact" jsonb not null, "created_at" timestamptz not null default now());`);
    this.addSql(`create table "shop_events" ("id" bigint primary key, "name" text not null, "payload" jsonb not null, "route" jsonb not null, "created_at" timestamptz not null default now());`);
    this.addSql(`create index "shop_events_created_at_index" on "shop_events" ("created_at");`);
    this.addSql(`create table "shop_event_state" ("singleton" boolean primary key default true check ("singleton"), "last_id" bigint not null default 0, "pruned_through" bigint not null default 0);`);
    this.addSql(`insert into "shop_event_state" ("singleton") values (true);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "shop_event_state";`);
    this.addSql(`drop table if exists "shop_events";`);
    this.addSql(`drop table if exists "shop_outbox";`);
  }
}
