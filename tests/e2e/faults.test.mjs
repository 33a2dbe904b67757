// Faults injected into an upstream (the WeCom robot) while staff alerts go out: an upstream that
// never answers, 429 with Retry-After, and bursts of 5xx. Every alert still arrives, once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SECRETS, startMock, startWorker, waitFor } from './harness.mjs';
import { cdata, msgId, nonce, now, plainQuery } from './wechat-client.mjs';

let worker; let robot;

before(async () => {
  robot = await startMock('robot');
  worker = await startWorker({ WECOM_API_BASE: robot.url });
});
after(async () => { await worker?.stop(); await robot?.close(); });

// A first message from a new customer: one new ticket, one alert for the robot. Returns a
// marker that appears in the alert.
async function newTicket() {
  const marker = `fault-${nonce()}`;
  const body = cdata({ ToUserName: 'gh_test', FromUserName: `oFault_${nonce()}`, CreateTime: now(), MsgType: 'text', Content: marker, MsgId: msgId() });
  assert.equal((await fetch(`${worker.url}/wechat/oa?${plainQuery(SECRETS.WECHAT_TOKEN)}`, { method: 'POST', body })).status, 200);
  return marker;
}
const carrying = (marker) => robot.requests.filter((r) => (r.json?.markdown?.content ?? '').includes(marker));
const delivered = async (marker) => (await (await worker.admin('/api/deliveries?limit=1000')).json()).deliveries
  .find((d) => d.payload.includes(marker));

describe('an upstream fault', () => {
  test('that never answers: the call times out and is retried, never stuck', async () => {
    robot.hangNext();
    const marker = await newTicket();
    await waitFor(() => carrying(marker).length === 2, 'a second attempt after the timeout', 90_000);
    const d = await waitFor(async () => { const row = await delivered(marker); return row?.state === 'delivered' && row; }, 'delivered');
    assert.equal(d.attempts, 2);
    assert.ok(carrying(marker)[1].at - carrying(marker)[0].at >= 15_000, 'the first call was given its 15 s');
  });

  test('429 with Retry-After: the next attempt waits as long as asked', async () => {
    robot.failNext(1, 429, { errcode: 45009, errmsg: 'api freq out of limit' }, { 'retry-after': '6' });
    const marker = await newTicket();
    await waitFor(() => carrying(marker).length === 2, 'the retry', 60_000);
    const [first, second] = carrying(marker);
    assert.ok(second.at - first.at >= 5_500, `retried after ${second.at - first.at} ms`);
    await waitFor(async () => (await delivered(marker))?.state === 'delivered', 'delivered');
  });

  test('a burst of 5xx: retried with backoff until delivered, once', async () => {
    robot.failNext(3, 503);
    const marker = await newTicket();
    const d = await waitFor(async () => { const row = await delivered(marker); return row?.state === 'delivered' && row; }, 'delivered', 90_000);
    assert.equal(d.attempts, 4);
    const answered = carrying(marker).length;
    assert.equal(answered, 4, 'three failures, then one delivery');
  });
});
