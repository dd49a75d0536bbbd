import { z } from 'zod';
import type { Viewer } from '../auth/viewer';
import { isAdmin } from '../auth/viewer';
import { SupportChat, SupportChatStatus, SupportMessage } from '../entities/support-chat.entity';
import { User } from '../entities/user.entity';
import { badInput, forbidden, notFound } from '../errors';
import type { EventUser } from '../events/payloads/common.payload';
import { parseRoom, rooms } from '../events/rooms';
import { nowIso, type ServiceDeps } from './context';
import type { DashboardService } from './dashboard.service';
import { id as idSchema, parseInput } from './validation';

const SUPPORT_PRIORITIES = ['low', 'normal', 'medium', 'high', 'urgent'] as const;
const MAX_SUPPORT_MESSAGE = 2000;

const openChatSchema = z.object({
  issue: z.string().trim().min(1, 'is required').max(500),
  priority: z.enum(SUPPORT_PRIORITIES, { message: `must be one of ${SUPPORT_PRIORITIES.join(', ')}` }).nullish().transform((p) => p ?? 'normal'),
});
/** 1–2000 characters, not only whitespace; kept as written. */
const messageSchema = z.string()
  .max(MAX_SUPPORT_MESSAGE, `must be at most ${MAX_SUPPORT_MESSAGE} characters`)
  .refine((m) => m.trim().length > 0, 'must not be empty');

/** A chat as its owner and admins see it (the `supportChats` query, `support_chat_joined`). */
interface SupportChatView {
  id: string;
  chatRoom: string;
  user: EventUser;
  issue: string;
  priority: string;
  status: string;
  createdAt: string;
  lastMessageAt: string | null;
  messageCount: number;
}

/** One message; the fields of `support_message_received` plus the chat. */
interface SupportMessageView {
  id: string;
  chatId: string;
  userId: string;
  user: EventUser;
  message: string;
  timestamp: string;
  isAdmin: boolean;
}

/** What `join_support_chat` answers (`support_chat_joined`). */
export interface SupportChatJoined {
  chatRoom: string;
  chatId: string;
  issue: string;
  priority: string;
  status: string;
  createdAt: string;
}

const eventUser = (v: Pick<Viewer, 'id' | 'name' | 'role'>): EventUser => ({ id: v.id, name: v.name, role: v.role });

interface ChatRow {
  id: string;
  issue: string;
  priority: string;
  status: string;
  created_at: Date | string;
  user_id: string;
  user_name: string;
  user_role: string;
  last_message_at: Date | string | null;
  message_count: number;
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

const chatView = (r: ChatRow): SupportChatView => ({
  id: r.id,
  chatRoom: rooms.support(r.id),
  user: { id: r.user_id, name: r.user_name, role: r.user_role },
  issue: r.issue,
  priority: r.priority,
  status: r.status,
  createdAt: iso(r.created_at),
  lastMessageAt: r.last_message_at ? iso(r.last_message_at) : null,
  messageCount: Number(r.message_count),
});

const CHAT_SELECT = `select c.id, c.issue, c.priority, c.status, c.created_at, u.id as user_id, u.name as user_name, u.role as user_role,
    (select max(m.created_at) from support_messages m where m.chat_id = c.id) as last_message_at,
    (select count(*)::int from support_messages m where m.chat_id = c.id) as message_count
  from support_chats c join users u on u.id = c.user_id`;

/** Support chats between customers and admins. */
export class SupportService {
  constructor(private deps: ServiceDeps, private dashboard: DashboardService) {}

  /** The chat's owner and admins may read and follow a chat; others get FORBIDDEN, unknown chats NOT_FOUND. */
  async assertChatAccess(viewer: Viewer, chatId: string): Promise<{ ownerId: string }> {
    if (!idSchema.safeParse(chatId).success) throw notFound('Support chat', String(chatId));
    const rows = await this.deps.orm.em.fork().execute<Array<{ user_id: string }>>('select user_id from support_chats where id = ?', [chatId]);
    if (!rows.length) throw notFound('Support chat', chatId);
    const ownerId = String(rows[0].user_id);
    if (ownerId !== viewer.id && !isAdmin(viewer)) throw forbidden('This support chat is not yours');
    return { ownerId };
  }

  /**
   * Opens a chat for the viewer. After commit: `new_support_request` to admins and the
   * `openSupportChats` dashboard metric.
   */
  async openChat(viewer: Viewer, input: { issue: string; priority?: string | null }): Promise<SupportChatView> {
    const data = parseInput(openChatSchema, input);
    const em = this.deps.orm.em.fork();
    const view = await em.transactional(async (tx) => {
      const chat = tx.create(SupportChat, { user: tx.getReference(User, viewer.id), issue: data.issue, priority: data.priority });
      tx.persist(chat);
      await tx.flush();
      const v: SupportChatView = {
        id: chat.id,
        chatRoom: rooms.support(chat.id),
        user: eventUser(viewer),
        issue: chat.issue,
        priority: chat.priority,
        status: chat.status,
        createdAt: chat.createdAt.toISOString(),
        lastMessageAt: null,
        messageCount: 0,
      };
      await this.deps.outbox.emit(tx, [{
        name: 'new_support_request',
        payload: { chatId: v.id, chatRoom: v.chatRoom, user: v.user, issue: v.issue, priority: v.priority, timestamp: v.createdAt },
        route: {},
      }]);
      return v;
    });
    await this.dashboard.publishMetrics(['openSupportChats']);
    return view;
  }

