// The bill, counted: drives each kind of callback through the built Worker in `wrangler dev`
// (tests/e2e/harness.mjs: local KV, Queue and D1, mock WeChat and WeCom APIs on 127.0.0.1), lets
// the queue consumer finish everything each one caused, runs the cron once, and collects the
// `usage` every log line carries (src/usage.rs); then polls each view of the staff dashboard as
// it polls while open. Writes bench/.work/usage.json for
// `kefu-bill` (src/bin/kefu-bill.rs), which prices it. Progress goes to stderr.
//
// node bench/cost.mjs [--out bench/.work/usage.json] [--per-scenario N] [--history N]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECRETS, sleep, startMock, startWorker, waitFor } from '../tests/e2e/harness.mjs';
import { cdata, jsonWithBigInts, msgId, now, safePush } from '../tests/e2e/wechat-client.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const OUT = path.resolve(ROOT, option('--out', 'bench/.work/usage.json'));
const N = Number(option('--per-scenario', '5'));
// A merchant's database is not empty: queries that scan a table read more rows the longer the
// Worker has run. This many past conversations (closed tickets with their events, timeline
// entries and sent alerts; a tenth as many orders and deliveries) are there before counting.
const HISTORY = Number(option('--history', '20000'));
const say = (...m) => console.error('[cost]', ...m);

// Deployed settings: safe mode only (no ALLOW_UNENCRYPTED_PUSH), as scripts/deploy.sh sets up.
const { WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APPID, SHOP_TOKEN, SHOP_AES_KEY, SHOP_APPID, PAY_SIGN_KEY, ORDER_WEBHOOK_SECRET } = SECRETS;

const wechat = await startMock('wechat', (req) => {
  if (req.path === '/cgi-bin/stable_token') return { json: { access_token: 'T1', expires_in: 7200 } };
  if (req.path === '/cgi-bin/customservice/getonlinekflist') {
    return { json: { kf_online_list: [{ kf_account: 'anna@gh_bench', status: 1, kf_id: 1001, accepted_case: 0, auto_accept: 5 }] } };
  }
  return { json: { errcode: 0, errmsg: 'ok' } };
});
const robot = await startMock('robot');
const vars = { WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, ALLOW_UNENCRYPTED_PUSH: undefined };
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-cost-'));
// On a shared machine a port the harness found free can be taken before workerd binds it
// ("Address already in use"): try again with other ports.
async function start() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWorker(vars, { stateDir });
    } catch (error) {
      if (attempt === 3) throw error;
      say(`wrangler dev did not start (${String(error.message).split('\n').find((l) => /Error|error/.test(l)) ?? 'see its log'}); trying again`);
    }
  }
}
// A first Worker applies the migrations; the history goes in while no Worker runs.
await (await start()).stop();
seedHistory(stateDir, HISTORY);
const worker = await start();
const stopAll = async () => {
  await worker.stop(); await wechat.close(); await robot.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
};
process.on('SIGINT', async () => { await stopAll(); process.exit(130); });

// The merchant's rules, as a typical shop has them: an FAQ, routes by keyword and category.
const rules = {
  faq: [{ keywords: ['发票', 'invoice'], reply: '发票在订单详情页申请 Invoices are requested on the order page.' },
        { category: 'not_delivered', reply: '卡密会在 5 分钟内补发 keys are re-sent within 5 minutes' }],
  routes: [{ keywords: ['退款', 'refund'], category: 'refund', kf_accounts: ['anna@gh_bench'] },
           { category: 'not_delivered', kf_accounts: ['anna@gh_bench'] }],
};
const put = await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify(rules) });
if (put.status !== 200) throw new Error(`PUT /api/rules: ${put.status} ${await put.text()}`);

