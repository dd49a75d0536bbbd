import { Migration } from '@mikro-orm/migrations';

/**
 * Sessions: revoked tokens (what `logout` records, kept until the token would have expired anyway)
 * and deleted accounts (soft-deleted and anonymised: their orders stay, see the README).
 */
export class Migration20261203070000_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "revoked_tokens" ("token_id" text not null, "user_id" uuid not null, "expires_at" timestamptz not null, "revoked_at" timestamptz not null, constraint "revoked_tokens_pkey" primary key ("token_id"));`);
    this.addSql(`create index "revoked_tokens_expires_at_index" on "revoked_tokens" ("expires_at");`);
    this.addSql(`alter table "users" add column "deleted_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "revoked_tokens";`);
    this.addSql(`alter table "users" drop column if exists "deleted_at";`);
  }
}
