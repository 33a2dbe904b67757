// Runs the real built Worker in `wrangler dev` (workerd with local KV, Queue and D1) against
// mock upstream APIs on 127.0.0.1, each test run in a fresh state directory.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encrypt, nonce, now, plainQuery, sha1Signature } from './wechat-client.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler');

export const SECRETS = {
  WECHAT_TOKEN: 'e2e-token',
  WECHAT_APPID: 'wxe2e0000000000001',
  WECHAT_APPSECRET: 'e2e-appsecret',
  WECHAT_AES_KEY: 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR',
  SHOP_TOKEN: 'e2e-shop-token',
  SHOP_APPID: 'wxe2eshop000000001',
  SHOP_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  PAY_SIGN_KEY: 'e2e-pay-sign-key',
  ORDER_WEBHOOK_SECRET: 'e2e-webhook-secret',
  WECOM_ROBOT_KEY: 'e2e-robot-key',
  ADMIN_TOKEN: 'e2e-admin-token',
  CARESOFT_API_TOKEN: 'e2e-caresoft-token',
  ZALO_APP_ID: '3620184551288361477',
  ZALO_APP_SECRET: 'e2e-zalo-app-secret',
  ZALO_OA_SECRET_KEY: 'e2e-oa-secret-key',
  // The suites send plain-mode pushes to endpoints that also have an AES key, as during a switch
  // of modes; safe.test.mjs starts a Worker without it, as deployed by default.
  ALLOW_UNENCRYPTED_PUSH: 'true',
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// A mock HTTP API that records every request and answers through a programmable responder.
// `respond(req)` returns {status, json|body}; `failNext(n, status)` makes the next n calls fail.
export async function startMock(name, respond = () => ({ status: 200, json: { errcode: 0, errmsg: 'ok' } })) {
  const mock = { name, requests: [], respond, failures: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      const record = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body, at: Date.now() };
      try { record.json = JSON.parse(body); } catch { /* not JSON */ }
      mock.requests.push(record);
      const failure = mock.failures.shift();
      const answer = failure ?? mock.respond(record);
      if (answer.hang) return; // never answers: the caller's timeout must end the call
      res.writeHead(answer.status ?? 200, { 'content-type': answer.json ? 'application/json' : 'text/plain', ...(answer.headers ?? {}) });
      res.end(answer.json ? JSON.stringify(answer.json) : (answer.body ?? ''));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  mock.url = `http://127.0.0.1:${server.address().port}`;
  mock.failNext = (n, status = 500, json, headers) => { for (let i = 0; i < n; i++) mock.failures.push({ status, json, headers }); };
  // The next call is left unanswered (the connection stays open).
  mock.hangNext = () => mock.failures.push({ hang: true });
  mock.calls = (p) => mock.requests.filter((r) => r.path === p);
  mock.close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });
  return mock;
}

