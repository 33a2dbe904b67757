// A D1 outage loses nothing: the Worker starts without its D1 binding, WeChat's callbacks are
// still answered and every event is kept in KV (one staff alert for the outage); a Worker with
// D1 on the same local state replays them, and each is stored exactly once.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, msgId, now, plainQuery } from './wechat-client.mjs';

const TOKEN = SECRETS.WECHAT_TOKEN;
let robot; let state;

before(async () => {
  robot = await startMock('robot');
  state = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-outage-'));
});
after(async () => {
  await robot?.close();
  fs.rmSync(state, { recursive: true, force: true });
});

describe('a D1 outage', () => {
  test('keeps every acknowledged event recoverable, and a replay stores each once', async () => {
    const ids = Array.from({ length: 5 }, () => msgId());
    const bodies = [];
    const down = await startWorker({ WECOM_API_BASE: robot.url }, { withoutD1: true, stateDir: state });
    try {
      for (const id of ids) {
        const body = cdata({ ToUserName: 'gh_test', FromUserName: 'oOutage', CreateTime: now(), MsgType: 'text', Content: `lost? ${id}`, MsgId: id });
        bodies.push(body);
        const r = await fetch(`${down.url}/wechat/oa?${plainQuery(TOKEN)}`, { method: 'POST', body });
        assert.equal(r.status, 200, 'WeChat is answered: the inline path needs no D1');
      }
      const parked = await waitFor(async () => {
        const list = (await (await down.admin('/api/parked')).json()).parked;
        return list.length === ids.length && list;
      }, 'every event parked in KV', 90_000);
      // Parked as the queue carries it: the push's own text, read again on replay.
      assert.deepEqual(parked.map((p) => p.message.inbound.platform), ids.map(() => 'oa'));
      assert.deepEqual(parked.map((p) => p.message.inbound.text).sort(), [...bodies].sort());
      assert.equal((await down.admin('/api/events')).status, 503, 'D1 really is unusable');
      // Queue retries meanwhile park the same events on the same keys, and alert no more.
      await sleep(12_000);
      assert.equal((await (await down.admin('/api/parked')).json()).parked.length, ids.length);
      // Listed a page at a time with KV's cursor.
      const paged = [];
      let cursor = null;
      do {
        const page = await (await down.admin(`/api/parked?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
        assert.ok(page.parked.length <= 2);
        paged.push(...page.parked.map((p) => p.key));
        cursor = page.cursor;
      } while (cursor);
      assert.deepEqual(paged.sort(), parked.map((p) => p.key).sort());
      const alerts = robot.requests.filter((r) => (r.json?.markdown?.content ?? '').includes('storage unavailable'));
      assert.equal(alerts.length, 1, 'one alert for the outage');
    } finally {
      await down.stop();
    }

    const up = await startWorker({ WECOM_API_BASE: robot.url }, { stateDir: state });
    try {
      const replay = await up.admin('/api/parked/replay', { method: 'POST' });
      assert.equal(replay.status, 202);
      assert.deepEqual(await replay.json(), { replayed: ids.length, unreadable: [], remaining: 0 });
      for (const id of ids) await up.storedWith(`oa:msg:${id}`);
      // A second replay finds nothing; nothing is stored twice.
      assert.deepEqual(await (await up.admin('/api/parked/replay', { method: 'POST' })).json(), { replayed: 0, unreadable: [], remaining: 0 });
      await sleep(2_000);
      const stored = (await up.events()).filter((e) => e.dedup_key.startsWith('oa:msg:'));
      assert.deepEqual(stored.map((e) => e.dedup_key).sort(), ids.map((id) => `oa:msg:${id}`).sort());
      const { tickets } = await (await up.admin('/api/tickets')).json();
      assert.equal(tickets.filter((t) => t.customer_id === 'oOutage').length, 1);
    } finally {
      await up.stop();
    }
  });
});
