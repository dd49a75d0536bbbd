import { Migration } from '@mikro-orm/migrations';

/** The whole data model (CONTRACT §3): later work adds behaviour, not tables. */
export class Migration20261127001505_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "flash_sale_state" as enum ('scheduled', 'active', 'ended');`);
    this.addSql(`create type "user_role" as enum ('CUSTOMER', 'ADMIN');`);
    this.addSql(`create type "support_chat_status" as enum ('open', 'closed');`);
    this.addSql(`create type "review_status" as enum ('pending', 'approved', 'rejected');`);
    this.addSql(`create type "order_status" as enum ('pending', 'confirmed', 'processing', 'shipped', 'delivered', 'cancelled', 'refunded');`);
    this.addSql(`create table "flash_sales" ("id" uuid not null, "name" text not null, "description" text not null default '', "discount_percentage" int not null, "start_time" timestamptz not null, "end_time" timestamptz not null, "state" "flash_sale_state" not null default 'scheduled', "started_at" timestamptz null, "ended_at" timestamptz null, "created_at" timestamptz not null, constraint "flash_sales_pkey" primary key ("id"));`);
    this.addSql(`create index "flash_sales_start_time_index" on "flash_sales" ("start_time");`);
    this.addSql(`create index "flash_sales_end_time_index" on "flash_sales" ("end_time");`);
    this.addSql(`create index "flash_sales_state_index" on "flash_sales" ("state");`);

    this.addSql(`create table "products" ("id" uuid not null, "name" text not null, "description" text not null default '', "brand" text not null, "category" text not null, "price_cents" int not null, "low_stock_threshold" int not null default 5, "image_url" text null, "rating_sum" int not null default 0, "rating_count" int not null default 0, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "products_pkey" primary key ("id"));`);
    this.addSql(`create index "products_brand_index" on "products" ("brand");`);
    this.addSql(`create index "products_category_index" on "products" ("category");`);

    this.addSql(`create table "flash_sale_products" ("flash_sale_id" uuid not null, "product_id" uuid not null, constraint "flash_sale_products_pkey" primary key ("flash_sale_id", "product_id"));`);

    this.addSql(`create table "product_variants" ("id" uuid not null, "product_id" uuid not null, "size" text not null, "color" text not null, "sku" text not null, "stock" int not null default 0, constraint "product_variants_pkey" primary key ("id"));`);
    this.addSql(`alter table "product_variants" add constraint "product_variants_sku_unique" unique ("sku");`);
    this.addSql(`alter table "product_variants" add constraint "product_variants_product_id_size_color_unique" unique ("product_id", "size", "color");`);

    this.addSql(`create table "users" ("id" uuid not null, "email" text not null, "name" text not null, "password_hash" text not null, "role" "user_role" not null default 'CUSTOMER', "created_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(`create table "support_chats" ("id" uuid not null, "user_id" uuid not null, "issue" text not null, "priority" text not null default 'normal', "status" "support_chat_status" not null default 'open', "created_at" timestamptz not null, constraint "support_chats_pkey" primary key ("id"));`);
    this.addSql(`create index "support_chats_user_id_index" on "support_chats" ("user_id");`);
    this.addSql(`create index "support_chats_status_index" on "support_chats" ("status");`);

    this.addSql(`create table "support_messages" ("id" bigserial primary key, "chat_id" uuid not null, "sender_id" uuid not null, "is_admin" boolean not null, "message" text not null, "created_at" timestamptz not null);`);

    this.addSql(`create table "reviews" ("id" uuid not null, "product_id" uuid not null, "user_id" uuid not null, "rating" smallint not null, "title" text not null, "body" text not null, "status" "review_status" not null default 'pending', "created_at" timestamptz not null, "moderated_at" timestamptz null, constraint "reviews_pkey" primary key ("id"));`);
    this.addSql(`create index "reviews_product_id_index" on "reviews" ("product_id");`);
    this.addSql(`create index "reviews_status_index" on "reviews" ("status");`);
    this.addSql(`alter table "reviews" add constraint "reviews_user_id_product_id_unique" unique ("user_id", "product_id");`);

    this.addSql(`create table "product_views" ("id" bigserial primary key, "product_id" uuid not null, "user_id" uuid null, "category" text null, "duration_ms" int null, "created_at" timestamptz not null);`);
    this.addSql(`create index "product_views_product_id_index" on "product_views" ("product_id");`);

    this.addSql(`create table "orders" ("id" uuid not null, "order_number" text not null, "user_id" uuid not null, "status" "order_status" not null default 'pending', "total_cents" int not null, "item_count" int not null, "shipping_address" jsonb not null, "estimated_delivery" timestamptz null, "tracking_carrier" text null, "tracking_number" text null, "idempotency_key" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "orders_pkey" primary key ("id"));`);
    this.addSql(`alter table "orders" add constraint "orders_order_number_unique" unique ("order_number");`);
    this.addSql(`create index "orders_user_id_index" on "orders" ("user_id");`);
    this.addSql(`create index "orders_status_index" on "orders" ("status");`);
    this.addSql(`create index "orders_created_at_index" on "orders" ("created_at");`);
    this.addSql(`alter table "orders" add constraint "orders_user_id_idempotency_key_unique" unique ("user_id", "idempotency_key");`);

    this.addSql(`create table "order_status_history" ("seq" bigserial primary key, "order_id" uuid not null, "status" "order_status" not null, "note" text null, "at" timestamptz not null);`);

    this.addSql(`create table "order_items" ("id" uuid not null, "order_id" uuid not null, "position" int not null, "product_id" uuid null, "variant_id" uuid null, "product_name" text not null, "size" text not null, "color" text not null, "sku" text not null, "unit_price_cents" int not null, "quantity" int not null, constraint "order_items_pkey" primary key ("id"));`);

    this.addSql(`create table "carts" ("id" uuid not null, "user_id" uuid not null, "updated_at" timestamptz not null, constraint "carts_pkey" primary key ("id"));`);
    this.addSql(`alter table "carts" add constraint "carts_user_id_unique" unique ("user_id");`);

    this.addSql(`create table "cart_items" ("id" uuid not null, "cart_id" uuid not null, "variant_id" uuid not null, "quantity" int not null, "added_at" timestamptz not null, constraint "cart_items_pkey" primary key ("id"));`);
    this.addSql(`alter table "cart_items" add constraint "cart_items_cart_id_variant_id_unique" unique ("cart_id", "variant_id");`);

    this.addSql(`create table "user_activities" ("id" bigserial primary key, "user_id" uuid not null, "kind" text not null, "created_at" timestamptz not null);`);
    this.addSql(`create index "user_activities_user_id_index" on "user_activities" ("user_id");`);

    this.addSql(`create table "wishlists" ("id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "wishlists_pkey" primary key ("id"));`);
    this.addSql(`alter table "wishlists" add constraint "wishlists_user_id_unique" unique ("user_id");`);

    this.addSql(`create table "wishlist_items" ("id" uuid not null, "wishlist_id" uuid not null, "product_id" uuid not null, "size" text not null default '', "color" text not null default '', "added_at" timestamptz not null, constraint "wishlist_items_pkey" primary key ("id"));`);
    this.addSql(`create index "wishlist_items_product_id_index" on "wishlist_items" ("product_id");`);
    this.addSql(`alter table "wishlist_items" add constraint "wishlist_items_wishlist_id_product_id_size_color_unique" unique ("wishlist_id", "product_id", "size", "color");`);

    this.addSql(`alter table "flash_sale_products" add constraint "flash_sale_products_flash_sale_id_foreign" foreign key ("flash_sale_id") references "flash_sales" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "flash_sale_products" add constraint "flash_sale_products_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "product_variants" add constraint "product_variants_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "support_chats" add constraint "support_chats_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "support_messages" add constraint "support_messages_chat_id_foreign" foreign key ("chat_id") references "support_chats" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "support_messages" add constraint "support_messages_sender_id_foreign" foreign key ("sender_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "reviews" add constraint "reviews_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "reviews" add constraint "reviews_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "product_views" add constraint "product_views_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "product_views" add constraint "product_views_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "orders" add constraint "orders_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade;`);

    this.addSql(`alter table "order_status_history" add constraint "order_status_history_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "order_items" add constraint "order_items_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "order_items" add constraint "order_items_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "order_items" add constraint "order_items_variant_id_foreign" foreign key ("variant_id") references "product_variants" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "carts" add constraint "carts_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "cart_items" add constraint "cart_items_cart_id_foreign" foreign key ("cart_id") references "carts" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "cart_items" add constraint "cart_items_variant_id_foreign" foreign key ("variant_id") references "product_variants" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "user_activities" add constraint "user_activities_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "wishlists" add constraint "wishlists_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "wishlist_items" add constraint "wishlist_items_wishlist_id_foreign" foreign key ("wishlist_id") references "wishlists" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "wishlist_items" add constraint "wishlist_items_product_id_foreign" foreign key ("product_id") references "products" ("id") on update cascade on delete cascade;`);
    // Rules the data must keep, enforced by the database as a backstop to the services.
    this.addSql(`alter table "product_variants" add constraint "product_variants_stock_check" check ("stock" >= 0);`);
    this.addSql(`alter table "products" add constraint "products_price_check" check ("price_cents" > 0);`);
    this.addSql(`alter table "products" add constraint "products_low_stock_threshold_check" check ("low_stock_threshold" >= 0);`);
    this.addSql(`alter table "cart_items" add constraint "cart_items_quantity_check" check ("quantity" > 0);`);
    this.addSql(`alter table "order_items" add constraint "order_items_quantity_check" check ("quantity" > 0);`);
    this.addSql(`alter table "reviews" add constraint "reviews_rating_check" check ("rating" between 1 and 5);`);
    this.addSql(`alter table "flash_sales" add constraint "flash_sales_discount_check" check ("discount_percentage" between 1 and 90);`);
    this.addSql(`alter table "flash_sales" add constraint "flash_sales_time_check" check ("end_time" > "start_time");`);
    this.addSql(`create sequence "order_number_seq" start 1;`);
    this.addSql(`create index "cart_items_cart_id_index" on "cart_items" ("cart_id");`);
    this.addSql(`create index "order_items_order_id_index" on "order_items" ("order_id");`);
    this.addSql(`create index "order_status_history_order_id_index" on "order_status_history" ("order_id");`);
    this.addSql(`create index "support_messages_chat_id_index" on "support_messages" ("chat_id", "id");`);
    this.addSql(`create index "products_created_at_id_index" on "products" ("created_at", "id");`);
    this.addSql(`create index "flash_sale_products_product_id_index" on "flash_sale_products" ("product_id");`);
  }

  override async down(): Promise<void> {
    throw new Error('The initial migration is not reversible: drop the database instead.');
  }
}