function seedHistory(state, n) {
  const past = now() - 90 * 86400;
  const rows = (count, insert) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count}) ${insert};`;
  const sql = [
    rows(n, `INSERT INTO events (dedup_key, kind, payload, received_at, stored_at) SELECT 'hist:' || i, 'oa_message', '{}', ${past} + i, ${past} + i FROM n`),
    rows(n, `INSERT INTO tickets (channel, customer_id, category, status, priority, opened_by, created_at, updated_at, first_response_at, resolved_at, first_response_due, resolution_due)
             SELECT 'oa', 'oHist' || i, 'general', 'closed', 'normal', 'hist:' || i, ${past} + i, ${past} + i, ${past} + i, ${past} + i, ${past} + i + 3600, ${past} + i + 86400 FROM n`),
    rows(n, `INSERT INTO ticket_timeline (ticket_id, at, kind, actor, body, event_key) SELECT i, ${past} + i, 'inbound', 'oHist' || i, 'hello', 'hist:' || i FROM n`),
    rows(n, `INSERT INTO alerts (dedup_key, ticket_id, text, created_at, claim, claimed_at, sent_at) SELECT 'ticket:hist:' || i, i, 'New oa ticket', ${past} + i, 'robot:hist', ${past} + i, ${past} + i FROM n`),
    rows(n / 10, `INSERT INTO orders (id, trans_id, goods_kind, status, amount, currency, product, paid_at, delivered_at, updated_at)
                  SELECT 'OHist' || i, '4200hist' || i, 'virtual', 'delivered', 1990, 'CNY', 'card', ${past} + i, ${past} + i, ${past} + i FROM n`),
    rows(n / 10, `INSERT INTO deliveries (id, target, payload, state, attempts, created_at, updated_at, next_attempt_at)
                  SELECT 'hist:' || i, 'wecom_robot', '{}', 'delivered', 1, ${past} + i, ${past} + i, ${past} + i FROM n`),
  ].join('\n');
  const file = path.join(state, 'history.sql');
  fs.writeFileSync(file, sql);
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' };
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/wrangler'),
    ['d1', 'execute', 'KEFU_DB', '--local', '--persist-to', state, '-c', path.join(ROOT, 'wrangler.toml'), '--file', file],
    { cwd: ROOT, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`seeding the history failed:\n${r.stdout}\n${r.stderr}`);
  say(`history: ${n} past conversations (events, tickets, timeline entries, sent alerts), ${n / 10} orders and deliveries`);
}

// ---- the callbacks, signed as each platform signs them -------------------------------------
const expectOk = async (r, what) => {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${await r.text()}`);
};
async function oa(fields) {
  const { query, body } = safePush(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APPID, cdata({ ToUserName: 'gh_bench', CreateTime: now(), ...fields }));
  await expectOk(await fetch(`${worker.url}/wechat/oa?${query}`, { method: 'POST', body }), 'POST /wechat/oa');
}
const oaText = (openid, content) => oa({ FromUserName: openid, MsgType: 'text', Content: content, MsgId: msgId() });
const oaEvent = (openid, event, extra = {}) => oa({ FromUserName: openid, MsgType: 'event', Event: event, ...extra });
async function shopText(openid, content) {
  const push = { ToUserName: 'gh_shop', FromUserName: openid, CreateTime: now(), MsgType: 'event', Event: 'commkf_send_msg_to_kf',
    msg_id: BigInt(msgId()), msg_type: 'text', text: { content } };
  const { query, body } = safePush(SHOP_TOKEN, SHOP_AES_KEY, SHOP_APPID, jsonWithBigInts(push), { envelope: 'json' });
  await expectOk(await fetch(`${worker.url}/wechat/shop?${query}`, { method: 'POST', body }), 'POST /wechat/shop');
}
async function complaint(openid, msgType, feedbackId, transId) {
  const timestamp = now();
  const sig = crypto.createHash('sha1').update(`appid=${WECHAT_APPID}&appkey=${PAY_SIGN_KEY}&openid=${openid}&timestamp=${timestamp}`).digest('hex');
  const xml = cdata({ OpenId: openid, AppId: WECHAT_APPID, TimeStamp: timestamp, MsgType: msgType, FeedBackId: feedbackId, TransId: transId,
    Reason: '卡密无效 invalid key', Solution: '退款', ExtInfo: '18610847266', AppSignature: sig, SignMethod: 'sha1' });
  await expectOk(await fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body: xml }), 'POST /wechat/payfeedback');
}
let serial = 0;
async function orderEvent(type, order, customer) {
  serial += 1;
  const body = JSON.stringify({ id: `evt_bench_${Date.now()}_${serial}`, type, created_at: now(), order, customer });
  const ts = String(now());
  const sig = crypto.createHmac('sha256', ORDER_WEBHOOK_SECRET).update(`${ts}.${body}`).digest('hex');
  await expectOk(await fetch(`${worker.url}/hooks/orders`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'x-kefu-timestamp': ts, 'x-kefu-signature': `sha256=${sig}` },
  }), 'POST /hooks/orders');
}
const newOrder = (i) => ({ id: `OB${Date.now()}${i}`, trans_id: `4200${Date.now()}${i}`, amount: 1990, currency: 'CNY',
  product: 'Steam 100元 充值卡', goods_kind: 'virtual', paid_at: now() - 60 });
