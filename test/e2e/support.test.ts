import type { Socket } from 'socket.io-client';
import { codeOf, collect, emitAck, gql, gqlOk, recordSocket, waitFor } from '../support/clients';
import { makeAdmin, makeUser, type TestUser } from '../support/fixtures';
import { useShop } from '../support/use-shop';

const { shop, socket, ws: wsOf } = useShop();
let customer: TestUser;
let admin: TestUser;
let stranger: TestUser;
/** A Socket.IO client of the shop with its event recorder, and a graphql-ws client: closed at the end. */
const connect = async (token?: string) => {
  const s = await socket(shop(), token);
  return { s, rec: recordSocket(s) };
};
const ws = (token?: string) => wsOf(shop(), token);
/** A round trip on the socket: whatever the server emitted to it before has arrived by then. */
const flush = (s: Socket, userId: string) => emitAck(s, 'join_room', { room: `user_${userId}` });
const wsCode = (errors: unknown[]) => JSON.stringify(errors).match(/"code":"([A-Z_]+)"/)?.[1];

const MESSAGE_SUB = `subscription($chatId: ID!) { supportMessageReceived(chatId: $chatId) { eventId id userId user { id name role } message timestamp isAdmin } }`;
const TYPING_SUB = `subscription($chatId: ID!) { userTyping(chatId: $chatId) { userId user { id name role } isTyping } }`;

beforeAll(async () => {
  [customer, admin, stranger] = await Promise.all([makeUser(shop(), undefined, 'Cora Customer'), makeAdmin(shop()), makeUser(shop(), undefined, 'Sam Stranger')]);
});

