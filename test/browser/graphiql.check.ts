/**
 * `npm run test:browser`: the shop as `npm start` runs it (built, embedded PostgreSQL in a fresh
 * data dir, demo data), and Debian's headless Chromium with every non-loopback request blocked,
 * driven over the DevTools protocol. A person's path through GraphiQL:
 *   1. /graphql renders GraphiQL from this server alone (no CDN, nothing external requested);
 *   2. the Run button on the default query returns the catalogue;
 *   3. a query typed into the editor with an Authorization header (token from `login`) runs as that user;
 *   4. a subscription started from GraphiQL (graphql-ws) shows an event caused by a stock change.
 * Screenshots: /tmp/graphiql.png (after 2) and /tmp/graphiql-subscription.png (after 4).
 * Ends with "N passed, N failed" and a non-zero exit code on any failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../support/redis-server';

const ROOT = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOT = process.env.GRAPHIQL_SCREENSHOT ?? '/tmp/graphiql.png';
const SHOT_SUB = SHOT.replace(/\.png$/, '-subscription.png');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}


/** A minimal Chrome DevTools Protocol client over one browser WebSocket (flattened sessions). */
class Cdp {
  private id = 0;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; method: string }>();
  private listeners: Array<(method: string, params: any, sessionId?: string) => void> = [];

  private constructor(private ws: WebSocket) {
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      } else {
        for (const l of this.listeners) l(msg.method, msg.params, msg.sessionId);
      }
    });
  }

  static connect(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.once('open', () => resolve(new Cdp(ws)));
      ws.once('error', reject);
    });
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = ++this.id;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(fn: (method: string, params: any, sessionId?: string) => void): void {
    this.listeners.push(fn);
  }

  close(): void {
    this.ws.close();
  }
}

interface Shop {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function startShop(dataDir: string): Promise<Shop> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'SEED_DEMO_DATA', 'JWT_SECRET', 'GRAPHQL_IDE', 'GRAPHQL_INTROSPECTION']) delete env[k];
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  await until('the shop to print its URLs', async () => gone || /Shoe Store API ready/.test(out), 120_000);
  if (gone) throw new Error(`the shop exited during start-up:\n${out}`);
  return { child, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}