  /** A chat the viewer may access (owner or admin). */
  async chat(viewer: Viewer, chatId: string): Promise<SupportChatView> {
    await this.assertChatAccess(viewer, chatId);
    const [row] = await this.deps.orm.em.fork().execute<ChatRow[]>(`${CHAT_SELECT} where c.id = ?`, [chatId]);
    if (!row) throw notFound('Support chat', chatId);
    return chatView(row);
  }

  /**
   * `join_support_chat`: rejoins `chatId` when given (owner or admin), otherwise opens a new chat.
   * The caller (the socket) joins `chatRoom`.
   */
  async joinChat(viewer: Viewer, input: { issue?: string | null; priority?: string | null; chatId?: string | null }): Promise<SupportChatJoined> {
    const chat = input.chatId
      ? await this.chat(viewer, input.chatId)
      : await this.openChat(viewer, { issue: input.issue ?? '', priority: input.priority });
    return { chatRoom: chat.chatRoom, chatId: chat.id, issue: chat.issue, priority: chat.priority, status: chat.status, createdAt: chat.createdAt };
  }

  /** The viewer's own chats, newest first; every chat for admins. */
  async chats(viewer: Viewer, opts: { first?: number | null; status?: string | null } = {}): Promise<SupportChatView[]> {
    const first = parseInput(z.number().int().min(1).max(200), opts.first ?? 50, 'first');
    const status = opts.status == null ? null : parseInput(z.enum(SupportChatStatus), opts.status, 'status');
    const where: string[] = [];
    const params: unknown[] = [];
    if (!isAdmin(viewer)) {
      where.push('c.user_id = ?');
      params.push(viewer.id);
    }
    if (status) {
      where.push('c.status = ?');
      params.push(status);
    }
    const rows = await this.deps.orm.em.fork().execute<ChatRow[]>(
      `${CHAT_SELECT}${where.length ? ` where ${where.join(' and ')}` : ''} order by c.created_at desc, c.id limit ?`,
      [...params, first],
    );
    return rows.map(chatView);
  }

  /** A chat's history, oldest first (owner or admin); the last `last` messages (default 200). */
  async messages(viewer: Viewer, chatId: string, opts: { last?: number | null } = {}): Promise<SupportMessageView[]> {
    await this.assertChatAccess(viewer, chatId);
    const last = parseInput(z.number().int().min(1).max(1000), opts.last ?? 200, 'last');
    const rows = await this.deps.orm.em.fork().execute<Array<{
      id: string; sender_id: string; name: string; role: string; message: string; created_at: Date | string; is_admin: boolean;
    }>>(
      `select * from (select m.id, m.sender_id, u.name, u.role, m.message, m.created_at, m.is_admin
         from support_messages m join users u on u.id = m.sender_id
        where m.chat_id = ? order by m.id desc limit ?) t order by id`,
      [chatId, last],
    );
    return rows.map((r) => ({
      id: String(r.id),
      chatId,
      userId: r.sender_id,
      user: { id: r.sender_id, name: r.name, role: r.role },
      message: r.message,
      timestamp: iso(r.created_at),
      isAdmin: r.is_admin,
    }));
  }

  /**
   * Posts a message (owner or admin, 1–2000 characters). After commit: `support_message_received`
   * to the chat's room (owner and admins following it), the sender's devices included.
   */
  async sendMessage(viewer: Viewer, chatId: string, message: string): Promise<SupportMessageView> {
    const text = parseInput(messageSchema, message, 'message');
    await this.assertChatAccess(viewer, chatId);
    const em = this.deps.orm.em.fork();
    return em.transactional(async (tx) => {
      const saved = tx.create(SupportMessage, {
        chat: tx.getReference(SupportChat, chatId),
        sender: tx.getReference(User, viewer.id),
        isAdmin: isAdmin(viewer),
        message: text,
      });
      tx.persist(saved);
      await tx.flush();
      const view: SupportMessageView = {
        id: String(saved.id),
        chatId,
        userId: viewer.id,
        user: eventUser(viewer),
        message: text,
        timestamp: saved.createdAt.toISOString(),
        isAdmin: saved.isAdmin,
      };
      await this.deps.outbox.emit(tx, [{
        name: 'support_message_received',
        payload: { id: view.id, userId: view.userId, user: view.user, message: view.message, timestamp: view.timestamp, isAdmin: view.isAdmin },
        route: { chatId },
      }]);
      return view;
    });
  }

  /**
   * A typing indicator in `support_<chatId>` (owner or admin): `user_typing` to the others following
   * the chat; the typer's own devices do not get it. Nothing is stored.
   */
  async setTyping(viewer: Viewer, room: string, isTyping: boolean): Promise<boolean> {
    const parsed = parseRoom(room);
    if (!parsed || parsed.kind !== 'support') {
      throw badInput('Typing indicators exist only in support chat rooms', [{ path: 'room', message: 'must be support_<chatId>' }]);
    }
    await this.assertChatAccess(viewer, parsed.id);
    this.deps.hub.publish('user_typing', { userId: viewer.id, user: eventUser(viewer), isTyping }, { chatId: parsed.id, exceptUserId: viewer.id });
    return true;
  }
}
