#!/usr/bin/env node
// Small helpers for scripts/deploy.sh, in Node (which wrangler needs anyway) so the shell script
// parses no JSON or TOML itself. Every subcommand reads its input from stdin or a named file and
// prints a plain answer; a malformed input is an error (exit 1), never a guess.
//
//   find-json KEY VALUE OUTKEY    stdin: a JSON array (wrangler's list output); prints OUTKEY of
//                                 the first element whose KEY is VALUE, or nothing
//   json-names                    stdin: a JSON array of {name}; prints each name on a line
//   table-column NAME             stdin: a table as wrangler prints it (cli-table3); prints the
//                                 column NAME of each row
//   toml-get FILE kv-id|d1-id|d1-name|vars
//   toml-set FILE [kv-id=ID] [d1-id=ID] [var:NAME=VALUE]...
//                                 rewrites FILE in one atomic rename, or not at all
//   gen alnum N | gen aes-key     a random value (crypto.randomBytes)
//   hash PATH...                  sha256 over the files (directories walked, sorted) and names
//   base-url TEXT                 the first https://….workers.dev URL in stdin, or nothing
//   put-zalo-token BASE           stdin: the ADMIN_TOKEN line, then the refresh token line;
//                                 PUT BASE/api/zalo/token; exit 0 when stored, 1 when refused,
//                                 3 when BASE cannot be reached (never prints either value)
import { randomBytes, createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const fail = (message) => {
  process.stderr.write(`deploy-lib: ${message}\n`);
  process.exit(1);
};
const readStdin = () => fs.readFileSync(0, "utf8");
const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

// wrangler prints the JSON array alone, but a warning line before it must not break us: take
// the text from the first line that opens an array.
function parseJsonArray(text) {
  const clean = stripAnsi(text);
  const start = clean.search(/^\s*\[/m);
  if (start < 0) fail(`expected a JSON array from wrangler, got: ${clean.slice(0, 200)}`);
  let value;
  try {
    value = JSON.parse(clean.slice(start));
  } catch (e) {
    fail(`could not read wrangler's JSON output (${e.message})`);
  }
  if (!Array.isArray(value)) fail("expected a JSON array from wrangler");
  return value;
}

// cli-table3 draws rows as "│ a │ b │"; the first such row is the header.
function tableColumn(text, name) {
  const rows = stripAnsi(text)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("│") && line.endsWith("│"))
    .map((line) => line.slice(1, -1).split("│").map((cell) => cell.trim()));
  if (rows.length === 0) return [];
  const index = rows[0].indexOf(name);
  if (index < 0) fail(`no column "${name}" in wrangler's table`);
  return rows.slice(1).map((row) => row[index]).filter(Boolean);
}

// --- wrangler.toml: a line-based editor that knows tables, not a TOML library. It only ever
// replaces the value of a key line it found, or inserts a key line into [vars], so comments and
// layout stay as the merchant wrote them.
const PLACEHOLDER = /^0+(-0+)*$/;

function tomlTables(lines) {
  // [{header, start, end}] where lines[start] is the header and end is exclusive.
  const tables = [];
  lines.forEach((line, i) => {
    const m = line.match(/^\s*(\[\[?[^\]]+\]\]?)\s*(#.*)?$/);
    if (m) {
      if (tables.length) tables[tables.length - 1].end = i;
      tables.push({ header: m[1].replace(/\s+/g, ""), start: i, end: lines.length });
    }
  });
  return tables;
}

const keyLine = (key) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"\\s*(#.*)?$`);

function findKey(lines, table, key) {
  for (let i = table.start + 1; i < table.end; i++) {
    const m = lines[i].match(keyLine(key));
    if (m) return { index: i, value: m[1] };
  }
  return null;
}

function bindingTable(lines, header, binding) {
  const table = tomlTables(lines).find(
    (t) => t.header === header && findKey(lines, t, "binding")?.value === binding,
  );
  if (!table) fail(`wrangler.toml has no ${header} with binding = "${binding}"`);
  return table;
}

function tomlGet(file, what) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const get = (header, binding, key) => {
    const found = findKey(lines, bindingTable(lines, header, binding), key);
    if (!found) fail(`wrangler.toml: ${header} ${binding} has no ${key}`);
    return found.value;
  };
  switch (what) {
    case "kv-id": {
      const id = get("[[kv_namespaces]]", "KEFU_KV", "id");
      return PLACEHOLDER.test(id) ? "" : id;
    }
    case "d1-id": {
      const id = get("[[d1_databases]]", "KEFU_DB", "database_id");
      return PLACEHOLDER.test(id) ? "" : id;
    }
    case "d1-name":
      return get("[[d1_databases]]", "KEFU_DB", "database_name");
    case "vars": {
      const vars = tomlTables(lines).find((t) => t.header === "[vars]");
      if (!vars) return "";
      const names = [];
      for (let i = vars.start + 1; i < vars.end; i++) {
        const m = lines[i].match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/);
        if (m) names.push(m[1]);
      }
      return names.join("\n");
    }
    default:
      fail(`toml-get: unknown field ${what}`);
  }
}

