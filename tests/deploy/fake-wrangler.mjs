#!/usr/bin/env node
// A stand-in for wrangler 4.86 that scripts/deploy.sh finds first on PATH. It answers the
// commands deploy.sh uses the way the real one prints them (JSON lists, cli-table3 tables, the
// error for a Worker that does not exist yet), keeps what was "created" in a JSON state file so
// lists reflect it, and appends every call to a log:
//   FAKE_WRANGLER_STATE  the state file (created when missing)
//   FAKE_WRANGLER_LOG    one JSON line per call: {argv, stdin?, prebuilt}
//   FAKE_WRANGLER_FAIL   a call whose argv starts with these words fails (exit 1), e.g. "d1 create"
// Any command it does not know fails, so an unexpected call shows up in the tests.
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";

const argv = process.argv.slice(2);
const statePath = process.env.FAKE_WRANGLER_STATE;
const logPath = process.env.FAKE_WRANGLER_LOG;
if (!statePath || !logPath) {
  console.error("fake wrangler: FAKE_WRANGLER_STATE and FAKE_WRANGLER_LOG must be set");
  process.exit(2);
}

const state = {
  kv: [], // {id, title}
  d1: [], // {uuid, name}
  queues: [], // names
  secrets: {}, // name → value (the fake keeps values so tests can check them)
  worker: false, // deployed at least once (or a draft made by `secret put`)
  applied: [], // migration file names
  deploys: 0,
  queuePageSize: 20,
  ...(fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, "utf8")) : {}),
};
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 2));

const entry = { argv, prebuilt: process.env.KEFU_PREBUILT ?? null };
if (argv[0] === "secret" && argv[1] === "put") entry.stdin = fs.readFileSync(0, "utf8");
fs.appendFileSync(logPath, `${JSON.stringify(entry)}\n`);

const out = (text) => process.stdout.write(`${text}\n`);
const error = (text, code = 1) => {
  process.stderr.write(`\n✘ [ERROR] ${text}\n\n`);
  process.exit(code);
};
const banner = () => out("\n ⛅️ wrangler 4.86.0 (fake)\n───────────────────────────────────────────");

const failing = (process.env.FAKE_WRANGLER_FAIL ?? "").split(" ").filter(Boolean);
if (failing.length && failing.every((word, i) => argv[i] === word)) {
  error(`A request to the Cloudflare API (/accounts/fake/${argv.join("/")}) failed.\n  fake failure [code: 10000]`);
}

// cli-table3's look as wrangler prints it, a rule between rows, no colours (not a terminal).
function table(rows) {
  if (rows.length === 0) return "┌┐\n└┘";
  const head = Object.keys(rows[0]);
  const widths = head.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)) + 2);
  const line = (l, m, r) => l + widths.map((w) => "─".repeat(w)).join(m) + r;
  const row = (cells) => "│" + cells.map((c, i) => ` ${String(c).padEnd(widths[i] - 1)}`).join("│") + "│";
  const body = rows.map((r) => row(head.map((h) => r[h]))).join(`\n${line("├", "┼", "┤")}\n`);
  return [line("┌", "┬", "┐"), row(head), line("├", "┼", "┤"), body, line("└", "┴", "┘")].join("\n");
}