const buyer = (i) => ({ openid: `oBuyer${Date.now()}${i}`, phone: '0983123148', name: 'Nguyễn Hải Hà' });

// ---- log lines and settling -----------------------------------------------------------------
// Every JSON log line of the Worker since `from` (an offset in worker.log).
function linesSince(from) {
  return worker.log.slice(from).split('\n').flatMap((line) => {
    const at = line.indexOf('{"');
    if (at < 0) return [];
    try { const v = JSON.parse(line.slice(at)); return v && v.log ? [v] : []; } catch { return []; }
  });
}
// The bench's own admin API calls (setup, polling) are not part of what a callback costs.
const isBench = (l) => l.log === 'request' && l.route.startsWith('/api');

// Waits until everything enqueued so far is done: no alert waiting for the robot, no delivery
// in flight, and no new consumer line for 3 s.
async function settle(from) {
  let seen = -1; let quietSince = Date.now();
  await waitFor(async () => {
    const count = linesSince(from).filter((l) => !isBench(l)).length;
    if (count !== seen) { seen = count; quietSince = Date.now(); return false; }
    if (Date.now() - quietSince < 3000) return false;
    const alerts = (await (await worker.admin('/api/alerts?limit=1000')).json()).alerts;
    const deliveries = (await (await worker.admin('/api/deliveries?limit=1000')).json()).deliveries;
    return alerts.every((a) => a.claim !== null) && deliveries.every((d) => d.state === 'delivered' || d.state === 'dead');
  }, 'the queue to drain', 180_000);
}

const scenarios = [];
// Runs `send(i)` for i in 0..n, waits for everything it caused, and keeps its lines.
async function scenario(key, label, route, n, send) {
  const from = worker.log.length;
  for (let i = 0; i < n; i++) await send(i);
  await settle(from);
  const lines = linesSince(from).filter((l) => !isBench(l));
  const invocations = (kind) => lines.filter((l) => l.log === kind).length;
  say(`${label}: ${n} callbacks, ${invocations('request')} requests, ${invocations('queue')} queue messages in ${invocations('batch')} batches`);
  scenarios.push({ key, label, route, callbacks: n, lines });
}

// ---- the scenarios ---------------------------------------------------------------------------
// Whatever fails, the Worker and the mocks stop, and the end of the Worker's log is shown.
process.on('uncaughtException', async (error) => {
  console.error(error, `\nthe Worker's log ends with:\n${worker.log.split('\n').slice(-30).join('\n')}`);
  await stopAll();
  process.exit(1);
});
const stamp = Date.now();
const oaCustomer = (i) => `oBench${stamp}_${i}`;
say(`wrangler dev on ${worker.url}; ${N} callbacks per scenario`);
await scenario('oa_message_new', 'OA message, new conversation (opens a ticket, alerts staff)', 'POST /wechat/oa safe (AES)', N,
  (i) => oaText(oaCustomer(i), `我要退款 refund please #${i}`));
