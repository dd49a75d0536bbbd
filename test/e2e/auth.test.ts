import jwt from 'jsonwebtoken';
import { codeOf, gql, gqlOk } from '../support/clients';
import { makeAdmin, makeUser } from '../support/fixtures';
import { TEST_JWT_SECRET } from '../support/shop';
import { useShop } from '../support/use-shop';

const { shop } = useShop({ redis: false });

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { token user { id email name role } } }`;
const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id email role } } }`;
const ME = `{ me { id email name role } }`;

describe('auth', () => {
  it('registers, logs in and answers me with the token', async () => {
    const reg = await gqlOk(shop().url, REGISTER, { input: { email: 'Alice@Example.com', password: 'correct-horse', name: 'Alice' } });
    expect(reg.register.user).toMatchObject({ email: 'alice@example.com', name: 'Alice', role: 'CUSTOMER' });
    const login = await gqlOk(shop().url, LOGIN, { email: 'ALICE@example.COM', password: 'correct-horse' });
    expect(login.login.user.id).toBe(reg.register.user.id);
    const me = await gqlOk(shop().url, ME, {}, login.login.token);
    expect(me.me).toMatchObject({ id: reg.register.user.id, email: 'alice@example.com' });
    const anon = await gqlOk(shop().url, ME);
    expect(anon.me).toBeNull();
  });

  it('refuses a duplicate email in any case with CONFLICT', async () => {
    await gqlOk(shop().url, REGISTER, { input: { email: 'bob@example.com', password: 'password-1', name: 'Bob' } });
    const again = await gql(shop().url, REGISTER, { input: { email: 'BOB@example.com', password: 'password-2', name: 'Bob 2' } });
    expect(codeOf(again)).toBe('CONFLICT');
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    await gqlOk(shop().url, REGISTER, { input: { email: 'carol@example.com', password: 'password-1', name: 'Carol' } });
    const wrong = await gql(shop().url, LOGIN, { email: 'carol@example.com', password: 'nope-nope' });
    const unknown = await gql(shop().url, LOGIN, { email: 'nobody@example.com', password: 'nope-nope' });
    expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
    expect(codeOf(unknown)).toBe('UNAUTHENTICATED');
    expect(wrong.errors![0].message).toBe(unknown.errors![0].message);
  });

  it('gives field-level details for invalid registration input', async () => {
    const r = await gql(shop().url, REGISTER, { input: { email: 'not-an-email', password: 'short', name: '' } });
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    const paths = (r.errors![0].extensions!.fields as Array<{ path: string }>).map((f) => f.path).sort();
    expect(paths).toEqual(['email', 'name', 'password']);
  });

  it('refuses expired, forged and alg:none tokens with UNAUTHENTICATED (never anonymous)', async () => {
    const user = await makeUser(shop());
    const claims = { role: 'CUSTOMER' };
    const base = { subject: user.id, issuer: 'shoe-store-api', audience: 'shoe-store' };
    const expired = jwt.sign(claims, TEST_JWT_SECRET, { ...base, algorithm: 'HS256', expiresIn: -10 });
    const forged = jwt.sign(claims, 'some-other-secret-some-other-secret', { ...base, algorithm: 'HS256', expiresIn: 60 });
    const none = jwt.sign(claims, '', { ...base, algorithm: 'none' as never, expiresIn: 60 });
    const wrongAudience = jwt.sign(claims, TEST_JWT_SECRET, { ...base, audience: 'someone-else', algorithm: 'HS256', expiresIn: 60 });
    for (const token of [expired, forged, none, wrongAudience, 'garbage']) {
      const r = await gql(shop().url, ME, {}, token);
      expect(codeOf(r)).toBe('UNAUTHENTICATED');
      expect(r.data?.me).toBeUndefined();
    }
    const ok = await gqlOk(shop().url, ME, {}, user.token);
    expect(ok.me.id).toBe(user.id);
  });

  it('stops accepting a token the moment it expires, also after it was accepted (verified tokens are remembered only until exp)', async () => {
    const user = await makeUser(shop());
    const base = { subject: user.id, issuer: 'shoe-store-api', audience: 'shoe-store', algorithm: 'HS256' as const };
    // exp has whole-second precision: the token lives until the start of the second after next.
    const exp = Math.floor(Date.now() / 1000) + 2;
    const shortLived = jwt.sign({ role: 'CUSTOMER', exp }, TEST_JWT_SECRET, base);
    expect((await gqlOk(shop().url, ME, {}, shortLived)).me.id).toBe(user.id);
    expect((await gqlOk(shop().url, ME, {}, shortLived)).me.id).toBe(user.id);
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    const late = await gql(shop().url, ME, {}, shortLived);
    expect(codeOf(late)).toBe('UNAUTHENTICATED');
    expect(late.errors![0].message).toBe('Token expired');
  });

  it('gives FORBIDDEN to a customer calling an admin mutation, UNAUTHENTICATED to anonymous', async () => {
    const user = await makeUser(shop());
    const q = `mutation { createProduct(input: { name: "X", brand: "B", category: "c", price: 10, variants: [{ size: "9", color: "red", stock: 1 }] }) { id } }`;
    expect(codeOf(await gql(shop().url, q, {}, user.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(shop().url, q))).toBe('UNAUTHENTICATED');
    const admin = await makeAdmin(shop());
    const ok = await gqlOk(shop().url, q, {}, admin.token);
    expect(ok.createProduct.id).toEqual(expect.any(String));
  });

  it('promotes ADMIN_EMAIL at start-up through ensureAdmin', async () => {
    const user = await makeUser(shop());
    await shop().app.services.users.ensureAdmin(user.email.toUpperCase(), 'ignored-for-existing');
    const login = await gqlOk(shop().url, LOGIN, { email: user.email, password: 'password-123' });
    expect(login.login.user.role).toBe('ADMIN');
  });
});
