// The soak: thousands of callbacks across every route, about 10% of them sent again (some at the
// same time), with faults injected into the mock WeChat API and WeCom robot throughout. At the
// end it counts what was sent, stored, suppressed, delivered, retried and dead-lettered, and
// what was lost (must be 0), and checks every stored event is unique. Not part of CI.
//   node bench/soak.mjs [callbacks]      (bash bench/soak.sh builds and runs it)
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SECRETS, sleep, startMock, startWorker, waitFor } from '../tests/e2e/harness.mjs';
import { cdata, msgId, nonce, now, plainQuery, safePush } from '../tests/e2e/wechat-client.mjs';

const TOTAL = Number(process.argv[2] ?? 2000);
const CONCURRENCY = 16;
const S = SECRETS;

// Faults: every upstream call has a 10% chance of 503, 4% of 429 with Retry-After: 1, and one
// call in 400 hangs until the Worker's 15 s timeout.
const faulty = (ok) => () => {
  const roll = Math.random();
  if (roll < 0.0025) return { hang: true };
  if (roll < 0.1025) return { status: 503 };
  if (roll < 0.1425) return { status: 429, headers: { 'retry-after': '1' }, json: { errcode: 45009, errmsg: 'freq' } };
  return ok();
};
const faults = { wechat: 0, robot: 0 };
const wechat = await startMock('wechat', (req) => {
  if (req.path === '/cgi-bin/stable_token') return { json: { access_token: 'SOAK', expires_in: 7200 } };
  const answer = faulty(() => ({ json: { errcode: 0, errmsg: 'ok' } }))();
  if (answer.status || answer.hang) faults.wechat += 1;
  return answer;
});
const robot = await startMock('robot', () => {
  const answer = faulty(() => ({ json: { errcode: 0, errmsg: 'ok' } }))();
  if (answer.status || answer.hang) faults.robot += 1;
  return answer;
});
const worker = await startWorker({ WECHAT_API_BASE: wechat.url, WECOM_API_BASE: robot.url, CALLBACK_MAX_SKEW_SECS: 86_400 });

// One callback of each route, with the dedup key the Worker stores it under.
const routes = [
  () => { // Official Account text message, safe mode
    const id = msgId();
    const xml = cdata({ ToUserName: 'gh_soak', FromUserName: `oSoak${crypto.randomInt(300)}`, CreateTime: now(), MsgType: 'text', Content: `soak ${id}`, MsgId: id });
    const { query, body } = safePush(S.WECHAT_TOKEN, S.WECHAT_AES_KEY, S.WECHAT_APPID, xml);
    return { key: `oa:msg:${id}`, send: () => fetch(`${worker.url}/wechat/oa?${query}`, { method: 'POST', body }) };
  },
  () => { // WeChat Shop message, plain mode JSON
    const id = msgId();
    const body = JSON.stringify({ ToUserName: 'gh_shop', FromUserName: `oBuyer${crypto.randomInt(300)}`, CreateTime: now(), MsgType: 'event', Event: 'commkf_send_msg_to_kf', msg_id: id, msg_type: 'text', text: { content: 'soak' } });
    return { key: `shop:msg:${id}`, send: () => fetch(`${worker.url}/wechat/shop?${plainQuery(S.SHOP_TOKEN)}`, { method: 'POST', body }) };
  },
  () => { // WeChat Pay complaint
    const ts = now() - crypto.randomInt(3600);
    const openid = `oPay${crypto.randomInt(1e6)}`;
    const feedbackId = msgId();
    const sig = crypto.createHash('sha1').update(`appid=${S.WECHAT_APPID}&appkey=${S.PAY_SIGN_KEY}&openid=${openid}&timestamp=${ts}`).digest('hex');
    const body = cdata({ OpenId: openid, AppId: S.WECHAT_APPID, TimeStamp: ts, MsgType: 'request', FeedBackId: feedbackId, Reason: 'soak', AppSignature: sig, SignMethod: 'sha1' });
    return { key: `payfeedback:${feedbackId}:request:${ts}`, send: () => fetch(`${worker.url}/wechat/payfeedback`, { method: 'POST', body }) };
  },
  () => { // card-shop order problem
    const id = `evt_${msgId()}`;
    const body = JSON.stringify({ id, type: 'order.delivery_failed', order: { id: `O${crypto.randomInt(500)}` }, customer: { openid: `oBuyer${crypto.randomInt(300)}` }, message: '卡密 soak' });
    const ts = String(now());
    const sig = crypto.createHmac('sha256', S.ORDER_WEBHOOK_SECRET).update(`${ts}.${body}`).digest('hex');
    const headers = { 'x-kefu-timestamp': ts, 'x-kefu-signature': `sha256=${sig}` };
    return { key: `orders:${id}`, send: () => fetch(`${worker.url}/hooks/orders`, { method: 'POST', body, headers }) };
  },
];

