import { Migration } from '@mikro-orm/migrations';

/**
 * The record of the database functions applied from src/db/functions (src/db/functions.ts): one
 * row per function file, with the checksum of the text that was applied. From here on a function
 * changes by editing its file; no migration copies its body.
 */
export class Migration20261203130000_db_functions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "shop_db_functions" ("name" text primary key, "checksum" text not null, "applied_at" timestamptz not null);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "shop_db_functions";`);
  }
}