await scenario('oa_message', 'OA message in an open conversation', 'POST /wechat/oa safe (AES)', N,
  (i) => oaText(oaCustomer(i), `订单号 O123${i} order number`));
await scenario('oa_message_faq', 'OA message answered by an FAQ rule', 'POST /wechat/oa safe (AES)', N,
  (i) => oaText(oaCustomer(i), `要开发票 invoice #${i}`));
await scenario('oa_kf_event', 'OA kf_create_session / kf_close_session event', 'POST /wechat/oa safe (AES)', N,
  (i) => oaEvent(oaCustomer(i), i % 2 ? 'kf_close_session' : 'kf_create_session', { KfAccount: 'anna@gh_bench' }));
await scenario('oa_event', 'OA other event (subscribe, menu click)', 'POST /wechat/oa safe (AES)', N,
  (i) => oaEvent(`oFan${stamp}_${i}`, 'subscribe'));
await scenario('shop_message_new', 'Shop message, new conversation', 'POST /wechat/shop safe (JSON)', N,
  (i) => shopText(`oShop${stamp}_${i}`, `什么时候发货 when does it ship #${i}`));
await scenario('shop_message', 'Shop message in an open conversation', 'POST /wechat/shop safe (JSON)', N,
  (i) => shopText(`oShop${stamp}_${i}`, `还没收到 not received yet #${i}`));
const paidOrders = Array.from({ length: N }, (_, i) => [newOrder(i), buyer(i)]);
await scenario('orders_paid', 'Card shop order.paid', 'POST /hooks/orders', N, (i) => orderEvent('order.paid', ...paidOrders[i]));
await scenario('orders_delivered', 'Card shop order.delivered', 'POST /hooks/orders', N,
  (i) => orderEvent('order.delivered', { ...paidOrders[i][0], delivered_at: now() }, paidOrders[i][1]));
await scenario('orders_problem', 'Card shop order.delivery_failed (ticket, alert, FAQ reply)', 'POST /hooks/orders', N, (i) => {
  const order = newOrder(100 + i);
  return orderEvent('order.delivery_failed', order, buyer(100 + i));
});
await scenario('pay_request', 'Pay complaint request (opens a complaint, alerts staff)', 'POST /wechat/payfeedback', N,
  (i) => complaint(`oPay${stamp}_${i}`, 'request', `FB${stamp}${i}`, paidOrders[i][0].trans_id));
await scenario('pay_confirm', 'Pay complaint confirm (closes it)', 'POST /wechat/payfeedback', N,
  (i) => complaint(`oPay${stamp}_${i}`, 'confirm', `FB${stamp}${i}`, paidOrders[i][0].trans_id));
