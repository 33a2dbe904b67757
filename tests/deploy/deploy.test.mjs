// scripts/deploy.sh against a fake wrangler (tests/deploy/fake-wrangler.mjs) first on PATH, in
// a temporary copy of the files it needs, so the real wrangler.toml is never touched and no
// Cloudflare account is involved. scripts/setup.sh and scripts/build.sh are stubs in the copy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const FAKE = path.join(HERE, "fake-wrangler.mjs");

const SECRETS = [
  "WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APPSECRET", "PAY_SIGN_KEY", "SHOP_TOKEN",
  "SHOP_AES_KEY", "SHOP_APPSECRET", "ORDER_WEBHOOK_SECRET", "CARESOFT_API_TOKEN",
  "WECOM_ROBOT_KEY", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ADMIN_TOKEN",
];
const GENERATED = [
  "WECHAT_TOKEN", "WECHAT_AES_KEY", "SHOP_TOKEN", "SHOP_AES_KEY", "ORDER_WEBHOOK_SECRET",
  "ADMIN_TOKEN",
];

// With --yes the generated ones ask nothing; these are the remaining questions, in order.
const TYPED = {
  WECHAT_APPID: "wx1234567890abcdef",
  WECHAT_APPSECRET: "typed-appsecret-9f8e7d",
  PAY_SIGN_KEY: "typed-paysignkey-1a2b3c",
  SHOP_APPID: "wxfedcba0987654321",
  SHOP_APPSECRET: "typed-shop-appsecret-7c8d9e",
  CARESOFT_BASE_URL: "", // skipped: this merchant has no CareSoft
  CARESOFT_API_TOKEN: "",
  WECOM_ROBOT_KEY: "typed-robot-key-4d5e6f",
  ZALO_APP_ID: "4318871592206370010",
  ZALO_APP_SECRET: "typed-zalo-app-secret-8b9c0d",
  ZALO_OA_SECRET_KEY: "typed-zalo-oa-key-1e2f3a",
  ZALO_REFRESH_TOKEN: "", // skipped here: the tests below store one through a mock Worker
};
const answers = (obj) => Object.values(obj).map((v) => `${v}\n`).join("");

function project(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kefu-deploy-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const work = path.join(dir, "project");
  fs.mkdirSync(work);
  for (const item of ["wrangler.toml", "migrations", "scripts"]) {
    fs.cpSync(path.join(ROOT, item), path.join(work, item), { recursive: true });
  }
  fs.writeFileSync(path.join(work, "scripts/setup.sh"), "exit 0\n");
  // Like the real build.sh: skipped under KEFU_PREBUILT=1 once build/index.js exists.
  fs.writeFileSync(
    path.join(work, "scripts/build.sh"),
    'cd "$(dirname "$0")/.."\n' +
      'if [ "${KEFU_PREBUILT:-}" = 1 ] && [ -f build/index.js ]; then exit 0; fi\n' +
      'mkdir -p build && printf \'%s\' "export default {} // ${FAKE_BUILD:-v1}" > build/index.js\n',
  );
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "wrangler"), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" "$@"\n`, { mode: 0o755 });
  const p = {
    dir: work,
    statePath: path.join(dir, "state.json"),
    logPath: path.join(dir, "calls.jsonl"),
    toml: () => fs.readFileSync(path.join(work, "wrangler.toml"), "utf8"),
    state: () => JSON.parse(fs.readFileSync(p.statePath, "utf8")),
    setState: (s) => fs.writeFileSync(p.statePath, JSON.stringify(s)),
    env: (env) => ({
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_WRANGLER_STATE: p.statePath,
      FAKE_WRANGLER_LOG: p.logPath,
      ...env,
    }),
    logLength: () => (fs.existsSync(p.logPath) ? fs.readFileSync(p.logPath, "utf8").length : 0),
    // The wrangler calls made since the log had `before` characters.
    result(r, before) {
      const log = fs.existsSync(p.logPath) ? fs.readFileSync(p.logPath, "utf8").slice(before) : "";
      const calls = log.split("\n").filter(Boolean).map((line) => JSON.parse(line));
      return { ...r, calls, changes: calls.filter(changes).map((c) => c.argv.join(" ")) };
    },
    // Runs deploy.sh; returns its output and the wrangler calls this run made.
    run(args = [], { input = "", env = {} } = {}) {
      const before = p.logLength();
      const r = spawnSync("bash", ["scripts/deploy.sh", ...args], {
        cwd: work,
        input,
        encoding: "utf8",
        timeout: 120_000,
        env: p.env(env),
      });
      return p.result(r, before);
    },
    // The same without blocking this process, so a mock Worker in it can answer deploy.sh.
    runAsync(args = [], { input = "", env = {} } = {}) {
      const before = p.logLength();
      const child = spawn("bash", ["scripts/deploy.sh", ...args], { cwd: work, env: p.env(env), timeout: 120_000 });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
      child.stdin.end(input);
      return new Promise((resolve) => child.on("close", (status) => resolve(p.result({ status, stdout, stderr }, before))));
    },
  };
  return p;
}

