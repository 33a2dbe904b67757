// scripts/wasm-budget.sh, which scripts/test.sh runs after the build: a wasm over 350,000 B
// gzipped fails with the budget and its size named, one within it passes, and a missing file
// fails rather than passing unchecked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = path.join(ROOT, "scripts/wasm-budget.sh");

function check(bytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasm-budget-"));
  const file = path.join(dir, "index_bg.wasm");
  if (bytes) fs.writeFileSync(file, bytes);
  const result = spawnSync("bash", [SCRIPT, file], { encoding: "utf8" });
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

test("a wasm within 350,000 B gzipped passes and says how much is left", () => {
  // 1 MB of zeros gzips to about a kilobyte.
  const r = check(Buffer.alloc(1_000_000));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /within its budget of 350000 B \(350 KB\): \d+ B left/);
});

test("a wasm over 350,000 B gzipped fails, naming the budget and its size", () => {
  // Random bytes do not compress: 360,000 of them gzip to a little more.
  const r = check(crypto.randomBytes(360_000));
  assert.equal(r.status, 1);
  const [, size] = r.stderr.match(/is (\d+) B gzip -9, over its budget of 350000 B \(350 KB\) by (\d+) B/) ?? [];
  assert.ok(Number(size) > 360_000, r.stderr);
  assert.match(r.stderr, /bash bench\/size\.sh/);
});

test("no wasm fails", () => {
  const r = check(null);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no .*index_bg\.wasm: build it first/);
});