await scenario('cron', 'Cron run (every minute), nothing due', null, N, async () => {
  await expectOk(await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`), 'GET /__scheduled');
  await sleep(500);
});

// ---- an agent's dashboard open for an hour ---------------------------------------------------
// Each view of the dashboard polls the admin API while it is open (dashboard/src: `useApi`'s
// refresh interval in each view), against the history above and what the callbacks left. Each
// view is polled N times; kefu-bill scales what they read to an hour and sets it against the
// rows the view shows (the rows of every list in its answers).
const adminJson = async (p) => {
  const r = await worker.admin(p);
  if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.json();
};
const openTicket = (await adminJson('/api/tickets?status=open&channel=oa&limit=1')).tickets[0];
if (!openTicket) throw new Error('no open OA ticket to view');
const viewedOrder = paidOrders[0][0].id;
// The rows an answer shows: the entries of its lists, and 1 for each record it holds.
const rowsIn = (...names) => (body) => names.reduce((sum, name) => {
  const v = body[name];
  return sum + (Array.isArray(v) ? v.length : v ? 1 : 0);
}, 0);
// key, label, refresh in seconds (as the view sets it), [path, rows shown in its answer]...
const views = [
  ['queue', 'Queue, every ticket (the default view)', 5, [['/api/tickets?limit=200', rowsIn('tickets')]]],
  ['queue_open', 'Queue filtered: open', 5, [['/api/tickets?status=open&limit=200', rowsIn('tickets')]]],
  ['queue_mine', 'Queue filtered: mine (an assignee)', 5, [['/api/tickets?assignee=anna%40gh_bench&limit=200', rowsIn('tickets')]]],
  ['ticket', 'A ticket (its timeline, order, complaints)', 10,
    [[`/api/tickets/${openTicket.id}`, rowsIn('ticket', 'timeline', 'order', 'complaints')]]],
  ['complaints', 'Complaints', 15, [['/api/complaints?limit=200', rowsIn('complaints')]]],
  ['deliveries', 'Deliveries and dead letters', 15,
    [['/api/deliveries?limit=100', rowsIn('deliveries')], ['/api/dead-letters?limit=100', rowsIn('dead_letters')]]],
  ['orders', 'Orders', 30, [['/api/orders?limit=200', rowsIn('orders')]]],
  ['order', 'An order (its tickets, complaints, events)', 30,
    [[`/api/orders/${encodeURIComponent(viewedOrder)}`, rowsIn('order', 'tickets', 'complaints', 'events')]]],
  ['stats', 'Stats', 60, [['/api/stats', rowsIn('response_times', 'tickets_by_status', 'deliveries_by_state',
    'by_channel_and_category', 'opened_by_hour', 'complaints_by_status')]]],
];
// The log is quiet once it has not grown for a second: every line of the requests before is in.
async function quiet() {
  for (let seen = -1; seen !== worker.log.length;) { seen = worker.log.length; await sleep(1000); }
}
const dashboards = [];
for (const [key, label, everySecs, polls] of views) {
  await quiet();
  const from = worker.log.length;
  let shown = 0;
  for (let i = 0; i < N; i++) {
    for (const [p, rowsShown] of polls) shown += rowsShown(await adminJson(p));
  }
  // Every poll reads D1, so each leaves a line with its usage.
  await waitFor(() => linesSince(from).filter(isBench).length >= N * polls.length, `the log lines of ${label}`, 30_000);
  await quiet();
  const lines = linesSince(from).filter(isBench);
  if (lines.length !== N * polls.length) throw new Error(`${label}: ${lines.length} log lines for ${N * polls.length} polls`);
  const read = lines.reduce((sum, l) => sum + l.usage.d1_rows_read, 0);
  say(`dashboard, ${label}: ${N} polls, ${read / N} rows read and ${shown / N} shown a poll`);
  dashboards.push({ key, label, every_secs: everySecs, polls: N, rows_shown: shown, lines });
}

// The typical mix: what a month with a million customer messages on the Official Account
// brings. A conversation averages ten messages (so 100k open one), one in twenty is answered by
// an FAQ rule; each conversation has an agent take and close it (two kf events); 100k other
// events (subscribes, menu clicks). The WeChat Shop brings a fifth as many messages; the card
// shop 100k orders, each paid and delivered, 2% failing; 1,000 complaint notifications. The
// cron runs every minute of a 30-day month whatever the traffic.
const mix = {
  unit: 'one month with 1,000,000 customer messages on the Official Account (and the rest of the traffic such a shop has), in USD',
  parts: [
    { key: 'oa_message_new', count: 100_000 }, { key: 'oa_message', count: 850_000 }, { key: 'oa_message_faq', count: 50_000 },
    { key: 'oa_kf_event', count: 200_000 }, { key: 'oa_event', count: 100_000 },
    { key: 'shop_message_new', count: 20_000 }, { key: 'shop_message', count: 180_000 },
    { key: 'orders_paid', count: 100_000 }, { key: 'orders_delivered', count: 100_000 }, { key: 'orders_problem', count: 2_000 },
    { key: 'pay_request', count: 500 }, { key: 'pay_confirm', count: 500 },
    { key: 'cron', count: 43_200 },
  ],
};
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, JSON.stringify({ measured_at: new Date().toISOString(), per_scenario: N, history: HISTORY, scenarios, mix, dashboards }, null, 1) + '\n');
say(`wrote ${path.relative(ROOT, OUT)}`);
await stopAll();
