import type { Route } from '../../src/events/envelope';
import type { DraftOf, DurableEventName } from '../../src/events/catalogue';
import type { DraftEvent } from '../../src/events/outbox';
import { Role } from '../../src/entities/user.entity';
import type { Shop } from '../../src/bootstrap';

let n = 0;
const unique = () => `${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/** A user straight through the service (argon2 and all), with a real token. */
export async function makeUser(shop: Shop, role: Role = Role.CUSTOMER, name = 'Test User'): Promise<TestUser> {
  const email = `${role.toLowerCase()}-${unique()}@example.test`;
  const user = await shop.app.services.users.createUser(email, 'password-123', name, role);
  return { id: user.id, email, token: shop.app.services.users.issue(user) };
}

export const makeAdmin = (shop: Shop) => makeUser(shop, Role.ADMIN, 'Test Admin');

/** A product with the given variants through the catalogue service. */
export async function makeProduct(
  shop: Shop,
  variants: Array<{ size: string; color: string; stock: number }> = [{ size: '9', color: 'black', stock: 10 }],
  extra: Partial<{ name: string; brand: string; category: string; price: number; lowStockThreshold: number }> = {},
) {
  return shop.app.services.catalog.createProduct({
    name: extra.name ?? `Runner ${unique()}`,
    brand: extra.brand ?? 'TestBrand',
    category: extra.category ?? 'running',
    price: extra.price ?? 100,
    lowStockThreshold: extra.lowStockThreshold ?? 5,
    variants,
  });
}

/**
 * Raises a durable event the way a service does: recorded in a transaction of its own, then
 * relayed through the event log to every instance.
 */
export async function raiseEvent<K extends DurableEventName>(shop: Shop, name: K, payload: DraftOf<K>, route: Route = {}): Promise<void> {
  await shop.orm.em.fork().transactional((tx) => shop.outbox.emit(tx, [{ name, payload, route } as DraftEvent]));
}