async function gqlHttp(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<any> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function main(): Promise<number> {
  if (!existsSync(path.join(ROOT, 'dist/src/main.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm run test:browser does)');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);

  const results: Array<{ name: string; ok: boolean; detail?: string }> = [];
  const check = async (name: string, fn: () => Promise<string | void>) => {
    try {
      const detail = await fn();
      results.push({ name, ok: true, detail: detail || undefined });
      process.stdout.write(`  ✓ ${name}${detail ? ` — ${detail}` : ''}\n`);
    } catch (err) {
      results.push({ name, ok: false, detail: (err as Error).message });
      process.stdout.write(`  ✗ ${name}\n      ${(err as Error).message.split('\n').join('\n      ')}\n`);
    }
  };

  const work = mkdtempSync(path.join(os.tmpdir(), 'graphiql-check-'));
  chmodSync(work, 0o755); // as root, embedded PostgreSQL runs as the `postgres` user and must reach its data dir
  const profile = path.join(work, 'chromium-profile');
  let shop: Shop | undefined;
  let browser: ChildProcess | undefined;
  let cdp: Cdp | undefined;
  try {
    const t0 = Date.now();
    shop = await startShop(path.join(work, 'data'));
    process.stdout.write(`GraphiQL browser check: shop on ${shop.url} (cold start ${Date.now() - t0} ms, embedded PostgreSQL in ${work}/data)\n`);
    const password = /password for both: (\S+?)\)/.exec(shop.output())?.[1] ?? '';
    const adminEmail = /^\s+admin\s+(\S+@\S+)/m.exec(shop.output())?.[1] ?? '';

    browser = spawn(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--no-default-browser-check',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-extensions',
      '--disable-features=Translate,OptimizationHints,MediaRouter', '--metrics-recording-only', '--mute-audio',
      // Nothing but loopback resolves: a CDN reference would fail to load and be reported below.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      `--user-data-dir=${profile}`, '--remote-debugging-port=0', '--window-size=1400,900', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let browserLog = '';
    browser.stderr!.on('data', (d) => (browserLog += d));
    const portFile = path.join(profile, 'DevToolsActivePort');
    const [devPort, devPath] = await until('Chromium DevTools', async () => {
      if (browser!.exitCode !== null) throw new Error(`chromium exited: ${browserLog.slice(-2000)}`);
      return existsSync(portFile) && readFileSync(portFile, 'utf8').includes('\n') ? readFileSync(portFile, 'utf8').trim().split('\n') : null;
    }, 30_000);
    cdp = await Cdp.connect(`ws://127.0.0.1:${devPort}${devPath}`);
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
    const page = <T = any>(method: string, params: Record<string, unknown> = {}) => cdp!.send<T>(method, params, sessionId);

    const requests: string[] = [];
    const failed: string[] = [];
    const consoleErrors: string[] = [];
    let loaded = false;
    cdp.on((method, params, sid) => {
      if (sid !== sessionId) return;
      if (method === 'Network.requestWillBeSent') requests.push(params.request.url);
      if (method === 'Network.loadingFailed' && !params.canceled) failed.push(`${params.errorText} (${params.type})`);
      if (method === 'Runtime.exceptionThrown') consoleErrors.push(params.exceptionDetails?.exception?.description ?? params.exceptionDetails?.text);
      if (method === 'Runtime.consoleAPICalled' && params.type === 'error') consoleErrors.push(params.args.map((a: any) => a.value ?? a.description).join(' '));
      if (method === 'Page.loadEventFired') loaded = true;
    });
    await Promise.all([page('Page.enable'), page('Network.enable'), page('Runtime.enable')]);
    await page('Emulation.setDeviceMetricsOverride', { width: 1400, height: 900, deviceScaleFactor: 1, mobile: false });

    const evaluate = async <T = any>(expression: string): Promise<T> => {
      const r = await page('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) throw new Error(`page script failed: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value as T;
    };
    const editor = (selector: string) => `document.querySelector(${JSON.stringify(selector)})`;
    const responseText = () => evaluate<string>(`(() => { const el = ${editor('.graphiql-response .CodeMirror')}; return el && el.CodeMirror ? el.CodeMirror.getValue() : ''; })()`);
    /** A real mouse click in the middle of an element, as a person would. */
    const click = async (selector: string) => {
      const box = await evaluate<{ x: number; y: number } | null>(`(() => { const el = ${editor(selector)}; if (!el) return null; const r = el.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
      if (!box) throw new Error(`no element ${selector}`);
      for (const type of ['mousePressed', 'mouseReleased']) {
        await page('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
      }
    };
    /** Clicks Run and waits for the result pane to show a new result containing `expect`. */
    const runAndRead = async (expect: string, what: string, timeoutMs = 15_000) => {
      await sleep(800); // GraphiQL takes in editor changes after a short debounce, as a person pauses before Run
      await evaluate(`(() => { const el = ${editor('.graphiql-response .CodeMirror')}; if (el && el.CodeMirror) el.CodeMirror.setValue(''); })()`);
      await click('.graphiql-execute-button');
      return until(what, async () => {
        const t = await responseText();
        return t.includes(expect) || t.includes('"errors"') ? t : null;
      }, timeoutMs);
    };
    const screenshot = async (file: string) => {
      const { data } = await page<{ data: string }>('Page.captureScreenshot', { format: 'png' });
      writeFileSync(file, Buffer.from(data, 'base64'));
    };

    await check('GET /graphql renders GraphiQL with every asset from this server', async () => {
      await page('Page.navigate', { url: `${shop!.url}/graphql` });
      await until('the page load event', async () => loaded, 20_000);
      await until('the GraphiQL editors', () => evaluate<boolean>(`!!(${editor('.graphiql-container')} && ${editor('.graphiql-query-editor .CodeMirror')} && ${editor('.graphiql-execute-button')})`), 20_000);
      const origin = new URL(shop!.url).origin;
      const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:') && !u.startsWith('ws://127.0.0.1'));
      if (foreign.length) throw new Error(`requests outside the server: ${foreign.join(', ')}`);
      if (failed.length) throw new Error(`failed loads: ${failed.join(', ')}`);
      return `${requests.length} requests, all to ${origin}`;
    });

    await check('Run on the default query returns the demo catalogue', async () => {
      const text = await runAndRead('"data"', 'a response in the result pane');
      const json = JSON.parse(text);
      if (json.errors) throw new Error(`the default query failed in GraphiQL: ${JSON.stringify(json.errors)}`);
      if (json.data?.products?.totalCount !== 20) throw new Error(`expected totalCount 20, got ${text.slice(0, 300)}`);
      await screenshot(SHOT);
      return `totalCount ${json.data.products.totalCount}, ${json.data.products.edges.length} products shown; screenshot ${SHOT}`;
    });

    const login = await gqlHttp(shop.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: adminEmail, p: password });
    const token: string = login.data?.login?.token;

    await check('a query typed into the editor runs with the Authorization header as the signed-in admin', async () => {
      if (!token) throw new Error(`login with the printed demo credentials failed: ${JSON.stringify(login)}`);
      await evaluate(`(() => { const cm = ${editor('.graphiql-query-editor .CodeMirror')}.CodeMirror; cm.setValue(''); cm.focus(); })()`);
      await page('Input.insertText', { text: 'query Me { me { email role } }' });
      await click('.graphiql-editor-tools button:nth-of-type(2)'); // the Headers tab
      const headers = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
      await until('the headers editor', () => evaluate<boolean>(`!!${editor(headers)}`));
      await evaluate(`${editor(headers)}.CodeMirror.setValue(${JSON.stringify(JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2))})`);
      const text = await runAndRead('"me"', 'the Me result');
      const json = JSON.parse(text);
      if (json.data?.me?.email !== adminEmail || json.data?.me?.role !== 'ADMIN') throw new Error(`unexpected result: ${text.slice(0, 300)}`);
      return `me = ${json.data.me.email} (${json.data.me.role})`;
    });

    await check('a subscription started in GraphiQL (graphql-ws) shows a live stock event', async () => {
      const products = await gqlHttp(shop!.url, '{ products(first: 1) { edges { node { id name variants { size color } } } } }');
      const p = products.data.products.edges[0].node;
      await evaluate(`(() => { const cm = ${editor('.graphiql-query-editor .CodeMirror')}.CodeMirror; cm.setValue(''); cm.focus(); })()`);
      await page('Input.insertText', { text: `subscription Stock {\n  productStockUpdate(productId: "${p.id}") {\n    productId variant { size color } stock stockChange inStock timestamp\n  }\n}` });
      await sleep(800);
      await evaluate(`(() => { const el = ${editor('.graphiql-response .CodeMirror')}; if (el && el.CodeMirror) el.CodeMirror.setValue(''); })()`);
      await click('.graphiql-execute-button');
      await sleep(500); // the subscription is acknowledged before the change below
      let received = '';
      for (let attempt = 0; attempt < 10 && !received; attempt++) {
        const r = await gqlHttp(shop!.url, 'mutation($id: ID!, $v: VariantInput!) { adjustStock(productId: $id, variant: $v, delta: 3) { id } }', { id: p.id, v: p.variants[0] }, token);
        if (r.errors) throw new Error(`adjustStock failed: ${JSON.stringify(r.errors)}`);
        received = await until('the event in the result pane', async () => {
          const t = await responseText();
          return t.includes('productStockUpdate') ? t : null;
        }, 2_000).catch(() => '');
      }
      if (!received) throw new Error(`no event shown; result pane: ${(await responseText()).slice(0, 300)}`);
      const json = JSON.parse(received);
      if (json.data.productStockUpdate.productId !== p.id || json.data.productStockUpdate.stockChange !== 3) throw new Error(`unexpected event: ${received.slice(0, 300)}`);
      await screenshot(SHOT_SUB);
      return `productStockUpdate for "${p.name}" stock ${json.data.productStockUpdate.stock}; screenshot ${SHOT_SUB}`;
    });

    await check('no external request was attempted and the page logged no errors', async () => {
      const origin = new URL(shop!.url).origin;
      const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
      if (foreign.length) throw new Error(`requests outside the server: ${foreign.join(', ')}`);
      if (consoleErrors.length) throw new Error(`console errors: ${consoleErrors.join(' | ')}`);
      return `${requests.length} requests in all`;
    });
  } catch (err) {
    results.push({ name: 'setup', ok: false, detail: (err as Error).message });
    process.stdout.write(`  ✗ setup\n      ${(err as Error).message}\n`);
  } finally {
    cdp?.close();
    if (browser && browser.exitCode === null) {
      const gone = new Promise((r) => browser!.once('exit', r));
      browser.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (browser.exitCode === null) browser.kill('SIGKILL');
    }
    if (shop && shop.child.exitCode === null) {
      shop.child.kill('SIGTERM');
      const code = await Promise.race([shop.exited, sleep(20_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        shop.child.kill('SIGKILL');
        results.push({ name: 'the shop stops on SIGTERM', ok: false, detail: 'still running 20 s after SIGTERM' });
        process.stdout.write('  ✗ the shop stops on SIGTERM (still running after 20 s)\n');
      } else if (code !== 0) {
        results.push({ name: 'the shop stops on SIGTERM', ok: false, detail: `exit code ${code}` });
        process.stdout.write(`  ✗ the shop stops on SIGTERM with exit code ${code}\n`);
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.ok).length;
  const failedCount = results.length - passed;
  process.stdout.write(`graphiql: ${passed} passed, ${failedCount} failed\n`);
  return failedCount ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`GraphiQL browser check could not run: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