// Starts the Worker with the given settings in a fresh state directory. `withoutQueue` drops the
// producer binding, so that every enqueue fails (the route must then answer 5xx); `withoutD1`
// drops the D1 binding (an outage); `stateDir` keeps local KV/D1/Queue state in a directory the
// caller owns, so a second Worker can start on the first one's state.
export async function startWorker(vars = {}, { withoutQueue = false, withoutD1 = false, stateDir } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-e2e-'));
  let config = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8')
    .replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(ROOT, 'build/index.js'))}`)
    .replace(/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(path.join(ROOT, 'migrations'))}`)
    .replace(/^directory = .*$/m, `directory = ${JSON.stringify(path.join(ROOT, 'build/dashboard'))}`)
    // The test command builds once beforehand; no rebuild per Worker start.
    .replace(/^\[build\]\ncommand = .*$/m, '');
  if (withoutQueue) config = config.replace(/^\[\[queues\.producers\]\]\n.*\n.*\n/m, '');
  fs.writeFileSync(path.join(dir, 'wrangler.toml'), config);
  const settings = { ...SECRETS, ...vars };
  fs.writeFileSync(path.join(dir, '.dev.vars'),
    Object.entries(settings).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`).join('\n') + '\n');
  const state = stateDir ?? path.join(dir, 'state');
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' };
  const migrate = spawnSync(WRANGLER, ['d1', 'migrations', 'apply', 'KEFU_DB', '--local', '--persist-to', state, '-c', path.join(dir, 'wrangler.toml')],
    { cwd: dir, env, encoding: 'utf8' });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  if (withoutD1) fs.writeFileSync(path.join(dir, 'wrangler.toml'), config.replace(/^\[\[d1_databases\]\]\n(.+\n)+?migrations_dir = .*\n/m, ''));
  const port = await freePort();
  const child = spawn(WRANGLER, ['dev', '-c', path.join(dir, 'wrangler.toml'), '--ip', '127.0.0.1', '--port', String(port),
    '--persist-to', state, '--test-scheduled', '--show-interactive-dev-session=false', '--inspector-port', String(await freePort())],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const worker = { url: `http://127.0.0.1:${port}`, log: '', dir, settings };
  child.stdout.on('data', (d) => { worker.log += d; });
  child.stderr.on('data', (d) => { worker.log += d; });
  worker.stop = async () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    await new Promise((resolve) => { if (child.exitCode !== null) resolve(); else child.on('exit', resolve); setTimeout(resolve, 5000); });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${worker.log}`);
    try {
      const r = await fetch(`${worker.url}/healthz`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { await worker.stop(); throw new Error(`wrangler dev did not start:\n${worker.log}`); }
    await sleep(250);
  }
  worker.admin = (p, init = {}) => fetch(`${worker.url}${p}`, {
    ...init, headers: { authorization: `Bearer ${settings.ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  worker.events = async () => (await (await worker.admin('/api/events?limit=1000')).json()).events;
  // The stored events with this dedup key, once there is one.
  worker.storedWith = (dedupKey) => waitFor(async () => {
    const found = (await worker.events()).filter((e) => e.dedup_key === dedupKey);
    return found.length > 0 && found;
  }, `event ${dedupKey} stored`);
  // Proves that bad requests enqueued nothing: after them, a valid sentinel push is the only new
  // event (the queue delivers in order, so anything enqueued before it is stored first).
  // `sendSentinel()` sends one valid push and returns its dedup key.
  worker.assertNothingEnqueuedBy = async (sendSentinel, sendBadRequests) => {
    const sentinel = async () => (await worker.storedWith(await sendSentinel()))[0];
    // The first sentinel drains what earlier tests enqueued.
    const first = await sentinel();
    await sendBadRequests();
    const second = await sentinel();
    const between = (await worker.events()).filter((e) => e.id > first.id && e.id !== second.id);
    assert.deepEqual(between.map((e) => e.dedup_key), []);
  };
  // Sends each [name, query, body, status, reason] case as a POST to `route` and checks that it
  // answers `status` with a JSON `error` matching `reason`.
  worker.expectRejections = async (route, cases) => {
    for (const [name, query, body, status, reason] of cases) {
      const r = await fetch(`${worker.url}${route}?${query}`, { method: 'POST', body });
      assert.equal(r.status, status, name);
      const { error } = await r.json();
      assert.match(error, reason, name);
    }
  };
  return worker;
}

// The server-URL check (GET ?signature&timestamp&nonce&echostr) of a WeChat push route, plain
// and in safe mode, as tests of the current suite. `getWorker()` is called when they run.
export function urlVerificationTests(route, { token, aesKey, appid }, getWorker) {
  const get = (query) => fetch(`${getWorker().url}${route}?${query}`);
  test('echoes echostr when the signature matches', async () => {
    const r = await get(`${plainQuery(token)}&echostr=5927782489442352469`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    assert.equal(await r.text(), '5927782489442352469');
  });
  test('in safe mode, answers the decrypted echostr', async () => {
    const echostr = encrypt(aesKey, appid, '8721436582914');
    const ts = String(now());
    const n = nonce();
    const r = await get(new URLSearchParams({ msg_signature: sha1Signature(token, ts, n, echostr), timestamp: ts, nonce: n, echostr }));
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '8721436582914');
  });
  test('refuses a wrong signature, a stale timestamp and missing parameters', async () => {
    const ts = String(now());
    assert.equal((await get(`signature=${'0'.repeat(40)}&timestamp=${ts}&nonce=1&echostr=x`)).status, 403);
    assert.equal((await get(`${plainQuery(token, { timestamp: now() - 3600 })}&echostr=x`)).status, 403);
    assert.equal((await get(plainQuery(token))).status, 400);
    assert.equal((await get('echostr=x')).status, 400);
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `probe` until it returns a truthy value or the time runs out.
export async function waitFor(probe, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
