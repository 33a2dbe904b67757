// CPU per callback of the built Worker in V8: node (the version bench/v8.sh pins, whose V8 is
// close to workerd's) loads build/index.js and build/index_bg.wasm exactly as wrangler uploads
// them and calls the Worker's fetch and queue handlers in a loop, with bindings that answer at
// once (settings as text, KV and the queue in memory, D1 answering every statement with no rows).
// What is timed is therefore the Worker's own work per invocation: the wasm, its JS glue and the
// Request/Response objects, which is what Cloudflare bills as CPU time; no I/O wait.
//
//   node bench/v8/run.mjs BUILD_DIR OUT_JSON
//
// Each case is checked once before it is timed (status and body), then run in rounds of
// ROUNDS x CALLS after a warm-up; the table gives the median and the best round in µs per call.
// Before them, COLD_ROUNDS (at least 5) cold starts in fresh processes: the median and best in
// ms of compiling the wasm, instantiating it, and the first request.
import { createHash, createHmac } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cdata, encrypt, plainQuery, safePush } from "../../tests/e2e/wechat-client.mjs";
import { loadWorker } from "./load.mjs";

const [buildDir = "build", outJson] = process.argv.slice(2);
const ROUNDS = Number(process.env.V8_ROUNDS ?? 15);
const CALLS = Number(process.env.V8_CALLS ?? 400);

const logged = [];
console.log = (...args) => logged.push(args.join(" "));
console.error = (...args) => logged.push(args.join(" "));

// Cold starts first, each in a fresh process (bench/v8/cold.mjs): compile, instantiate, first
// request. The median of the rounds is the figure; the best shows what a quiet machine does.
const COLD_ROUNDS = Math.max(5, Number(process.env.V8_COLD_ROUNDS ?? 7));
const cold = [];
for (let r = 0; r < COLD_ROUNDS; r++) {
  const run = spawnSync(process.execPath, [fileURLToPath(new URL("./cold.mjs", import.meta.url)), buildDir], { encoding: "utf8" });
  if (run.status !== 0) {
    process.stderr.write(`cold start ${r + 1} failed:\n${run.stderr}\n`);
    process.exit(1);
  }
  cold.push(JSON.parse(run.stdout));
}

// The default export: { fetch, queue, scheduled }, each called with (event, env, ctx).
const { Worker } = await loadWorker(buildDir);

// Settings: those of tests/e2e/harness.mjs (the values are only test keys).
const SETTINGS = {
  WECHAT_TOKEN: "e2e-token",
  WECHAT_APPID: "wxe2e0000000000001",
  WECHAT_APPSECRET: "e2e-appsecret",
  WECHAT_AES_KEY: "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
  SHOP_TOKEN: "e2e-shop-token",
  SHOP_APPID: "wxe2eshop000000001",
  SHOP_AES_KEY: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  PAY_SIGN_KEY: "e2e-pay-sign-key",
  ORDER_WEBHOOK_SECRET: "e2e-webhook-secret",
  ADMIN_TOKEN: "e2e-admin-token",
  CALLBACK_MAX_SKEW_SECS: "1000000000",
};
const RULES = JSON.stringify({
  faq: [{ keywords: ["卡密"], reply: "see orders" }],
  routes: [{ keywords: ["refund"], kf_accounts: ["anna@gh_bench"] }],
});

const sent = [];
const d1 = { statements: 0, batches: 0 };
const meta = { duration: 0, rows_read: 0, rows_written: 0, changes: 0, last_row_id: 0, changed_db: false, size_after: 0 };
class Statement {
  bind() { return this; }
  async all() { d1.statements++; return { success: true, results: [], meta }; }
  async run() { d1.statements++; return { success: true, results: [], meta }; }
  async first() { d1.statements++; return null; }
  async raw() { d1.statements++; return []; }
}
// The bindings answer at once: the Worker calls them directly (src/shell/js.rs), so only the
// methods it calls matter.
class WorkerQueue {
  async send(body) { sent.push(body); }
  async sendBatch(list) { for (const m of list) sent.push(m.body); }
}
class D1Database {
  prepare() { return new Statement(); }
  async batch(list) { d1.batches++; d1.statements += list.length; return list.map(() => ({ success: true, results: [], meta })); }
}
const env = {
  ...SETTINGS,
  KEFU_KV: {
    async get(key) { return key === "rules" ? RULES : null; },
    async put() {},
    async delete() {},
  },
  KEFU_EVENTS: new WorkerQueue(),
  KEFU_DB: new D1Database(),
};
// A case's bindings: env with the case's own settings added (a setting given as null is left
// unset).
function bindingsWith(settings = {}) {
  const bindings = { ...env, ...settings };
  for (const [name, value] of Object.entries(settings)) if (value === null) delete bindings[name];
  return bindings;
}
// OA in plain mode, as deployed before the console's security mode is switched: no AES key.
const PLAIN_OA = { WECHAT_AES_KEY: null };
const ctx = { waitUntil() {}, passThroughOnException() {} };

