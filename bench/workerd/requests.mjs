// Prepares and checks the requests that bench/workerd.sh loads workerd with.
//
//   node bench/workerd/requests.mjs KEFU_URL EMPTY_URL EMPTY_IO_URL SAME_IO_URL FLOOR_URL SINK_URL OUT_DIR
//
// Signs one request of each kind (settings as in bench/workerd/config.capnp), sends each once
// and checks the answer (status, body; the safe-mode reply is verified and decrypted), checks
// that the sink saw the KV reads and the queue sends, then writes OUT_DIR/targets.tsv
// (name, method, URL, wrk Lua script or "-") and the Lua scripts of the POSTs. Exits non-zero,
// saying why, when any answer is wrong: nothing is loaded then.
// node:crypto only: an independent WeChat client, sharing no code with the Worker.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const [kefu, empty, emptyIo, sameIo, floor, sink, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node requests.mjs KEFU_URL EMPTY_URL EMPTY_IO_URL SAME_IO_URL FLOOR_URL SINK_URL OUT_DIR");
  process.exit(2);
}

const TOKEN = "bench-token";
const AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID = "wxb11529c136998cb6";
// The message of benches/callback.rs.
const MESSAGE =
  "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oUserBench0123456789]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我要退款 refund please]]></Content><MsgId>1234567890123456789</MsgId></xml>";

const key = Buffer.from(AES_KEY + "=", "base64");
const iv = key.subarray(0, 16);
const sha1 = (...parts) => createHash("sha1").update([...parts].sort().join("")).digest("hex");

function encrypt(plaintext) {
  const msg = Buffer.from(plaintext, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length);
  const raw = Buffer.concat([randomBytes(16), len, msg, Buffer.from(APPID)]);
  const pad = 32 - (raw.length % 32); // WeChat pads to 32 bytes
  const padded = Buffer.concat([raw, Buffer.alloc(pad, pad)]);
  const c = createCipheriv("aes-256-cbc", key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(padded), c.final()]).toString("base64");
}

function decrypt(b64) {
  const d = createDecipheriv("aes-256-cbc", key, iv).setAutoPadding(false);
  const raw = Buffer.concat([d.update(Buffer.from(b64, "base64")), d.final()]);
  const pad = raw[raw.length - 1];
  if (pad < 1 || pad > 32) throw new Error(`bad padding ${pad}`);
  const body = raw.subarray(16, raw.length - pad);
  const n = body.readUInt32BE(0);
  return { xml: body.subarray(4, 4 + n).toString("utf8"), appid: body.subarray(4 + n).toString() };
}

const tag = (xml, name) => {
  const m = xml.match(new RegExp(`<${name}>(?:<!\\[CDATA\\[)?([\\s\\S]*?)(?:\\]\\]>)?</${name}>`));
  return m ? m[1] : null;
};

const ts = String(Math.floor(Date.now() / 1000));
const nonce = "42";
const sig = sha1(TOKEN, ts, nonce);
const echostr = "kefu-bench-echo";
const enc = encrypt(MESSAGE);
const safeBody = `<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`;

const targets = [
  { name: "empty Worker", method: "GET", url: `${empty}/` },
  { name: "empty Worker + POST's I/O", method: "POST", url: `${emptyIo}/`, body: MESSAGE },
  { name: "JS Worker, kefu-edge's I/O", method: "POST", url: `${sameIo}/`, body: MESSAGE },
  { name: "Rust Worker, kefu-edge's I/O", method: "POST", url: `${floor}/`, body: MESSAGE },
  { name: "GET /healthz", method: "GET", url: `${kefu}/healthz` },
  {
    name: "GET /wechat/oa echostr",
    method: "GET",
    url: `${kefu}/wechat/oa?signature=${sig}&timestamp=${ts}&nonce=${nonce}&echostr=${echostr}`,
  },
  {
    name: "POST /wechat/oa plain",
    method: "POST",
    url: `${kefu}/wechat/oa?signature=${sig}&timestamp=${ts}&nonce=${nonce}&openid=oUserBench0123456789`,
    body: MESSAGE,
  },
  {
    name: "POST /wechat/oa safe (AES)",
    method: "POST",
    url: `${kefu}/wechat/oa?signature=${sig}&timestamp=${ts}&nonce=${nonce}&openid=oUserBench0123456789&encrypt_type=aes&msg_signature=${sha1(TOKEN, ts, nonce, enc)}`,
    body: safeBody,
  },
];

