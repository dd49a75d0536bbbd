/**
 * The database functions (src/db/functions) raise an
 * expected refusal with a SQLSTATE of class `SH` (one per reason) and a JSON object as detail. The
 * statement rolls back; the calling service turns the detail into its client error.
 */
const ShopSqlState = {
  SH001: 'INSUFFICIENT_STOCK',
  SH002: 'NOT_FOUND',
  SH003: 'OVER_LINE_MAXIMUM',
  SH004: 'EMPTY_CART',
} as const;

type ShopRefusalReason = (typeof ShopSqlState)[keyof typeof ShopSqlState];

interface ShopRefusal {
  reason: ShopRefusalReason;
  detail: Record<string, unknown>;
}

/** The refusal a shop function raised, or null for any other error (MikroORM keeps pg's code and detail). */
export function shopRefusal(err: unknown): ShopRefusal | null {
  const e = err as { code?: unknown; detail?: unknown } | null;
  const reason = typeof e?.code === 'string' ? ShopSqlState[e.code as keyof typeof ShopSqlState] : undefined;
  if (!reason) return null;
  let detail: Record<string, unknown> = {};
  try {
    detail = JSON.parse(String(e!.detail ?? '{}')) as Record<string, unknown>;
  } catch {
    /* keep empty */
  }
  return { reason, detail };
}
