import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { Product as ProductEntity } from '../entities/product.entity';
import { ProductVariant as VariantEntity } from '../entities/product-variant.entity';
import { badInput, conflict, notFound } from '../errors';
import type { Product, ProductConnection, ProductFilter } from '../schema/types/product.type';
import { toCents, toMoney, type ServiceDeps } from './context';
import type { Emit, FactKind } from '../events/outbox';
import type { StockService } from './stock.service';
import { connection, pageSize } from './pagination';
import { id as idSchema, parseInput, variantSchema } from './validation';
import { productExists, productIdPage, productPricing, repricing, variantIdOf, type Pricing } from '../db/queries/catalog';
import { wishlistersOf } from '../db/queries/wishlists';


const money = z.number().positive('must be positive').max(100000).refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-6, 'at most two decimals');
const text = (max: number) => z.string().trim().min(1, 'is required').max(max);
const variantStock = variantSchema.extend({
  stock: z.number().int().min(0).max(1_000_000),
  sku: z.string().trim().min(1).max(64).nullish(),
});
const createSchema = z.object({
  name: text(200),
  description: z.string().max(5000).nullish(),
  brand: text(100),
  category: text(100),
  price: money,
  lowStockThreshold: z.number().int().min(0).max(10000).nullish(),
  imageUrl: z.string().url().max(2000).nullish(),
  variants: z.array(variantStock).min(1, 'at least one variant').max(200),
});
const updateSchema = z.object({
  name: text(200).nullish(),
  description: z.string().max(5000).nullish(),
  brand: text(100).nullish(),
  category: text(100).nullish(),
  price: money.nullish(),
  lowStockThreshold: z.number().int().min(0).max(10000).nullish(),
  imageUrl: z.string().url().max(2000).nullish(),
  addVariants: z.array(variantStock).max(200).nullish(),
});
const filterSchema = z.object({
  search: z.string().max(200).nullish(),
  category: z.string().max(100).nullish(),
  brand: z.string().max(100).nullish(),
  size: z.string().max(20).nullish(),
  color: z.string().max(40).nullish(),
  minPrice: z.number().min(0).nullish(),
  maxPrice: z.number().min(0).nullish(),
  inStock: z.boolean().nullish(),
}).nullish();

/** Sizes in numeric order where they are numbers ('8' before '10'), then colour. */
export const compareVariants = (a: { size: string; color: string }, b: { size: string; color: string }) =>
  a.size.localeCompare(b.size, 'en', { numeric: true }) || a.color.localeCompare(b.color);

const skuPart = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, '').slice(0, 8) || 'X';

/** A fall in a product's effective price (from a price change or a flash sale), in cents. */
export interface PriceDrop {
  productId: string;
  productName: string;
  oldCents: number;
  newCents: number;
}

/** Product ids remembered as existing (see `exists`); the set starts over when it reaches this size. */
const KNOWN_PRODUCTS_MAX = 100_000;

/** The catalogue: products, variants, effective prices and admin edits. */
export class CatalogService {
  private readonly known = new Set<string>();
  private readonly checking = new Map<string, Promise<boolean>>();
  /** A price change that lowered a product's effective price: wishlisters hear of it when it commits. */
  readonly priceDrop: FactKind<PriceDrop>;

  constructor(private deps: ServiceDeps, private stock: StockService) {
    this.priceDrop = deps.outbox.define('price_dropped', (drop, emit, em, at) => this.raisePriceDrop(drop, emit, em, at));
  }


  private view(p: ProductEntity, pricing: Pricing): Product {
    const variants = p.variants.getItems()
      .map((v) => ({ id: v.id, size: v.size, color: v.color, sku: v.sku, stock: v.stock, inStock: v.stock > 0 }))
      .sort(compareVariants);
    const totalStock = variants.reduce((s, v) => s + v.stock, 0);
    return {
      id: p.id, name: p.name, description: p.description, brand: p.brand, category: p.category,
      price: toMoney(pricing.priceCents), basePrice: toMoney(p.priceCents), discountPercentage: pricing.discount,
      lowStockThreshold: p.lowStockThreshold, imageUrl: p.imageUrl, variants, totalStock, inStock: totalStock > 0,
      averageRating: p.ratingCount ? Math.round((p.ratingSum / p.ratingCount) * 100) / 100 : null,
      reviewCount: p.ratingCount, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString(),
    };
  }