// The bits of wrangler.toml the fake needs, read the simple way (deploy.sh's own reader is
// what is under test, not this).
function config() {
  const text = fs.readFileSync("wrangler.toml", "utf8");
  const pick = (key) => text.match(new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
  return { name: pick("name"), databaseId: pick("database_id"), migrationsDir: pick("migrations_dir") ?? "migrations" };
}

function remoteDb() {
  const { databaseId } = config();
  if (!databaseId || /^[0-]+$/.test(databaseId)) {
    error("Couldn't find a D1 DB with the name or binding 'KEFU_DB' in your wrangler.toml file (placeholder database_id).");
  }
  if (!state.d1.some((db) => db.uuid === databaseId)) error(`The database ${databaseId} does not exist [code: 7404]`);
}

const migrations = () =>
  fs
    .readdirSync(config().migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort();

const cmd = argv.filter((a) => !a.startsWith("--")).slice(0, 3).join(" ");
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

switch (true) {
  case argv[0] === "--version":
    out("4.86.0");
    break;

  case cmd.startsWith("kv namespace list"):
    out(JSON.stringify(state.kv.map((ns) => ({ ...ns, supports_url_encoding: true })), null, "  "));
    break;

  case cmd.startsWith("kv namespace create"): {
    const title = argv[3];
    banner();
    if (state.kv.some((ns) => ns.title === title)) error(`A KV namespace with the title "${title}" already exists.`);
    const id = randomBytes(16).toString("hex");
    state.kv.push({ id, title });
    save();
    out(`Resource location: remote\n🌀 Creating namespace with title "${title}"\n✨ Success!`);
    out(`To access your new KV Namespace in your Worker, add the following snippet to your configuration file:\n[[kv_namespaces]]\nbinding = "${title}"\nid = "${id}"`);
    break;
  }

  case cmd.startsWith("d1 list"):
    if (!argv.includes("--json")) error("the fake only speaks d1 list --json");
    out(JSON.stringify(state.d1.map((db) => ({ ...db, created_at: "2026-11-25T00:00:00.000Z", version: "production", num_tables: 0, file_size: 12288 })), null, 2));
    break;

  case cmd.startsWith("d1 create"): {
    const name = argv[2];
    banner();
    if (state.d1.some((db) => db.name === name)) error(`A database with that name already exists [code: 7502]`);
    const uuid = randomUUID();
    state.d1.push({ uuid, name });
    save();
    out(`✅ Successfully created DB '${name}' in region APAC\nCreated your new D1 database.\n\n[[d1_databases]]\nbinding = "${name}"\ndatabase_name = "${name}"\ndatabase_id = "${uuid}"`);
    break;
  }

  case cmd.startsWith("d1 migrations list"): {
    if (argv[3] !== "KEFU_DB" || !argv.includes("--remote")) error(`unexpected: ${argv.join(" ")}`);
    banner();
    remoteDb();
    const unapplied = migrations().filter((m) => !state.applied.includes(m));
    if (unapplied.length === 0) out("✅ No migrations to apply!");
    else out(`Migrations to be applied:\n${table(unapplied.map((Name) => ({ Name })))}`);
    break;
  }

  case cmd.startsWith("d1 migrations apply"): {
    if (argv[3] !== "KEFU_DB" || !argv.includes("--remote")) error(`unexpected: ${argv.join(" ")}`);
    banner();
    remoteDb();
    const unapplied = migrations().filter((m) => !state.applied.includes(m));
    state.applied.push(...unapplied);
    save();
    out(`${table(unapplied.map((name) => ({ name, status: "✅" })))}`);
    break;
  }

  case cmd.startsWith("queues list"): {
    banner();
    const page = Number(flag("--page") ?? 1);
    const size = state.queuePageSize;
    const rows = state.queues.slice((page - 1) * size, page * size).map((name, i) => ({
      id: `q${page}${i}`,
      name,
      created_on: "2026-11-25T00:00:00Z",
      modified_on: "2026-11-25T00:00:00Z",
      producers: "0",
      consumers: "0",
    }));
    out(table(rows));
    break;
  }

  case cmd.startsWith("queues create"): {
    const name = argv[2];
    banner();
    if (state.queues.includes(name)) error(`A queue with this name already exists [code: 11009]`);
    state.queues.push(name);
    save();
    out(`🌀 Creating queue '${name}'\n✅ Created queue '${name}'.`);
    break;
  }

  case cmd.startsWith("secret list"):
    if (!state.worker) {
      error(`Worker "${config().name}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.\nOtherwise, check that the Worker name is correct and you're logged into the right account.`);
    }
    out(JSON.stringify(Object.keys(state.secrets).map((name) => ({ name, type: "secret_text" })), null, "  "));
    break;

  case cmd.startsWith("secret put"): {
    const name = argv[2];
    if (argv.length !== 3) error("the fake wants exactly `secret put NAME`, the value on stdin");
    banner();
    if (!state.worker) {
      out(`🌀 Creating new Worker "${config().name}"...`);
      state.worker = true;
    }
    state.secrets[name] = entry.stdin.replace(/\s+$/, "");
    save();
    out(`🌀 Creating the secret for the Worker "${config().name}" \n✨ Success! Uploaded secret ${name}`);
    break;
  }

  case cmd === "deploy": {
    banner();
    // Like the real one, run [build] first (deploy.sh asks it to be a no-op with KEFU_PREBUILT).
    execFileSync("bash", ["scripts/build.sh"], { stdio: ["ignore", "ignore", "inherit"] });
    if (!fs.existsSync(path.join("build", "index.js"))) error("The entry-point file at \"build/index.js\" was not found.");
    state.worker = true;
    state.deploys += 1;
    save();
    const name = config().name;
    out(`Total Upload: 812.04 KiB / gzip: 301.11 KiB\nUploaded ${name} (3.10 sec)\nDeployed ${name} triggers (1.20 sec)\n  https://${name}.merchant.workers.dev\n  schedule: * * * * *\nCurrent Version ID: ${randomUUID()}`);
    break;
  }

  default:
    error(`fake wrangler does not know: ${argv.join(" ")}`);
}