function checkTransfer(xml, what) {
  const problems = [];
  if (tag(xml, "MsgType") !== "transfer_customer_service") problems.push("MsgType is not transfer_customer_service");
  if (tag(xml, "ToUserName") !== "oUserBench0123456789") problems.push("ToUserName is not the customer");
  if (tag(xml, "FromUserName") !== "gh_bench") problems.push("FromUserName is not the account");
  // The routing rule served from the sink's KV names anna@gh_bench (no online list: first agent).
  if (tag(xml, "KfAccount") !== "anna@gh_bench") problems.push("KfAccount is not anna@gh_bench");
  if (problems.length) throw new Error(`${what}: ${problems.join("; ")}\n${xml}`);
}

// The I/O-only Workers answer a constant transfer reply.
const constantTransfer = (status, text) => status === 200 && text.includes("transfer_customer_service");

const checks = {
  "empty Worker": (status, text) => status === 200 && text === "ok",
  "empty Worker + POST's I/O": constantTransfer,
  "JS Worker, kefu-edge's I/O": constantTransfer,
  "Rust Worker, kefu-edge's I/O": constantTransfer,
  "GET /healthz": (status, text) => status === 200 && JSON.parse(text).ok === true,
  "GET /wechat/oa echostr": (status, text) => status === 200 && text === echostr,
  "POST /wechat/oa plain": (status, text) => {
    if (status !== 200) return false;
    checkTransfer(text, "plain reply");
    return true;
  },
  "POST /wechat/oa safe (AES)": (status, text) => {
    if (status !== 200) return false;
    const e = tag(text, "Encrypt");
    if (!e) throw new Error(`safe reply has no Encrypt: ${text}`);
    const want = sha1(TOKEN, tag(text, "TimeStamp"), tag(text, "Nonce"), e);
    if (tag(text, "MsgSignature") !== want) throw new Error(`safe reply: bad MsgSignature\n${text}`);
    const { xml, appid } = decrypt(e);
    if (appid !== APPID) throw new Error(`safe reply: AppID ${appid}`);
    checkTransfer(xml, "safe reply (decrypted)");
    return true;
  },
};

let failed = false;
for (const t of targets) {
  const res = await fetch(t.url, {
    method: t.method,
    body: t.body,
    headers: t.body ? { "content-type": "text/xml" } : {},
  });
  const text = await res.text();
  let ok;
  try {
    ok = checks[t.name](res.status, text);
  } catch (e) {
    console.error(`check failed: ${t.name}: ${e.message}`);
    ok = false;
  }
  console.log(`check ${ok ? "ok  " : "FAIL"}  ${t.name}: ${res.status} ${text.length} bytes`);
  if (!ok) {
    console.error(`  answer: ${res.status} ${text.slice(0, 400)}`);
    failed = true;
  }
}

const stats = await (await fetch(`${sink}/__stats`)).json();
// One POST to each I/O-only Worker and two to kefu-edge: every POST sent once; each Worker read
// both keys for its first POST, and kefu-edge reused them (its isolate cache) for its second.
const sinkOk = stats.queueSends === 5 && stats.kvGets.rules === 4 && stats.kvGets.kf_online === 4;
console.log(
  `check ${sinkOk ? "ok  " : "FAIL"}  sink saw ${stats.queueSends} queue sends, KV gets ${JSON.stringify(stats.kvGets)}`,
);
if (!sinkOk) {
  console.error(`  sink stats: ${JSON.stringify(stats)}`);
  failed = true;
}
if (failed) process.exit(1);

const lines = [];
for (const [i, t] of targets.entries()) {
  let lua = "-";
  if (t.method === "POST") {
    lua = join(outDir, `post${i}.lua`);
    writeFileSync(
      lua,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/xml"\nwrk.body = [==[${t.body}]==]\n`,
    );
  }
  lines.push([t.name, t.method, t.url, lua].join("\t"));
}
writeFileSync(join(outDir, "targets.tsv"), lines.join("\n") + "\n");
