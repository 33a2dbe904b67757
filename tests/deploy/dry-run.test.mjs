// The real project through the real wrangler (node_modules, the pinned 4.86.0):
// `wrangler deploy --dry-run` bundles build/ with the real wrangler.toml and uploads nothing.
// It needs build/, which scripts/test.sh builds before these tests; it is not built here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// `wrangler deploy --dry-run` in dir (its wrangler.toml), the bundle into tmp/bundle.
function dryRun(t, dir) {
  const wrangler = path.join(ROOT, "node_modules/.bin/wrangler");
  assert.ok(fs.existsSync(wrangler), "node_modules/.bin/wrangler is missing: run bash scripts/setup.sh");
  assert.ok(
    fs.existsSync(path.join(ROOT, "build/index.js")),
    "build/index.js is missing: run bash scripts/build.sh first (bash scripts/test.sh does)",
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kefu-dry-run-"));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const outdir = path.join(tmp, "bundle");
  const r = spawnSync(wrangler, ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 180_000,
    env: {
      ...process.env,
      // build/ exists: scripts/build.sh, which wrangler runs as [build], skips rebuilding it.
      KEFU_PREBUILT: "1",
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: path.join(tmp, "logs"),
    },
  });
  const said = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, `wrangler deploy --dry-run failed:\n${said}`);
  assert.match(said, /--dry-run: exiting now/);
  return { said, outdir };
}

test("wrangler deploy --dry-run bundles the built Worker with the real wrangler.toml", (t) => {
  const tomlBefore = fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const { said, outdir } = dryRun(t, ROOT);

  // The bundle: the entry module and the Worker's WebAssembly.
  const files = fs.readdirSync(outdir, { recursive: true });
  assert.ok(files.includes("index.js"), `no index.js in ${files.join(", ")}`);
  assert.ok(files.some((f) => f.endsWith(".wasm")), `no .wasm in ${files.join(", ")}`);
  assert.ok(fs.statSync(path.join(outdir, "index.js")).size > 0);
  // wrangler read the bindings the Worker's code expects.
  for (const binding of ["KEFU_KV", "KEFU_DB", "KEFU_EVENTS"]) assert.ok(said.includes(binding), binding);
  assert.equal(fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"), tomlBefore);
});

test("wrangler reads the Zalo var as scripts/deploy.sh writes them into wrangler.toml", (t) => {
  // A copy of the project's wrangler.toml beside links to the real build/ and scripts/.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kefu-dry-run-vars-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(ROOT, "wrangler.toml"), path.join(dir, "wrangler.toml"));
  for (const item of ["build", "scripts", "migrations"]) fs.symlinkSync(path.join(ROOT, item), path.join(dir, item));
  const vars = { ZALO_APP_ID: "4318871592206370010" };
  const set = spawnSync(
    process.execPath,
    [path.join(ROOT, "scripts/deploy-lib.mjs"), "toml-set", path.join(dir, "wrangler.toml"), ...Object.entries(vars).map(([k, v]) => `var:${k}=${v}`)],
    { encoding: "utf8" },
  );
  assert.equal(set.status, 0, set.stderr);

  const { said } = dryRun(t, dir);
  for (const [name, value] of Object.entries(vars)) {
    assert.match(said, new RegExp(`env\\.${name} \\("${value}"\\)\\s+Environment Variable`), name);
  }
});