  private async views(em: EntityManager, products: ProductEntity[]): Promise<Product[]> {
    const prices = await productPricing(em, products.map((p) => p.id));
    return products.map((p) => this.view(p, prices.get(p.id)!));
  }

  async product(id: string): Promise<Product> {
    if (!idSchema.safeParse(id).success) throw notFound('Product', String(id));
    const em = this.deps.orm.em.fork();
    const p = await em.findOne(ProductEntity, { id }, { populate: ['variants'] });
    if (!p) throw notFound('Product', id);
    return (await this.views(em, [p]))[0];
  }

  /**
   * Whether a product exists: the subscription and room rule for product events. Products are
   * never deleted, so a product seen once is remembered (a reconnect storm of thousands of
   * followers of one product costs one read), and concurrent checks of one id share a read.
   */
  async exists(id: string): Promise<boolean> {
    if (!idSchema.safeParse(id).success) return false;
    if (this.known.has(id)) return true;
    let read = this.checking.get(id);
    if (!read) {
      read = productExists(this.deps.orm.em.fork(), id)
        .then((found) => {
          if (found && this.known.size >= KNOWN_PRODUCTS_MAX) this.known.clear();
          if (found) this.known.add(id);
          return found;
        })
        .finally(() => this.checking.delete(id));
      this.checking.set(id, read);
    }
    return read;
  }

  /** Relay pagination in (created_at, id) order: stable under inserts, no duplicates or gaps. */
  async products(args: { first?: number | null; after?: string | null; filter?: ProductFilter | null }): Promise<ProductConnection> {
    const first = pageSize(args.first);
    const f = parseInput(filterSchema, args.filter ?? null, 'filter') ?? {};
    const em = this.deps.orm.em.fork();
    const { ids, fetched, totalCount } = await productIdPage(em, {
      search: f.search, category: f.category, brand: f.brand, size: f.size, color: f.color, inStock: f.inStock,
      minCents: f.minPrice != null ? toCents(f.minPrice) : null, maxCents: f.maxPrice != null ? toCents(f.maxPrice) : null,
    }, { first, after: args.after });
    const entities = ids.length ? await em.find(ProductEntity, { id: { $in: ids } }, { populate: ['variants'] }) : [];
    const byId = new Map(entities.map((p) => [p.id, p]));
    const ordered = ids.map((i) => byId.get(i)!).filter(Boolean);
    const nodes = await this.views(em, ordered);
    return connection(nodes, (n) => n.createdAt, { first, fetched, after: args.after, totalCount });
  }