const now = () => Math.floor(Date.now() / 1000);
const oaText = (content, openid = "oUserBench0123456789") => cdata({
  ToUserName: "gh_bench", FromUserName: openid, CreateTime: now(), MsgType: "text", Content: content, MsgId: "1234567890123456789",
});
const MESSAGE = oaText("我要退款 refund please");
// The largest push a customer can make: a text near the 64 KiB body limit, sealed (base64 grows
// it by a third, so the plaintext is ~46 KiB).
const LONG = oaText("退款".repeat(7_600));
// 64 KiB of empty elements: refused at the element cap before any signature work.
const HOSTILE = `<xml>${"<a></a>".repeat(9_360)}</xml>`;

function hookSignature(body, timestamp = now()) {
  return {
    "x-kefu-timestamp": String(timestamp),
    "x-kefu-signature": `sha256=${createHmac("sha256", SETTINGS.ORDER_WEBHOOK_SECRET).update(`${timestamp}.${body}`).digest("hex")}`,
  };
}
// A Zalo OA webhook: mac = sha256(app_id + body + timestamp + OA secret key), the body's
// timestamp in milliseconds.
const ZALO = { ZALO_APP_ID: "3620184551288361477", ZALO_OA_SECRET_KEY: "bench-zalo-oa-secret", ZALO_APP_SECRET: "bench-zalo-app-secret" };
function zaloPush() {
  const timestamp = String(now() * 1000);
  const body = JSON.stringify({
    app_id: ZALO.ZALO_APP_ID, event_name: "user_send_text", timestamp,
    sender: { id: "8441598930240812345" }, recipient: { id: "579745863508352884" },
    message: { msg_id: `bench-${timestamp}`, text: "Cho mình hỏi đơn hàng" },
  });
  const mac = createHash("sha256").update(`${ZALO.ZALO_APP_ID}${body}${timestamp}${ZALO.ZALO_OA_SECRET_KEY}`).digest("hex");
  return new Request(`${BASE}/zalo/oa`, { method: "POST", body, headers: { "x-zevent-signature": `mac=${mac}` } });
}
const ORDER = JSON.stringify({
  id: "evt_bench_1", type: "order.paid", created_at: now(),
  order: { id: "O-bench-1", trans_id: "4200000000001", amount: 1990, currency: "CNY", product: "Steam 100元 充值卡", goods_kind: "virtual", paid_at: now() - 60 },
  customer: { openid: "oBuyerBench", phone: "0983123148", name: "Nguyễn Hải Hà" },
});
function payNotification() {
  const timestamp = now();
  const fields = { OpenId: "oPayBench", AppId: SETTINGS.WECHAT_APPID, TimeStamp: timestamp, MsgType: "request", FeedBackId: "5883536" };
  const sig = createHash("sha1").update(`appid=${fields.AppId}&appkey=${SETTINGS.PAY_SIGN_KEY}&openid=${fields.OpenId}&timestamp=${timestamp}`).digest("hex");
  return cdata({ ...fields, TransId: "4200000000001", Reason: "卡密无效 invalid key", Solution: "退款", ExtInfo: "18610847266", AppSignature: sig, SignMethod: "sha1" });
}
function shopJson() {
  return JSON.stringify({ ToUserName: "gh_shop", FromUserName: "oBuyerBench", CreateTime: now(), MsgType: "event", Event: "commkf_send_msg_to_kf", msg_id: 1234567890123456, msg_type: "text", text: { content: "没收到卡密" } });
}

const echoQuery = () => `${plainQuery(SETTINGS.WECHAT_TOKEN)}&echostr=bench-echo`;
const sealed = (plaintext, token = SETTINGS.WECHAT_TOKEN, key = SETTINGS.WECHAT_AES_KEY, appid = SETTINGS.WECHAT_APPID, envelope) =>
  safePush(token, key, appid, plaintext, envelope ? { envelope } : {});