// A stand-in for the deployed Worker's PUT /api/zalo/token on 127.0.0.1: records each request
// (with how many deploys the fake wrangler had made by then) and accepts only admin() as owner.
async function mockWorker(t, p, admin) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d) => (body += d));
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body, deploysBefore: p.state().deploys });
      const owner = req.headers.authorization === `Bearer ${admin()}`;
      res.writeHead(owner ? 200 : 403, { "content-type": "application/json" });
      res.end(owner ? '{"stored":true}' : '{"error":"forbidden"}');
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

// A loopback URL where nothing listens: a port just given up by a server.
async function closedUrl() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

// The calls that change something on the account.
const changes = ({ argv: a }) =>
  a.includes("create") || // kv namespace create, d1 create, queues create
  (a[0] === "secret" && a[1] === "put") ||
  (a[0] === "d1" && a[1] === "migrations" && a[2] === "apply") ||
  a[0] === "deploy";

const ok = (r) => assert.equal(r.status, 0, `deploy.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}`);

// Every file under dir, as text, for "no secret was written anywhere".
function allFiles(dir) {
  return fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}

test("first run creates everything once, records the ids, puts each secret on stdin, deploys", (t) => {
  const p = project(t);
  const original = p.toml();
  const r = p.run(["--yes"], { input: answers(TYPED) });
  ok(r);

  const puts = SECRETS.filter((s) => s !== "CARESOFT_API_TOKEN").map((s) => `secret put ${s}`);
  assert.deepEqual(r.changes, [
    "kv namespace create kefu-kv",
    "d1 create kefu-db",
    "queues create kefu-events",
    "queues create kefu-events-dlq",
    "d1 migrations apply KEFU_DB --remote",
    ...puts,
    "deploy",
  ]);
  // deploy.sh built first and told wrangler's [build] run so.
  assert.equal(r.calls.find((c) => c.argv[0] === "deploy").prebuilt, "1");

  // The ids the account gave, in wrangler.toml; only those lines and the new vars changed.
  const s = p.state();
  const toml = p.toml();
  assert.match(toml, new RegExp(`\\[\\[kv_namespaces\\]\\]\\nbinding = "KEFU_KV"\\nid = "${s.kv[0].id}"\\n`));
  assert.match(toml, new RegExp(`database_name = "kefu-db"\\ndatabase_id = "${s.d1[0].uuid}"\\n`));
  assert.doesNotMatch(toml, /CARESOFT_BASE_URL/);
  // The vars went into [vars], and apart from them and the two ids nothing changed.
  const added = [
    'WECHAT_APPID = "wx1234567890abcdef"',
    'SHOP_APPID = "wxfedcba0987654321"',
    'ZALO_APP_ID = "4318871592206370010"',
  ];
  const lines = toml.split("\n");
  const varsAt = lines.indexOf("[vars]");
  const nextTable = lines.findIndex((l, i) => i > varsAt && l.startsWith("["));
  for (const line of added) {
    const at = lines.indexOf(line);
    assert.ok(varsAt >= 0 && at > varsAt && at < nextTable, `${line} is not in [vars]`);
  }
  const expected = original
    .replace('id = "00000000000000000000000000000000"', `id = "${s.kv[0].id}"`)
    .replace('database_id = "00000000-0000-0000-0000-000000000000"', `database_id = "${s.d1[0].uuid}"`);
  assert.equal(lines.filter((l) => !added.includes(l)).join("\n"), expected);
  assert.deepEqual(s.applied, fs.readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort());

  // Secrets: on stdin only, never in any argv, the typed ones as typed.
  const values = Object.values(s.secrets);
  for (const c of r.calls) {
    if (c.argv[0] === "secret" && c.argv[1] === "put") assert.equal(c.argv.length, 3, c.argv.join(" "));
    for (const v of values) assert.ok(!c.argv.some((a) => a.includes(v)), `a secret value in argv: ${c.argv.join(" ")}`);
  }
  for (const c of r.calls.filter((c) => c.argv[1] === "put")) assert.equal(c.stdin, s.secrets[c.argv[2]]);
  assert.equal(s.secrets.WECHAT_APPSECRET, TYPED.WECHAT_APPSECRET);
  assert.equal(s.secrets.PAY_SIGN_KEY, TYPED.PAY_SIGN_KEY);
  assert.equal(s.secrets.WECOM_ROBOT_KEY, TYPED.WECOM_ROBOT_KEY);
  assert.equal(s.secrets.ZALO_APP_SECRET, TYPED.ZALO_APP_SECRET);
  assert.equal(s.secrets.ZALO_OA_SECRET_KEY, TYPED.ZALO_OA_SECRET_KEY);
  assert.ok(!("CARESOFT_API_TOKEN" in s.secrets));
  assert.ok(!("ZALO_REFRESH_TOKEN" in s.secrets), "the refresh token is no wrangler secret");

  // Generated values have the shapes the consoles accept.
  for (const name of ["WECHAT_AES_KEY", "SHOP_AES_KEY"]) {
    const key = s.secrets[name];
    assert.match(key, /^[A-Za-z0-9]{43}$/, name);
    const bytes = Buffer.from(`${key}=`, "base64");
    assert.equal(bytes.length, 32, name);
    assert.equal(bytes.toString("base64"), `${key}=`, `${name} is canonical base64`);
  }
  for (const name of ["WECHAT_TOKEN", "SHOP_TOKEN"]) assert.match(s.secrets[name], /^[A-Za-z0-9]{32}$/, name);
  for (const name of ["ADMIN_TOKEN", "ORDER_WEBHOOK_SECRET"]) assert.match(s.secrets[name], /^[A-Za-z0-9]{48}$/, name);
  assert.equal(new Set(GENERATED.map((n) => s.secrets[n])).size, GENERATED.length, "all different");

  // Generated ones are printed exactly once, marked; typed ones never.
  const said = r.stdout + r.stderr;
  for (const name of GENERATED) {
    assert.equal(said.split(s.secrets[name]).length - 1, 1, `${name} shown once`);
    assert.match(r.stdout, new RegExp(`: ${s.secrets[name]}   <== GENERATED: copy it now`));
  }
  for (const name of ["WECHAT_APPSECRET", "PAY_SIGN_KEY", "WECOM_ROBOT_KEY", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY"]) {
    assert.ok(!said.includes(s.secrets[name]), `${name} was echoed`);
  }
  // ...and written to no file of the project (.wrangler/ included).
  for (const file of allFiles(p.dir)) {
    const text = fs.readFileSync(file, "utf8");
    for (const v of values) assert.ok(!text.includes(v), `a secret in ${file}`);
  }

  // What to paste where, with the URL wrangler deploy printed.
  const base = "https://kefu-edge.merchant.workers.dev";
  for (const route of ["/wechat/oa", "/wechat/shop", "/wechat/payfeedback", "/hooks/orders", "/zalo/oa"]) {
    assert.ok(r.stdout.includes(`${base}${route}`), route);
  }
  assert.match(r.stdout, /服务器配置/);
  assert.match(r.stdout, /消息加解密方式: 安全模式/);
  assert.match(r.stdout, /\/hooks\/orders\n    secret \(ORDER_WEBHOOK_SECRET\): \w{48}   <== GENERATED[^\n]*\n\n  Zalo OA: /);
  assert.match(r.stdout, /Webhook URL: https:\/\/kefu-edge\.merchant\.workers\.dev\/zalo\/oa/);
  // The skipped refresh token called nothing and printed no curl command.
  assert.match(r.stdout, /ZALO_REFRESH_TOKEN skipped/);
  assert.doesNotMatch(r.stdout, /Zalo: the|curl -X PUT/);
});

test("a second run creates, puts, applies and deploys nothing; a change deploys again", (t) => {
  const p = project(t);
  ok(p.run(["--yes"], { input: answers(TYPED) }));
  const toml = p.toml();

  const again = p.run([], { input: "" });
  ok(again);
  assert.deepEqual(again.changes, []);
  assert.equal(p.toml(), toml);
  assert.match(again.stdout, /Worker unchanged since the last deploy: not deploying/);
  // The skipped CareSoft settings are remembered, not asked again.
  assert.doesNotMatch(again.stderr, /CARESOFT/);
  assert.match(again.stdout, /CARESOFT_API_TOKEN: skipped in an earlier run/);
  // Nothing was generated this time, so no value is shown; the URL is remembered.
  assert.doesNotMatch(again.stdout, /GENERATED/);
  assert.match(again.stdout, /令牌\(Token\): the WECHAT_TOKEN you set/);
  assert.ok(again.stdout.includes("https://kefu-edge.merchant.workers.dev/wechat/oa"));

  // A different build is deployed, and only that happens.
  const rebuilt = p.run([], { env: { FAKE_BUILD: "v2" } });
  ok(rebuilt);
  assert.deepEqual(rebuilt.changes, ["deploy"]);
  // --force deploys an unchanged Worker.
  const forced = p.run(["--force"], { env: { FAKE_BUILD: "v2" } });
  ok(forced);
  assert.deepEqual(forced.changes, ["deploy"]);
  // A new migration is applied, alone.
  fs.writeFileSync(path.join(p.dir, "migrations/0099_new.sql"), "SELECT 1;\n");
  const migrated = p.run([], { env: { FAKE_BUILD: "v2" } });
  ok(migrated);
  assert.deepEqual(migrated.changes, ["d1 migrations apply KEFU_DB --remote"]);
  // --ask-skipped asks for CareSoft again.
  const asked = p.run(["--ask-skipped"], { input: "https://api.caresoft.example/acme\ncaresoft-token-77\n", env: { FAKE_BUILD: "v2" } });
  ok(asked);
  assert.deepEqual(asked.changes, ["secret put CARESOFT_API_TOKEN", "deploy"]);
  assert.match(p.toml(), /CARESOFT_BASE_URL = "https:\/\/api\.caresoft\.example\/acme"/);
});

test("a partly existing setup gets only what is missing", (t) => {
  const p = project(t);
  const kvId = "0123456789abcdef0123456789abcdef";
  p.setState({
    kv: [{ id: "ffffffffffffffffffffffffffffffff", title: "another-app" }, { id: kvId, title: "kefu-kv" }],
    d1: [{ uuid: "11111111-2222-3333-4444-555555555555", name: "another-db" }],
    // Paged two at a time: kefu-events is on the second page.
    queues: ["a-queue", "b-queue", "kefu-events"],
    queuePageSize: 2,
    secrets: { WECHAT_TOKEN: "existingtoken", ADMIN_TOKEN: "existing-admin" },
    worker: true,
  });
  const r = p.run(["--yes"], { input: answers(TYPED) });
  ok(r);
  assert.deepEqual(r.changes, [
    "d1 create kefu-db",
    "queues create kefu-events-dlq",
    "d1 migrations apply KEFU_DB --remote",
    ...SECRETS.filter((n) => !["WECHAT_TOKEN", "CARESOFT_API_TOKEN", "ADMIN_TOKEN"].includes(n)).map((n) => `secret put ${n}`),
    "deploy",
  ]);
  const s = p.state();
  assert.match(p.toml(), new RegExp(`id = "${kvId}"`));
  assert.match(p.toml(), new RegExp(`database_id = "${s.d1.find((d) => d.name === "kefu-db").uuid}"`));
  assert.equal(s.secrets.WECHAT_TOKEN, "existingtoken");
  assert.match(r.stdout, /令牌\(Token\): the WECHAT_TOKEN you set/);
});

test("ids already in wrangler.toml are kept when the account has them, refused when it does not", (t) => {
  const p = project(t);
  const tomlPath = path.join(p.dir, "wrangler.toml");
  fs.writeFileSync(tomlPath, p.toml().replace(/id = "0{32}"/, 'id = "abcdefabcdefabcdefabcdefabcdefab"'));
  p.setState({ kv: [{ id: "abcdefabcdefabcdefabcdefabcdefab", title: "made-by-hand" }] });
  const r = p.run(["--yes"], { input: answers(TYPED) });
  ok(r);
  assert.ok(!r.changes.some((c) => c.startsWith("kv namespace create")), r.changes.join("\n"));
  assert.match(p.toml(), /id = "abcdefabcdefabcdefabcdefabcdefab"/);

  const q = project(t);
  const qPath = path.join(q.dir, "wrangler.toml");
  fs.writeFileSync(qPath, q.toml().replace(/id = "0{32}"/, 'id = "abcdefabcdefabcdefabcdefabcdefab"'));
  const before = q.toml();
  const refused = q.run(["--yes"], { input: answers(TYPED) });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /names KV namespace abcdefabcdefabcdefabcdefabcdefab, which this account does not have/);
  assert.deepEqual(refused.changes, []);
  assert.equal(q.toml(), before);
});