  /** Admin: a product with its variants and their stock. */
  async createProduct(input: unknown): Promise<Product> {
    const data = parseInput(createSchema, input);
    this.assertDistinctVariants(data.variants);
    const em = this.deps.orm.em.fork();
    const product = em.create(ProductEntity, {
      name: data.name, description: data.description ?? '', brand: data.brand, category: data.category,
      priceCents: toCents(data.price), lowStockThreshold: data.lowStockThreshold ?? 5, imageUrl: data.imageUrl ?? null,
    });
    for (const v of data.variants) {
      em.create(VariantEntity, { product, size: v.size, color: v.color, stock: v.stock, sku: v.sku ?? this.sku(product, v) });
    }
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw conflict('A variant SKU is already in use', { field: 'variants.sku' });
      throw err;
    }
    await em.populate(product, ['variants']);
    return (await this.views(em, [product]))[0];
  }

  /** Admin: edits a product; a lower price raises `price_drop_alert` to wishlisters when it commits. */
  async updateProduct(id: string, input: unknown): Promise<Product> {
    const data = parseInput(updateSchema, input);
    if (data.addVariants) this.assertDistinctVariants(data.addVariants);
    const em = this.deps.orm.em.fork();
    let oldCents = 0;
    let pricing: Pricing | undefined;
    const product = await em.transactional(async (tx) => {
      const p = await tx.findOne(ProductEntity, { id: parseInput(idSchema, id, 'id') }, { populate: ['variants'], lockMode: 4 /* pessimistic write */ });
      if (!p) throw notFound('Product', id);
      oldCents = p.priceCents;
      if (data.name != null) p.name = data.name;
      if (data.description != null) p.description = data.description;
      if (data.brand != null) p.brand = data.brand;
      if (data.category != null) p.category = data.category;
      if (data.price != null) p.priceCents = toCents(data.price);
      if (data.lowStockThreshold != null) p.lowStockThreshold = data.lowStockThreshold;
      if (data.imageUrl !== undefined) p.imageUrl = data.imageUrl ?? null;
      for (const v of data.addVariants ?? []) {
        if (p.variants.getItems().some((x) => x.size === v.size && x.color === v.color)) {
          throw conflict(`Variant ${v.size}/${v.color} already exists`, { field: 'addVariants' });
        }
        tx.create(VariantEntity, { product: p, size: v.size, color: v.color, stock: v.stock, sku: v.sku ?? this.sku(p, v) });
      }
      // The effective prices before and after (the row still holds the old price until the flush).
      const price = await repricing(tx, p.id, oldCents, p.priceCents);
      pricing = { priceCents: price.newCents, discount: price.discount };
      if (pricing.priceCents < price.oldCents) {
        await this.priceDrop.record(tx, { productId: p.id, productName: p.name, oldCents: price.oldCents, newCents: pricing.priceCents });
      }
      return p;
    }).catch((err) => {
      if (err instanceof UniqueConstraintViolationException) throw conflict('A variant SKU is already in use', { field: 'addVariants.sku' });
      throw err;
    });
    await em.populate(product, ['variants'], { refresh: true });
    return this.view(product, pricing!);
  }

  /** Admin: adds or removes units of one variant; stock can never go below zero. */
  async adjustStock(productId: string, variant: { size: string; color: string }, delta: number): Promise<Product> {
    const pid = parseInput(idSchema, productId, 'productId');
    const v = parseInput(variantSchema, variant, 'variant');
    if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > 1_000_000) {
      throw badInput('delta must be a non-zero whole number', [{ path: 'delta', message: 'must be a non-zero whole number' }]);
    }
    const em = this.deps.orm.em.fork();
    // No transaction: the variant's id never changes, and the change with its events' fact is one
    // statement that commits by itself (two round trips in all).
    const variantId = await this.variantId(em, pid, v);
    await this.stock.apply(em, [{ variantId, delta }]);
    return this.product(pid);
  }

  /** The variant id of a product's size/colour, or NOT_FOUND. */
  async variantId(em: EntityManager, productId: string, v: { size: string; color: string }): Promise<string> {
    const variantId = await variantIdOf(em, productId, v);
    if (variantId === null) {
      if (!(await productExists(em, productId))) throw notFound('Product', productId);
      throw notFound(`Variant ${v.size}/${v.color}`, productId);
    }
    return variantId;
  }

  /**
   * The `price_drop_alert`s of a fall in a product's effective price, one per wishlister at the time
   * the event is raised (the relay calls this).
   */
  async raisePriceDrop(drop: PriceDrop, emit: Emit, em: EntityManager, timestamp: string): Promise<void> {
    const { productId, productName, oldCents, newCents } = drop;
    if (newCents >= oldCents) return;
    const users = await wishlistersOf(em, productId);
    const pct = Math.round(((oldCents - newCents) / oldCents) * 10000) / 100;
    for (const userId of users) {
      emit('price_drop_alert', {
        productId, productName, oldPrice: toMoney(oldCents), newPrice: toMoney(newCents), discountPercentage: pct, timestamp,
      }, { userId });
    }
  }

  private assertDistinctVariants(vs: Array<{ size: string; color: string }>) {
    const seen = new Set<string>();
    for (const v of vs) {
      const k = `${v.size}\u0000${v.color}`;
      if (seen.has(k)) throw badInput(`Variant ${v.size}/${v.color} is listed twice`, [{ path: 'variants', message: 'duplicate size/color' }]);
      seen.add(k);
    }
  }

  private sku(p: ProductEntity, v: { size: string; color: string }): string {
    return `${skuPart(p.brand)}-${p.id.slice(0, 8).toUpperCase()}-${skuPart(v.color)}-${skuPart(v.size)}`;
  }
}