const oaSafe = sealed(MESSAGE);
const oaLong = sealed(LONG);
const shopSafe = sealed(shopJson(), SETTINGS.SHOP_TOKEN, SETTINGS.SHOP_AES_KEY, SETTINGS.SHOP_APPID, "json");

const BASE = "https://kefu.example";
// Every inline route, one entry each; adding a route is adding an entry (bench/README.md, "CPU
// per callback in V8"):
// - name: the row's label, and the key bench/cost.mjs prices the route's CPU by;
// - request: makes the request as the platform sends it (POSTs make theirs per call: a body can
//   be read once, and node's Request costs ~1-2 µs of that);
// - status, check: the answer expected (checked once, before timing);
// - settings: what the route needs beyond SETTINGS (null: left unset).
const CASES = [
  { name: "GET /healthz", request: () => new Request(`${BASE}/healthz`), status: 200, check: (b) => b === '{"ok":true}' },
  { name: "GET /wechat/oa echostr", request: () => new Request(`${BASE}/wechat/oa?${echoQuery()}`), status: 200, check: (b) => b === "bench-echo" },
  { name: "POST /wechat/oa plain", request: () => new Request(`${BASE}/wechat/oa?${plainQuery(SETTINGS.WECHAT_TOKEN)}`, { method: "POST", body: MESSAGE }),
    status: 200, check: (b) => b.includes("transfer_customer_service") && b.includes("anna@gh_bench"), settings: PLAIN_OA },
  { name: "POST /wechat/oa safe (AES)", request: () => new Request(`${BASE}/wechat/oa?${oaSafe.query}`, { method: "POST", body: oaSafe.body }),
    status: 200, check: (b) => b.includes("<Encrypt>") },
  { name: "POST /wechat/oa safe, 64 KiB body", request: () => new Request(`${BASE}/wechat/oa?${oaLong.query}`, { method: "POST", body: oaLong.body }),
    status: 200, check: (b) => b.includes("<Encrypt>") },
  { name: "POST /wechat/oa hostile 64 KiB XML", request: () => new Request(`${BASE}/wechat/oa?${plainQuery(SETTINGS.WECHAT_TOKEN)}`, { method: "POST", body: HOSTILE }),
    status: 400, check: () => true, settings: PLAIN_OA },
  { name: "POST /wechat/shop safe (JSON)", request: () => new Request(`${BASE}/wechat/shop?${shopSafe.query}`, { method: "POST", body: shopSafe.body }),
    status: 200, check: (b) => b === "success" },
  { name: "POST /wechat/payfeedback", request: () => new Request(`${BASE}/wechat/payfeedback`, { method: "POST", body: payNotification() }),
    status: 200, check: (b) => b === "success" },
  { name: "POST /hooks/orders", request: () => new Request(`${BASE}/hooks/orders`, { method: "POST", body: ORDER, headers: hookSignature(ORDER) }),
    status: 200, check: () => true },
  { name: "POST /zalo/oa", request: zaloPush, status: 200, check: () => true, settings: ZALO },
];

async function call(makeRequest, bindings = env) {
  const response = await Worker.fetch(makeRequest(), bindings, ctx);
  return { status: response.status, body: await response.text() };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function time(run) {
  for (let i = 0; i < CALLS; i++) await run();
  const perCall = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) await run();
    perCall.push(Number(process.hrtime.bigint() - started) / 1000 / CALLS);
  }
  return { median: median(perCall), best: Math.min(...perCall) };
}

const results = { routes: {} };
const rows = [];
let failed = false;
for (const { name, request, status, check, settings } of CASES.filter(({ name }) => !process.env.V8_ONLY || name.includes(process.env.V8_ONLY))) {
  const bindings = bindingsWith(settings);
  const first = await call(request, bindings);
  if (first.status !== status || !check(first.body)) {
    process.stderr.write(`${name}: got ${first.status} ${first.body.slice(0, 200)}\n${logged.slice(-5).join("\n")}\n`);
    failed = true;
    continue;
  }
  const t = await time(() => call(request, bindings));
  results.routes[name] = { us_per_call: t.median, best_us: t.best };
  rows.push([name, t.median, t.best]);
}

