// The checker (`cargo run --release --bin kefu-check`) against the real Worker: with the
// Worker's own settings every check passes and what it sent is stored once; with a wrong
// setting the check that depends on it fails, names the setting, and the exit code says so.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startWorker, waitFor } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let worker;

// The README's command, built once before the Worker starts (cargo prints its progress to stderr).
before(async () => {
  execFileSync('cargo', ['build', '--release', '--bin', 'kefu-check'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  // As deployed by default: safe mode, plain pushes refused.
  worker = await startWorker({ ALLOW_UNENCRYPTED_PUSH: undefined });
});
after(async () => { await worker?.stop(); });

function check(...args) {
  const run = spawnSync('cargo', ['run', '--quiet', '--release', '--bin', 'kefu-check', '--', ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const lines = run.stdout.split('\n').filter(Boolean);
  return { status: run.status, lines, output: run.stdout + run.stderr, line: (name) => lines.find((l) => l.includes(` ${name}: `)) };
}

const vars = () => path.join(worker.dir, '.dev.vars');

describe('kefu-check', () => {
  test('passes every check with the Worker\'s settings, and what it sent is stored once', async () => {
    const run = check('--url', worker.url, '--vars', vars());
    assert.equal(run.status, 0, run.output);
    for (const name of ['oa: URL check (echostr)', 'oa: plain message', 'oa: safe-mode message', 'oa: event', 'oa: retried MsgId',
      'shop: URL check (echostr)', 'shop: safe-mode message', 'payfeedback: signed 维权 notification', 'orders: signed card-shop event',
      'refused: bad signature', 'refused: stale timestamp', 'refused: card-shop event with a bad signature',
      'zalo: signed user_send_text', 'refused: Zalo event with a bad signature']) {
      assert.match(run.line(name) ?? '', /^✓ /, `${name} passes:\n${run.output}`);
    }
    assert.match(run.line('oa: safe-mode message'), /MsgSignature verified, decrypted, AppID matches/);
    assert.match(run.line('oa: plain message'), /refused \(403 unencrypted_push\)/);
    assert.match(run.line('shop: safe-mode message'), /answered success: sealed with SHOP_AES_KEY/);
    assert.match(run.lines.at(-1), /^15 passed, 0 failed, 0 skipped$/);
    // The retried MsgId is one event; the complaint and card-shop event are stored.
    const events = await waitFor(async () => {
      const all = await worker.events();
      return all.filter((e) => /^oa:msg:|^shop:msg:|^payfeedback:kefu-check-|^orders:kefu-check-|^zalo:msg:kefu-check-/.test(e.dedup_key)).length >= 5 && all;
    }, 'the checker\'s pushes stored');
    assert.equal(events.filter((e) => e.dedup_key.startsWith('oa:msg:')).length, 1, 'one message for the retried MsgId');
    assert.equal(events.filter((e) => e.dedup_key.startsWith('shop:msg:')).length, 1, 'the Shop message');
    assert.equal(events.filter((e) => e.dedup_key.startsWith('payfeedback:kefu-check-')).length, 1);
    assert.equal(events.filter((e) => e.dedup_key.startsWith('orders:kefu-check-')).length, 1);
    assert.equal(events.filter((e) => e.dedup_key.startsWith('zalo:msg:kefu-check-')).length, 1);
  });

  test('a wrong token fails the URL check and the pushes, naming WECHAT_TOKEN, and exits 1', () => {
    const run = check('--url', worker.url, '--vars', vars(), '--wechat-token', 'not-the-token');
    assert.equal(run.status, 1, run.output);
    assert.match(run.line('oa: URL check (echostr)'), /^✗ .*403 .*WECHAT_TOKEN/);
    assert.match(run.line('oa: safe-mode message'), /^✗ .*WECHAT_TOKEN differs/);
    assert.match(run.line('payfeedback: signed 维权 notification'), /^✓ /, 'checks that do not use the token still pass');
    assert.match(run.lines.at(-1), /[1-9]\d* failed/);
  });

  test('a wrong AppID, paySignKey or webhook secret fails its own check', () => {
    const run = check('--url', worker.url, '--vars', vars(), '--wechat-appid', 'wx0000000000000000',
      '--pay-sign-key', 'wrong', '--order-webhook-secret', 'wrong', '--zalo-oa-secret-key', 'wrong');
    assert.equal(run.status, 1, run.output);
    assert.match(run.line('oa: safe-mode message'), /^✗ .*WECHAT_AES_KEY .*or WECHAT_APPID differs/);
    assert.match(run.line('payfeedback: signed 维权 notification'), /^✗ .*PAY_SIGN_KEY/);
    assert.match(run.line('orders: signed card-shop event'), /^✗ .*ORDER_WEBHOOK_SECRET/);
    assert.match(run.line('zalo: signed user_send_text'), /^✗ .*ZALO_OA_SECRET_KEY/);
    assert.match(run.line('oa: URL check (echostr)'), /^✓ /);
  });

  test('settings not given are skipped, and an unreachable URL is one clear failure', () => {
    const { WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APPID } = worker.settings;
    const some = check('--url', worker.url, '--wechat-token', WECHAT_TOKEN, '--wechat-aes-key', WECHAT_AES_KEY, '--wechat-appid', WECHAT_APPID);
    assert.equal(some.status, 0, some.output);
    assert.match(some.line('payfeedback: signed 维权 notification'), /^- .*PAY_SIGN_KEY is not given/);
    assert.match(some.line('oa: URL check (echostr)'), /^✓ /);
    const down = check('--url', 'http://127.0.0.1:9', '--vars', vars());
    assert.equal(down.status, 1, down.output);
    assert.deepEqual(down.lines.slice(1), ['✗ reach: GET /healthz: no answer from the Worker: Connection Failed: Connect error', '0 passed, 1 failed, 0 skipped']);
    const usage = check('--vars', vars());
    assert.equal(usage.status, 2);
    assert.match(usage.output, /--url is required/);
  });
});
