/** The only place room names are made or parsed. */
export const rooms = {
  admin: 'admin',
  user: (userId: string) => `user_${userId}`,
  product: (productId: string) => `product_${productId}`,
  support: (chatId: string) => `support_${chatId}`,
  /** The owner's cart room, joined with `join_cart` (not with `join_room`). */
  cart: (userId: string) => `cart_${userId}`,
} as const;

type ParsedRoom =
  | { kind: 'admin' }
  | { kind: 'user'; id: string }
  | { kind: 'product'; id: string }
  | { kind: 'support'; id: string };

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const patterns: Array<[RegExp, 'user' | 'product' | 'support']> = [
  [new RegExp(`^user_(${UUID})$`), 'user'],
  [new RegExp(`^product_(${UUID})$`), 'product'],
  [new RegExp(`^support_(${UUID})$`), 'support'],
];

/** Exact match only: `ADMIN`, `admin `, `__proto__` or a non-uuid id are not rooms. */
export function parseRoom(name: unknown): ParsedRoom | null {
  if (typeof name !== 'string' || name.length > 100) return null;
  if (name === rooms.admin) return { kind: 'admin' };
  for (const [re, kind] of patterns) {
    const m = re.exec(name);
    if (m) return { kind, id: m[1] };
  }
  return null;
}