// The generated entry without worker-build's Proxy (scripts/lean-entry.mjs) still recovers: an
// exception thrown into the wasm (here by the request object) marks the instance terminated,
// and the wasm-bindgen glue makes a new one for the next request.
{
  const broken = { method: "GET", get url() { throw new RangeError("thrown into the wasm"); } };
  let threw = false;
  try {
    await Worker.fetch(broken, env, ctx);
  } catch {
    threw = true;
  }
  const next = await call(CASES[0].request);
  if (!threw || next.status !== 200) {
    process.stderr.write(`no recovery after a failure inside the wasm: threw ${threw}, then ${next.status}\n`);
    failed = true;
  } else {
    console.info("# recovery: after an exception inside the wasm, the next request was answered 200");
  }
}

// The queue consumer: one batch holding the event the OA push above enqueued (a customer's text),
// planned against a D1 that has no rows (a new customer: ticket opened), every write acked.
const inbound = sent.find((body) => typeof body === "string" && body.includes('"platform":"oa"'));
if (!inbound && process.env.V8_ONLY) {
  console.info("# queue: not timed (V8_ONLY left out every OA push)");
} else if (!inbound) {
  process.stderr.write("no OA event was enqueued\n");
  failed = true;
} else {
  let acked = 0;
  const batch = () => ({
    queue: "kefu-events",
    messages: [{ id: "m1", timestamp: new Date(), body: inbound, attempts: 1, ack() { acked++; }, retry() {} }],
    ackAll() {}, retryAll() {},
  });
  const consume = () => Worker.queue(batch(), env, ctx);
  const before = { ...d1 };
  await consume();
  if (acked !== 1) {
    process.stderr.write(`the queue message was not acked:\n${logged.slice(-5).join("\n")}\n`);
    failed = true;
  } else {
    const perEvent = { statements: d1.statements - before.statements, batches: d1.batches - before.batches };
    const t = await time(consume);
    results.queue_event = { us_per_call: t.median, best_us: t.best, d1_statements: perEvent.statements, d1_batches: perEvent.batches };
    rows.push([`queue: one OA text event (${perEvent.statements} D1 statements)`, t.median, t.best]);
  }
}

const wasm = readFileSync(resolve(buildDir, "index_bg.wasm"));
console.info(`# node ${process.version} (V8 ${process.versions.v8}); ${wasm.length} B wasm; ${ROUNDS} rounds x ${CALLS} calls; ${new Date().toISOString()}`);
console.info(`${"case".padEnd(52)} ${"µs/call".padStart(9)} ${"best".padStart(9)} ${"of 10 ms".padStart(9)}`);
for (const [name, med, best] of rows) {
  console.info(`${name.padEnd(52)} ${med.toFixed(1).padStart(9)} ${best.toFixed(1).padStart(9)} ${((med / 10_000) * 100).toFixed(2).padStart(8)}%`);
}
// Cold start in ms: the median of the fresh processes, and the best.
const coldPart = (part) => ({ median_ms: median(cold.map(part)), best_ms: Math.min(...cold.map(part)) });
results.cold_start = {
  rounds: COLD_ROUNDS,
  compile: coldPart((c) => c.compile_ms),
  instantiate: coldPart((c) => c.instantiate_ms),
  compile_and_instantiate: coldPart((c) => c.compile_ms + c.instantiate_ms),
  first_request: coldPart((c) => c.first_request_ms),
};
console.info(`# cold start: ${COLD_ROUNDS} fresh processes, each loading the build and answering one GET /healthz`);
console.info(`${"cold start".padEnd(52)} ${"ms".padStart(9)} ${"best".padStart(9)} ${"of 10 ms".padStart(9)}`);
for (const [name, part] of [["compile the wasm", "compile"], ["instantiate (with the glue's evaluation)", "instantiate"],
  ["compile + instantiate", "compile_and_instantiate"], ["then the first request (GET /healthz)", "first_request"]]) {
  const { median_ms: med, best_ms: best } = results.cold_start[part];
  console.info(`${name.padEnd(52)} ${med.toFixed(2).padStart(9)} ${best.toFixed(2).padStart(9)} ${((med / 10) * 100).toFixed(1).padStart(8)}%`);
}
if (outJson) writeFileSync(outJson, JSON.stringify(results, null, 2));
process.exit(failed ? 1 : 0);
