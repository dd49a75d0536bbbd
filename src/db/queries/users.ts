import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../../auth/viewer';
import type { Role } from '../../entities/user.entity';

interface ViewerRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  revoked: boolean;
}

/**
 * The user behind a token as the database says now, in one query: `viewer` is null when there is
 * no such account or it was deleted; `revoked` is true when `tokenId` was revoked by `logout`.
 */
export async function currentViewer(em: EntityManager, userId: string, tokenId?: string): Promise<{ viewer: Viewer | null; revoked: boolean }> {
  const rows = await em.execute<ViewerRow[]>(
    `select u.id, u.email, u.name, u.role,
            exists (select 1 from revoked_tokens r where r.token_id = ?) as revoked
       from users u where u.id = ? and u.deleted_at is null`,
    [tokenId ?? '', userId]);
  if (!rows.length) return { viewer: null, revoked: false };
  const r = rows[0];
  return { viewer: { id: String(r.id), email: r.email, name: r.name, role: r.role }, revoked: !!r.revoked };
}
