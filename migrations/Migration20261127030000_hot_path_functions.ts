import { Migration } from '@mikro-orm/migrations';

/**
 * The cart and checkout hot path as database functions: one round trip per cart change and per
 * checkout instead of 7 and 10 (the SQL client was half of the server's CPU per order).
 *
 * This migration first created them with their bodies written here. They now live in
 * src/db/functions, one file each, applied after the migrations whenever a file's text changes
 * (src/db/functions.ts), so the step creates them on a new database and this migration has nothing
 * left to do. (A database that ran it before keeps what it created until the step replaces it.)
 */
export class Migration20261127030000_hot_path_functions extends Migration {

  override async up(): Promise<void> {
    // Nothing: see above.
  }

  override async down(): Promise<void> {
    this.addSql('drop function if exists shop_checkout(uuid, text, jsonb, timestamptz);');
    this.addSql('drop function if exists shop_cart_apply(uuid, jsonb, int);');
    this.addSql('drop function if exists shop_cart_view(uuid);');
    this.addSql('drop function if exists shop_apply_stock(jsonb);');
    this.addSql('drop function if exists shop_discount(uuid);');
    this.addSql('drop function if exists shop_discounted(int, int);');
  }
}