await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify({ faq: [{ keywords: ['卡密'], reply: '卡密会补发' }] }) });
const started = Date.now();
const accepted = new Set();
let sent = 0; let retriedByUs = 0; let refused = 0;
const work = Array.from({ length: TOTAL }, (_, i) => routes[i % routes.length]());
async function deliver(callback) {
  for (let attempt = 0; attempt < 5; attempt++) { // as the platforms do: retry what was not a 200
    sent += 1;
    const r = await callback.send().catch(() => null);
    if (r?.status === 200) { accepted.add(callback.key); return; }
    retriedByUs += 1;
    await sleep(200);
  }
  refused += 1;
}
let next = 0;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < work.length) {
    const callback = work[next++];
    const duplicate = Math.random() < 0.1;
    if (duplicate && Math.random() < 0.5) await Promise.all([deliver(callback), deliver(callback)]);
    else {
      await deliver(callback);
      if (duplicate) await deliver(callback);
    }
  }
}));
const sendSecs = (Date.now() - started) / 1000;

// The local D1 database, read directly (the admin API pages at 1,000 rows).
function sql(query) {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (p.endsWith('.sqlite') && p.includes(`${path.sep}d1${path.sep}`)) files.push(p);
    }
  };
  walk(path.join(worker.dir, 'state'));
  const script = 'import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute(sys.argv[2]).fetchall()))';
  return JSON.parse(execFileSync('python3', ['-c', script, files[0], query], { encoding: 'utf8' }));
}
// Wait for the queue to drain: every accepted callback stored, and no delivery still in motion.
await waitFor(() => sql('SELECT COUNT(*) FROM events')[0][0] >= accepted.size, 'every accepted callback stored', 600_000);
await waitFor(async () => {
  if (sql("SELECT COUNT(*) FROM deliveries WHERE state NOT IN ('delivered', 'dead')")[0][0] === 0) return true;
  await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`); // the sweep, as the cron would
  await sleep(2000);
  return false;
}, 'deliveries settled', 900_000);
const keys = sql('SELECT dedup_key FROM events').map(([k]) => k);
const unique = new Set(keys);
const stored = keys;
const lost = [...accepted].filter((k) => !unique.has(k));
const all = sql('SELECT state, attempts FROM deliveries').map(([state, attempts]) => ({ state, attempts }));
const dead = sql('SELECT id FROM dead_letters');
const report = {
  callbacks_planned: TOTAL,
  requests_sent: sent,
  duplicates_sent: sent - TOTAL - retriedByUs,
  accepted_unique: accepted.size,
  events_stored: stored.length,
  duplicates_suppressed: sent - retriedByUs - stored.length,
  every_stored_event_unique: unique.size === keys.length,
  deliveries_made: all.filter((d) => d.state === 'delivered').length,
  deliveries_retried: all.filter((d) => d.attempts > 1).length,
  dead_lettered: dead.length,
  upstream_faults_injected: faults.wechat + faults.robot,
  callbacks_refused_after_5_tries: refused,
  lost: lost.length,
  send_seconds: Math.round(sendSecs),
};
for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(32)} ${v}`);
await worker.stop(); await wechat.close(); await robot.close();
process.exit(report.lost === 0 && report.every_stored_event_unique ? 0 : 1);