test("a failing wrangler call stops the script and leaves wrangler.toml untouched", (t) => {
  const p = project(t);
  const before = p.toml();
  const r = p.run(["--yes"], { input: answers(TYPED), env: { FAKE_WRANGLER_FAIL: "d1 create" } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /`wrangler d1 create kefu-db` failed \(exit 1\)/);
  assert.match(r.stdout + r.stderr, /fake failure/);
  assert.equal(p.toml(), before);
  assert.deepEqual(r.changes, ["kv namespace create kefu-kv", "d1 create kefu-db"]);

  // Run again once the cause is gone: the namespace made before the failure is found, not made twice.
  const again = p.run(["--yes"], { input: answers(TYPED) });
  ok(again);
  assert.equal(again.changes.filter((c) => c.startsWith("kv namespace create")).length, 0);
  assert.equal(again.changes.filter((c) => c === "d1 create kefu-db").length, 1);
  assert.match(p.toml(), new RegExp(`id = "${p.state().kv[0].id}"`));
});

test("a failing deploy shows the secrets generated before it, and the next run only deploys", (t) => {
  const p = project(t);
  const r = p.run(["--yes"], { input: answers(TYPED), env: { FAKE_WRANGLER_FAIL: "deploy" } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /`wrangler deploy` failed/);
  const s = p.state();
  // Already stored on the Worker, so this is the only chance to see them.
  for (const name of GENERATED) assert.ok(r.stderr.includes(`${name} = ${s.secrets[name]}`), name);

  const again = p.run([], { input: "" });
  ok(again);
  assert.deepEqual(again.changes, ["deploy"]);
});

test("without --yes: the merchant may type a Token and AES key, checked, or generate them", (t) => {
  const p = project(t);
  const aes = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
  const input = [
    "", // WECHAT_APPID: skip
    "n", "my0wn0token", // WECHAT_TOKEN: typed
    "n", "too-short", aes, // WECHAT_AES_KEY: a wrong one, asked again
    "", "", // WECHAT_APPSECRET, PAY_SIGN_KEY: skip
    "", // SHOP_APPID
    "y", "", // SHOP_TOKEN, SHOP_AES_KEY: generated (Enter is yes)
    "", // SHOP_APPSECRET: skip
    "n", "", // ORDER_WEBHOOK_SECRET: not generated, then skipped
    "", "", // CARESOFT_BASE_URL, CARESOFT_API_TOKEN
    "", // WECOM_ROBOT_KEY
    "", "", "", // ZALO_APP_ID, ZALO_APP_SECRET, ZALO_OA_SECRET_KEY: no Zalo, so no refresh token question
  ].map((a) => `${a}\n`).join(""); // ADMIN_TOKEN's question meets the end of input: left unset
  const r = p.run([], { input });
  ok(r);
  const s = p.state();
  assert.equal(s.secrets.WECHAT_TOKEN, "my0wn0token");
  assert.equal(s.secrets.WECHAT_AES_KEY, aes);
  assert.match(r.stderr, /an EncodingAESKey is exactly 43 letters and digits/);
  assert.match(s.secrets.SHOP_TOKEN, /^[A-Za-z0-9]{32}$/);
  assert.match(s.secrets.SHOP_AES_KEY, /^[A-Za-z0-9]{43}$/);
  assert.deepEqual(Object.keys(s.secrets).sort(), ["SHOP_AES_KEY", "SHOP_TOKEN", "WECHAT_AES_KEY", "WECHAT_TOKEN"]);
  assert.match(r.stdout, /ADMIN_TOKEN left unset for now/);
  assert.doesNotMatch(r.stdout, /ZALO_REFRESH_TOKEN/);
  assert.match(r.stdout, /URL: https:\/\/\S+\/hooks\/orders\n    secret \(ORDER_WEBHOOK_SECRET\): \(not set; deploy\.sh --ask-skipped asks for ORDER_WEBHOOK_SECRET again\)/);
  // Typed secrets are not echoed; the one typed AES key is not shown either.
  assert.ok(!(r.stdout + r.stderr).includes("my0wn0token"));
  assert.ok(!(r.stdout + r.stderr).includes(aes));
  // Skips are remembered, the end of input is not: the next run asks only for ADMIN_TOKEN (and,
  // --yes or not, generates no skipped ORDER_WEBHOOK_SECRET).
  const next = p.run(["--yes"], { input: "" });
  ok(next);
  assert.deepEqual(next.changes, ["secret put ADMIN_TOKEN"]);
});

test("the first Zalo refresh token goes to PUT /api/zalo/token after the deploy, never shown", async (t) => {
  const p = project(t);
  const refresh = "zalo-refresh-typed-0a1b2c3d4e5f";
  // The owner is whoever holds the ADMIN_TOKEN this run generates and puts.
  const { url, requests } = await mockWorker(t, p, () => p.state().secrets.ADMIN_TOKEN);

  const r = await p.runAsync(["--yes", "--url", url], { input: answers({ ...TYPED, ZALO_REFRESH_TOKEN: refresh }) });
  ok(r);
  assert.equal(requests.length, 1);
  const [put] = requests;
  assert.equal(put.method, "PUT");
  assert.equal(put.url, "/api/zalo/token");
  assert.equal(put.deploysBefore, 1, "stored after the deploy");
  assert.equal(put.headers.authorization, `Bearer ${p.state().secrets.ADMIN_TOKEN}`);
  assert.match(put.headers["content-type"], /^application\/json/);
  assert.deepEqual(JSON.parse(put.body), { refresh_token: refresh });
  assert.match(r.stdout, new RegExp(`Zalo: the first refresh token is stored \\(PUT ${url}/api/zalo/token\\)`));
  assert.ok(r.stdout.includes(`Webhook URL: ${url}/zalo/oa`));

  // The token was in no output, no wrangler call (argv or secret), no file.
  assert.ok(!(r.stdout + r.stderr).includes(refresh), "the refresh token was echoed");
  for (const c of r.calls) assert.ok(!JSON.stringify(c).includes(refresh), c.argv.join(" "));
  assert.ok(!JSON.stringify(p.state()).includes(refresh));
  for (const file of allFiles(p.dir)) assert.ok(!fs.readFileSync(file, "utf8").includes(refresh), file);

  // Stored once: a later run asks for it no more and calls the Worker no more.
  const again = await p.runAsync(["--url", url], { input: "" });
  ok(again);
  assert.equal(requests.length, 1);
  assert.doesNotMatch(again.stderr + again.stdout, /ZALO_REFRESH_TOKEN/);
});

test("with ADMIN_TOKEN set earlier it is asked for; an unreachable or refusing Worker gets the curl command", async (t) => {
  const p = project(t);
  const admin = "existing-admin-token-7f8e9d";
  const refresh = "zalo-refresh-typed-9z8y7x6w";
  p.setState({ secrets: { ADMIN_TOKEN: admin }, worker: true });
  const input = (adminAnswer) => answers({ ...TYPED, ZALO_REFRESH_TOKEN: refresh }) + `${adminAnswer}\n`;

  // Nothing listens at the URL: the exact command to run, with placeholders, and no failure.
  const down = await closedUrl();
  const r = await p.runAsync(["--yes", "--url", down], { input: input(admin) });
  ok(r);
  assert.match(r.stderr, /ADMIN_TOKEN to store it with \(input hidden/);
  assert.match(r.stderr, /cannot reach it/);
  const curl = (base) =>
    `  curl -X PUT ${base}/api/zalo/token -H 'Authorization: Bearer <ADMIN_TOKEN>' -H 'Content-Type: application/json' -d '{"refresh_token": "<refresh token>"}'`;
  assert.ok(r.stdout.includes(`Zalo: the refresh token is not stored yet.`), r.stdout);
  assert.ok(r.stdout.includes(`${curl(down)}\n`), r.stdout);
  for (const v of [admin, refresh]) assert.ok(!(r.stdout + r.stderr).includes(v), "a value was echoed");

  // Not stored, so the next run asks again; a Worker that refuses the token gets the same advice.
  const worker = await mockWorker(t, p, () => admin);
  const refused = await p.runAsync(["--url", worker.url], { input: `${refresh}\nnot-the-admin-token\n` });
  ok(refused);
  assert.equal(worker.requests.length, 1);
  assert.match(refused.stderr, /answered 403/);
  assert.ok(refused.stdout.includes(curl(worker.url)), refused.stdout);

  // The third time, with the right ADMIN_TOKEN, it is stored.
  const stored = await p.runAsync(["--url", worker.url], { input: `${refresh}\n${admin}\n` });
  ok(stored);
  assert.equal(worker.requests.length, 2);
  assert.equal(worker.requests[1].headers.authorization, `Bearer ${admin}`);
  assert.deepEqual(JSON.parse(worker.requests[1].body), { refresh_token: refresh });
  assert.match(stored.stdout, /Zalo: the first refresh token is stored/);
  assert.deepEqual(stored.changes, [], "no wrangler change for the refresh token");
  for (const v of [admin, refresh]) assert.ok(!(stored.stdout + stored.stderr).includes(v), "a value was echoed");
});

test("deploy-lib generates values of the right shape", () => {
  const lib = path.join(ROOT, "scripts/deploy-lib.mjs");
  const gen = (...args) => spawnSync(process.execPath, [lib, "gen", ...args], { encoding: "utf8" }).stdout.trim();
  for (let i = 0; i < 20; i++) {
    const key = gen("aes-key");
    assert.match(key, /^[A-Za-z0-9]{43}$/);
    assert.equal(Buffer.from(`${key}=`, "base64").toString("base64"), `${key}=`);
    assert.match(gen("alnum", "32"), /^[A-Za-z0-9]{32}$/);
  }
});
