import type { Viewer } from '../auth/viewer';
import { isAdmin } from '../auth/viewer';
import { forbidden, notFound } from '../errors';
import type { ServiceDeps } from './context';
import { id as idSchema } from './validation';

/** Support chats between customers and admins. */
export class SupportService {
  constructor(private deps: ServiceDeps) {}

  /** The chat's owner and admins may read and follow a chat; others get FORBIDDEN, unknown chats NOT_FOUND. */
  async assertChatAccess(viewer: Viewer, chatId: string): Promise<{ ownerId: string }> {
    if (!idSchema.safeParse(chatId).success) throw notFound('Support chat', String(chatId));
    const rows = await this.deps.orm.em.fork().execute<Array<{ user_id: string }>>('select user_id from support_chats where id = ?', [chatId]);
    if (!rows.length) throw notFound('Support chat', chatId);
    const ownerId = String(rows[0].user_id);
    if (ownerId !== viewer.id && !isAdmin(viewer)) throw forbidden('This support chat is not yours');
    return { ownerId };
  }
}