describe('support chat', () => {
  it('runs a whole chat between a customer and an admin over Socket.IO and GraphQL, and keeps others out', async () => {
    const adm = await connect(admin.token);
    expect(await emitAck(adm.s, 'join_room', { room: 'admin' })).toMatchObject({ ok: true });
    const cust = await connect(customer.token);
    const other = await connect(stranger.token);

    // The customer opens a chat: support_chat_joined on the socket (and in the ack); admins are alerted.
    const ack = await emitAck(cust.s, 'join_support_chat', { issue: 'Order inquiry', priority: 'high' });
    expect(ack.ok).toBe(true);
    const chatId: string = ack.data.chatId;
    const chatRoom = `support_${chatId}`;
    expect(ack.data).toEqual({ chatRoom, chatId, issue: 'Order inquiry', priority: 'high', status: 'open', createdAt: expect.any(String) });
    await waitFor(() => cust.rec.of('support_chat_joined').length === 1, 5000, 'support_chat_joined');
    expect(cust.rec.of('support_chat_joined')[0]).toEqual(ack.data);
    await waitFor(() => adm.rec.of('new_support_request').length === 1, 5000, 'new_support_request');
    expect(adm.rec.of('new_support_request')[0]).toEqual({
      chatId, chatRoom, user: { id: customer.id, name: 'Cora Customer', role: 'CUSTOMER' }, issue: 'Order inquiry', priority: 'high', timestamp: ack.data.createdAt,
      eventId: expect.any(String),
    });

    // The admin follows the chat's room; a stranger can neither join it nor subscribe to it.
    expect(await emitAck(adm.s, 'join_room', { room: chatRoom })).toEqual({ ok: true, data: { room: chatRoom } });
    const refused = await emitAck(other.s, 'join_room', { room: chatRoom });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(other.rec.of('room_join_error')[0]).toMatchObject({ room: chatRoom, code: 'FORBIDDEN' });
    expect(await emitAck(other.s, 'join_support_chat', { chatId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const strangerSub = collect(ws(stranger.token), MESSAGE_SUB, { chatId });
    await waitFor(() => strangerSub.errors.length > 0, 5000, 'stranger subscription refused');
    expect(wsCode(strangerSub.errors)).toBe('FORBIDDEN');
    expect(other.s.connected).toBe(true);

    // GraphQL subscribers: the customer's messages and the admin's typing indicators.
    const custSub = collect(ws(customer.token), MESSAGE_SUB, { chatId });
    const custTyping = collect(ws(customer.token), TYPING_SUB, { chatId });
    const admTyping = collect(ws(admin.token), TYPING_SUB, { chatId });
    // Subscriptions are live once an event reaches them: a second admin types until both have one.
    const prober = await makeAdmin(shop());
    await waitFor(async () => {
      await gqlOk(shop().url, `mutation($room: String!) { setTyping(room: $room, isTyping: false) }`, { room: chatRoom }, prober.token);
      return admTyping.events.length > 0 && custTyping.events.length > 0 && custSub.events.length === 0;
    }, 5000, 'typing subscriptions live');
    const byCustomer = (list: Array<{ userId: string }>) => list.filter((t) => t.userId === customer.id);
    const typingOf = (sub: { events: Array<{ userTyping: { userId: string } }> }) => byCustomer(sub.events.map((e) => e.userTyping));

    // Customer writes without chatId (the socket's chat); admin answers naming the chat.
    const sent = await emitAck(cust.s, 'support_message', { message: 'I need help with my order' });
    expect(sent).toMatchObject({ ok: true, data: { chatId, userId: customer.id, isAdmin: false, message: 'I need help with my order' } });
    await waitFor(() => adm.rec.of('support_message_received').length === 1 && cust.rec.of('support_message_received').length === 1, 5000, 'first message');
    const first = adm.rec.of('support_message_received')[0];
    expect(first).toEqual({
      id: sent.data.id, userId: customer.id, user: { id: customer.id, name: 'Cora Customer', role: 'CUSTOMER' },
      message: 'I need help with my order', timestamp: expect.any(String), isAdmin: false, eventId: expect.any(String),
    });
    expect(cust.rec.of('support_message_received')[0]).toEqual(first);
    await waitFor(() => custSub.events.length === 1, 5000, 'GraphQL subscriber got the message');
    expect(custSub.events[0].supportMessageReceived).toEqual(first);

    expect(await emitAck(adm.s, 'support_message', { message: 'no chat named' })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    const reply = await emitAck(adm.s, 'support_message', { chatId, message: 'Hello, how can I help you?' });
    expect(reply).toMatchObject({ ok: true, data: { isAdmin: true, userId: admin.id } });
    await waitFor(() => cust.rec.of('support_message_received').length === 2 && adm.rec.of('support_message_received').length === 2, 5000, 'reply');
    expect(cust.rec.of('support_message_received')[1]).toMatchObject({ message: 'Hello, how can I help you?', isAdmin: true, user: { id: admin.id, role: 'ADMIN' } });

    // Typing: the other party gets user_typing, the typer (socket or GraphQL) does not.
    expect(await emitAck(cust.s, 'typing_start', { room: chatRoom })).toMatchObject({ ok: true });
    await waitFor(() => byCustomer(adm.rec.of('user_typing')).length === 1, 5000, 'user_typing to admin');
    expect(byCustomer(adm.rec.of('user_typing'))[0]).toEqual({ userId: customer.id, user: { id: customer.id, name: 'Cora Customer', role: 'CUSTOMER' }, isTyping: true });
    await waitFor(() => typingOf(admTyping).length === 1, 5000, 'GraphQL user_typing to admin');
    expect(typingOf(admTyping)[0]).toEqual(byCustomer(adm.rec.of('user_typing'))[0]);
    expect(await emitAck(cust.s, 'typing_stop', { room: chatRoom })).toMatchObject({ ok: true });
    await waitFor(() => byCustomer(adm.rec.of('user_typing')).length === 2, 5000, 'typing stop');
    expect(byCustomer(adm.rec.of('user_typing'))[1]).toMatchObject({ userId: customer.id, isTyping: false });
    // A later message reaches the customer after any typing event would have.
    await emitAck(adm.s, 'support_message', { chatId, message: 'Still there?' });
    await waitFor(() => cust.rec.of('support_message_received').length === 3 && custSub.events.length === 3, 5000, 'third message');
    expect(byCustomer(cust.rec.of('user_typing'))).toEqual([]);
    expect(typingOf(custTyping)).toEqual([]);

    // The stranger saw none of it.
    await flush(other.s, stranger.id);
    expect(other.rec.of('support_message_received')).toEqual([]);
    expect(other.rec.of('user_typing')).toEqual([]);
    expect(other.rec.of('new_support_request')).toEqual([]);

    // History, oldest first, for the owner and admins only.
    const HISTORY = `query($chatId: ID!) { supportMessages(chatId: $chatId) { id chatId userId message isAdmin timestamp user { id role } } }`;
    const history = (await gqlOk(shop().url, HISTORY, { chatId }, customer.token)).supportMessages;
    expect(history.map((m: { message: string; isAdmin: boolean }) => [m.message, m.isAdmin])).toEqual([
      ['I need help with my order', false], ['Hello, how can I help you?', true], ['Still there?', true],
    ]);
    expect(history[0]).toMatchObject({ id: first.id, chatId, userId: customer.id, timestamp: first.timestamp });
    expect((await gqlOk(shop().url, HISTORY, { chatId }, admin.token)).supportMessages).toHaveLength(3);
    expect(codeOf(await gql(shop().url, HISTORY, { chatId }, stranger.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(shop().url, HISTORY, { chatId: '00000000-0000-4000-8000-000000000000' }, customer.token))).toBe('NOT_FOUND');

    const CHATS = `{ supportChats { id chatRoom issue priority status messageCount lastMessageAt user { id } } }`;
    const own = (await gqlOk(shop().url, CHATS, {}, customer.token)).supportChats;
    expect(own).toEqual([expect.objectContaining({ id: chatId, chatRoom, issue: 'Order inquiry', priority: 'high', status: 'open', messageCount: 3, user: { id: customer.id } })]);
    expect((await gqlOk(shop().url, CHATS, {}, admin.token)).supportChats.map((c: { id: string }) => c.id)).toContain(chatId);
    expect((await gqlOk(shop().url, CHATS, {}, stranger.token)).supportChats).toEqual([]);
    expect((await gqlOk(shop().url, `{ supportChats(status: "closed") { id } }`, {}, customer.token)).supportChats).toEqual([]);
    expect(codeOf(await gql(shop().url, `{ supportChats(status: "maybe") { id } }`, {}, customer.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, CHATS))).toBe('UNAUTHENTICATED');
  });

  it('rejoins an existing chat by chatId on another device', async () => {
    const a = await connect(customer.token);
    const opened = await emitAck(a.s, 'join_support_chat', { issue: 'Sizing question' });
    expect(opened.data.priority).toBe('normal');
    const b = await connect(customer.token);
    const again = await emitAck(b.s, 'join_support_chat', { chatId: opened.data.chatId });
    expect(again).toEqual({ ok: true, data: opened.data });
    await waitFor(() => b.rec.of('support_chat_joined').length === 1);
    // The second device now writes to that chat without naming it, and both devices get the message.
    await emitAck(b.s, 'support_message', { message: 'from my phone' });
    await waitFor(() => a.rec.of('support_message_received').length === 1 && b.rec.of('support_message_received').length === 1);
  });

  it('works through the GraphQL mutations too', async () => {
    const adm = await connect(admin.token);
    await emitAck(adm.s, 'join_room', { room: 'admin' });
    const chat = (await gqlOk(shop().url, `mutation { openSupportChat(issue: "Refund", priority: "urgent") { id chatRoom issue priority status user { id role } } }`, {}, customer.token)).openSupportChat;
    expect(chat).toMatchObject({ chatRoom: `support_${chat.id}`, issue: 'Refund', priority: 'urgent', status: 'open', user: { id: customer.id, role: 'CUSTOMER' } });
    await waitFor(() => adm.rec.of('new_support_request').some((r) => r.chatId === chat.id), 5000, 'new_support_request');
    await emitAck(adm.s, 'join_room', { room: chat.chatRoom });
    const SEND = `mutation($chatId: ID!, $message: String!) { sendSupportMessage(chatId: $chatId, message: $message) { id chatId message isAdmin } }`;
    const msg = (await gqlOk(shop().url, SEND, { chatId: chat.id, message: 'Where is my refund?' }, customer.token)).sendSupportMessage;
    expect(msg).toMatchObject({ chatId: chat.id, message: 'Where is my refund?', isAdmin: false });
    await waitFor(() => adm.rec.of('support_message_received').some((m) => m.id === msg.id), 5000, 'message to admin');
    const TYPE = `mutation($room: String!, $t: Boolean!) { setTyping(room: $room, isTyping: $t) }`;
    expect((await gqlOk(shop().url, TYPE, { room: chat.chatRoom, t: true }, customer.token)).setTyping).toBe(true);
    await waitFor(() => adm.rec.of('user_typing').some((t) => t.userId === customer.id && t.isTyping), 5000, 'typing to admin');
    expect(codeOf(await gql(shop().url, SEND, { chatId: chat.id, message: 'hi' }, stranger.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(shop().url, TYPE, { room: chat.chatRoom, t: true }, stranger.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(shop().url, TYPE, { room: 'admin', t: true }, customer.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, `mutation { openSupportChat(issue: "x", priority: "whenever") { id } }`, {}, customer.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(shop().url, `mutation { openSupportChat(issue: "x") { id } }`))).toBe('UNAUTHENTICATED');
  });

  it('refuses bad messages and anonymous callers, and changes nothing', async () => {
    const cust = await connect(customer.token);
    const { data } = await emitAck(cust.s, 'join_support_chat', { issue: 'Bad input' });
    const SEND = `mutation($chatId: ID!, $message: String!) { sendSupportMessage(chatId: $chatId, message: $message) { id } }`;
    for (const message of ['', '   ', 'x'.repeat(2001)]) {
      expect(codeOf(await gql(shop().url, SEND, { chatId: data.chatId, message }, customer.token))).toBe('BAD_USER_INPUT');
      expect(await emitAck(cust.s, 'support_message', { message })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    }
    expect(await emitAck(cust.s, 'support_message', { message: 'x'.repeat(2000) })).toMatchObject({ ok: true });
    expect(await emitAck(cust.s, 'support_message', {})).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect(await emitAck(cust.s, 'join_support_chat', {})).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    expect(await emitAck(cust.s, 'typing_start', { room: 'product_123' })).toMatchObject({ ok: false, error: { code: 'BAD_USER_INPUT' } });
    const history = await gqlOk(shop().url, `query($c: ID!) { supportMessages(chatId: $c) { id } }`, { c: data.chatId }, customer.token);
    expect(history.supportMessages).toHaveLength(1);

    const anon = await connect();
    expect(await emitAck(anon.s, 'join_support_chat', { issue: 'hi' })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(await emitAck(anon.s, 'support_message', { message: 'hi', chatId: data.chatId })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    // Without an acknowledgement the refusal arrives as an `error` event; the socket stays connected.
    anon.s.emit('typing_start', { room: `support_${data.chatId}` });
    await waitFor(() => anon.rec.of('error').length === 1);
    expect(anon.rec.of('error')[0]).toMatchObject({ event: 'typing_start', code: 'UNAUTHENTICATED' });
    expect(anon.s.connected).toBe(true);
  });
});