// A TOML basic string; settings are single-line text.
function tomlString(value) {
  if (/[\x00-\x1f\x7f]/.test(value)) fail("a setting may not contain control characters or newlines");
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function tomlSet(file, edits) {
  const original = fs.readFileSync(file, "utf8");
  const lines = original.split("\n");
  const setKey = (header, binding, key, value, shape) => {
    if (!shape.test(value)) fail(`not a valid ${key}: ${value}`);
    const found = findKey(lines, bindingTable(lines, header, binding), key);
    if (!found) fail(`wrangler.toml: ${header} ${binding} has no ${key} line to rewrite`);
    lines[found.index] = lines[found.index].replace(/"[^"]*"/, `"${value}"`);
  };
  for (const edit of edits) {
    let m;
    if ((m = edit.match(/^kv-id=(.*)$/))) {
      setKey("[[kv_namespaces]]", "KEFU_KV", "id", m[1], /^[0-9a-f]{32}$/);
    } else if ((m = edit.match(/^d1-id=(.*)$/))) {
      setKey("[[d1_databases]]", "KEFU_DB", "database_id", m[1], /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
    } else if ((m = edit.match(/^var:([A-Z][A-Z0-9_]*)=(.*)$/s))) {
      const [, name, value] = m;
      const line = `${name} = ${tomlString(value)}`;
      let vars = tomlTables(lines).find((t) => t.header === "[vars]");
      if (!vars) {
        // No [vars] yet: add one before the first array table, where top-level keys end.
        const first = tomlTables(lines)[0];
        const at = first ? first.start : lines.length;
        lines.splice(at, 0, "[vars]", "");
        vars = tomlTables(lines).find((t) => t.header === "[vars]");
      }
      const existing = findKey(lines, vars, name);
      if (existing) {
        lines[existing.index] = line;
      } else {
        // After the table's last key line, so trailing blank lines and the comments that
        // introduce the next table stay where they are.
        let last = vars.start;
        for (let i = vars.start + 1; i < vars.end; i++) {
          if (/^\s*[A-Za-z_][A-Za-z0-9_]*\s*=/.test(lines[i])) last = i;
        }
        lines.splice(last + 1, 0, line);
      }
    } else {
      fail(`toml-set: unknown edit ${edit}`);
    }
  }
  const text = lines.join("\n");
  if (text === original) return;
  // Write beside the file and rename over it: a reader (or a crash) sees the old file or the
  // new one, never half of one.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode: fs.statSync(file).mode });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

// --- random values
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function alnum(n) {
  // Rejection sampling: bytes ≥ 248 would bias the 62 symbols, so they are thrown away.
  let out = "";
  while (out.length < n) {
    for (const byte of randomBytes(n * 2)) {
      if (byte < 248 && out.length < n) out += ALNUM[byte % 62];
    }
  }
  return out;
}

function aesKey() {
  // An EncodingAESKey is 32 bytes in base64 without its "=", 43 characters that the WeChat
  // consoles accept only as [A-Za-z0-9]. Drawing 32 random bytes until their base64 has no "+"
  // or "/" (about 1 in 4 draws) keeps the key canonical for strict base64 decoders too.
  for (;;) {
    const key = randomBytes(32).toString("base64").replace(/=+$/, "");
    if (/^[A-Za-z0-9]{43}$/.test(key)) return key;
  }
}

function hashPaths(paths) {
  const hash = createHash("sha256");
  const add = (p) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) add(path.join(p, entry));
    } else {
      hash.update(`${p}\0${stat.size}\0`);
      hash.update(fs.readFileSync(p));
    }
  };
  for (const p of paths) add(p);
  return hash.digest("hex");
}

// The Worker keeps Zalo's refresh token in its own storage (it rotates with each use), so it
// goes in through the admin API, not as a wrangler secret. Both values come on stdin (not argv).
async function putZaloToken(base) {
  const [adminToken, refreshToken] = readStdin().split("\n");
  if (!adminToken || !refreshToken) fail("put-zalo-token: stdin wants the ADMIN_TOKEN line, then the refresh token line");
  const url = `${base.replace(/\/+$/, "")}/api/zalo/token`;
  let response;
  try {
    response = await fetch(url, {
      method: "PUT",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
      redirect: "manual",
      signal: AbortSignal.timeout(20_000),
    });
  } catch (e) {
    process.stderr.write(`deploy-lib: PUT ${url}: cannot reach it (${e.cause?.code ?? e.cause?.message ?? e.message})\n`);
    process.exit(3);
  }
  if (!response.ok) {
    process.stderr.write(`deploy-lib: PUT ${url} answered ${response.status}\n`);
    process.exit(1);
  }
}

const [command, ...args] = process.argv.slice(2);
const print = (text) => text && process.stdout.write(`${text}\n`);
switch (command) {
  case "find-json": {
    const [key, value, outKey] = args;
    const found = parseJsonArray(readStdin()).find((item) => item && item[key] === value);
    print(found ? String(found[outKey] ?? "") : "");
    break;
  }
  case "json-names":
    print(parseJsonArray(readStdin()).map((item) => item.name).join("\n"));
    break;
  case "table-column":
    print(tableColumn(readStdin(), args[0]).join("\n"));
    break;
  case "toml-get":
    print(tomlGet(args[0], args[1]));
    break;
  case "toml-set":
    tomlSet(args[0], args.slice(1));
    break;
  case "gen":
    if (args[0] === "aes-key") print(aesKey());
    else if (args[0] === "alnum" && Number(args[1]) > 0) print(alnum(Number(args[1])));
    else fail("gen alnum N | gen aes-key");
    break;
  case "hash":
    print(hashPaths(args));
    break;
  case "base-url": {
    const m = stripAnsi(readStdin()).match(/https:\/\/[A-Za-z0-9.-]+\.workers\.dev\b/);
    print(m ? m[0] : "");
    break;
  }
  case "put-zalo-token":
    await putZaloToken(args[0]);
    break;
  default:
    fail(`unknown command ${command ?? ""}`);
}
