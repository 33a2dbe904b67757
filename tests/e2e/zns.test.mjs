// Zalo ZNS through CareSoft end to end: a mock CareSoft on 127.0.0.1 records every request and
// can refuse; the Worker sends from the admin API and from a rule on card-shop events, once per
// trigger, within 15 a second, recovering from 429s and dead-lettering a refused token.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SECRETS, sleep, startMock, startWorker, waitFor } from './harness.mjs';
import { now } from './wechat-client.mjs';

let worker; let caresoft; let robot; let wechat;
let ticketSerial = 297000;

before(async () => {
  // As CareSoft does: a send with a ticket_id stays in that ticket, one without opens a new one.
  caresoft = await startMock('caresoft', (req) => {
    const given = req.json?.zns?.ticket_id;
    if (given === undefined) ticketSerial += 1;
    return { json: { status: 'OK', ticket: { ticketId: String(given ?? ticketSerial) } } };
  });
  robot = await startMock('robot');
  wechat = await startMock('wechat');
  worker = await startWorker({
    CARESOFT_BASE_URL: `${caresoft.url}/demo`,
    WECOM_API_BASE: robot.url,
    WECHAT_API_BASE: wechat.url,
  });
});
after(async () => { await worker?.stop(); await caresoft?.close(); await robot?.close(); await wechat?.close(); });

const api = async (p) => (await worker.admin(p)).json();
const sendZns = (body, headers = {}) => worker.admin('/api/zns', { method: 'POST', body: JSON.stringify(body), headers });
const sends = (templateId) => caresoft.calls('/demo/api/v1/zalo/zns').filter((r) => r.json?.zns?.template_id === templateId);
const deliveryState = async (id) => (await api('/api/deliveries?limit=1000')).deliveries.find((d) => d.id === id)?.state;
const delivered = (id) => waitFor(async () => (await deliveryState(id)) === 'delivered', `delivery ${id} delivered`);

function signed(event) {
  const body = JSON.stringify(event);
  const ts = String(now());
  const sig = crypto.createHmac('sha256', SECRETS.ORDER_WEBHOOK_SECRET).update(`${ts}.${body}`).digest('hex');
  return fetch(`${worker.url}/hooks/orders`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'x-kefu-timestamp': ts, 'x-kefu-signature': `sha256=${sig}` },
  });
}

describe('ZNS through CareSoft', () => {
  test('a send reaches CareSoft with the Bearer token, the normalised phone, an integer template id and the params', async () => {
    const r = await sendZns({ phone: '(+84) 983.123.148', template_id: 366, params: { requester: 'Nguyễn Hải Hà', masoDatve: '098733' } });
    assert.equal(r.status, 202);
    const { delivery } = await r.json();
    await delivered(delivery);
    const [call] = sends(366);
    assert.equal(call.method, 'POST');
    assert.equal(call.headers.authorization, `Bearer ${SECRETS.CARESOFT_API_TOKEN}`);
    assert.match(call.headers['content-type'], /^application\/json/);
    assert.deepEqual(call.json, { zns: { phone: '0983123148', template_id: 366, params: { requester: 'Nguyễn Hải Hà', masoDatve: '098733' } } });
    assert.equal(sends(366).length, 1);
  });

  test('an invalid phone or template id is a 400 with the reason, and nothing is sent', async () => {
    const before = caresoft.requests.length;
    const deliveries = (await api('/api/deliveries?limit=1000')).deliveries.length;
    for (const [body, reason] of [
      [{ phone: '0243 123 148', template_id: 1 }, /not a Vietnamese mobile prefix/],
      [{ phone: '098312314', template_id: 1 }, /8 digits/],
      [{ phone: '0983-123-14x', template_id: 1 }, /not a digit/],
      [{ phone: '0983123148', template_id: '366' }, /positive integer/],
      [{ phone: '0983123148', template_id: 0 }, /positive integer/],
      [{ template_id: 1 }, /phone is required/],
    ]) {
      const r = await sendZns(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match((await r.json()).error, reason);
    }
    await sleep(1000);
    assert.equal(caresoft.requests.length, before);
    assert.equal((await api('/api/deliveries?limit=1000')).deliveries.length, deliveries);
  });

  test('429 twice, then OK: one delivered send, each retry after Retry-After', async () => {
    caresoft.failNext(2, 429, { message: 'Too Many Attempts' }, { 'retry-after': '1' });
    const { delivery } = await (await sendZns({ phone: '0983123148', template_id: 429 })).json();
    await delivered(delivery);
    const calls = sends(429);
    assert.equal(calls.length, 3, 'two refused, one delivered');
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i].at - calls[i - 1].at >= 900, 'Retry-After honoured');
  });

  test('a refused token: dead letters with CareSoft\'s reason and one staff alert', async () => {
    caresoft.failNext(2, 401, { message: 'Unauthenticated.' });
    const ids = [];
    for (const template of [4011, 4012]) ids.push((await (await sendZns({ phone: '0983123148', template_id: template })).json()).delivery);
    await waitFor(async () => (await Promise.all(ids.map(deliveryState))).every((s) => s === 'dead'), 'both dead');
    const dead = (await api('/api/dead-letters')).dead_letters.filter((d) => ids.includes(d.delivery_id));
    assert.equal(dead.length, 2);
    for (const d of dead) assert.match(d.reason, /check CARESOFT_API_TOKEN/);
    const lines = () => robot.requests.flatMap((r) => (r.json?.markdown?.content ?? '').split('\n')).filter((l) => l.includes('CARESOFT_API_TOKEN'));
    await waitFor(() => lines().length > 0, 'the alert');
    await sleep(1500);
    assert.equal(lines().length, 1, 'one alert for both');
    assert.ok(!robot.requests.some((r) => (r.body ?? '').includes('0983123148')), 'the phone is masked in alerts');
  });

  test('40 sends in a burst: never more than 15 in any second', async () => {
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => sendZns({ phone: '0983123148', template_id: 4000, params: { n: String(i) } })));
    assert.ok(responses.every((r) => r.status === 202));
    await waitFor(() => sends(4000).length >= 40, '40 sends', 120_000);
    const times = sends(4000).map((r) => r.at).sort((a, b) => a - b);
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    assert.ok(busiest <= 15, `at most 15 in a second, saw ${busiest}`);
    assert.deepEqual(new Set(sends(4000).map((r) => r.json.zns.params.n)).size, 40, 'each once');
  });

  test('an order webhook retried five times with a matching rule sends one ZNS', async () => {
    const rules = { zns: [{ on: 'order.delivery_failed', template_id: 777, params: { order_id: '{order.id}', requester: '{customer.name}' } }] };
    assert.equal((await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify(rules) })).status, 200);
    const event = { id: `evt_zns_${Date.now()}`, type: 'order.delivery_failed', order: { id: 'OZNS1' }, customer: { phone: '+84 983 123 148', name: 'Hà' } };
    const answers = await Promise.all([signed(event), signed(event), signed(event)]);
    answers.push(await signed(event), await signed(event));
    assert.ok(answers.every((r) => r.status === 200));
    await waitFor(() => sends(777).length >= 1, 'the rule\'s send');
    await sleep(2000);
    assert.equal(sends(777).length, 1);
    assert.deepEqual(sends(777)[0].json.zns, { phone: '0983123148', template_id: 777, params: { order_id: 'OZNS1', requester: 'Hà' } });
  });

  test('a rule with an unknown placeholder is refused with the reason', async () => {
    const r = await worker.admin('/api/rules', { method: 'PUT', body: JSON.stringify({ zns: [{ on: 'order.paid', template_id: 1, params: { x: '{order.colour}' } }] }) });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /unknown placeholder \{order.colour\}/);
  });

  test('a second send on a ticket carries the CareSoft ticket the first one opened, and both are on the timeline', async () => {
    const event = { id: `evt_delay_${Date.now()}`, type: 'order.delayed', order: { id: 'OZNS2' }, customer: { phone: '0912345678', name: 'Lan' } };
    assert.equal((await signed(event)).status, 200);
    const ticket = await waitFor(async () => (await api('/api/tickets?limit=1000')).tickets.find((t) => t.order_id === 'OZNS2'), 'the ticket');
    const send = async (template) => {
      const r = await worker.admin(`/api/tickets/${ticket.id}/zns`, { method: 'POST', body: JSON.stringify({ template_id: template }) });
      assert.equal(r.status, 202);
      const { delivery } = await r.json();
      await delivered(delivery);
    };
    await send(801);
    const first = sends(801)[0];
    assert.equal(first.json.zns.phone, '0912345678');
    assert.equal(first.json.zns.ticket_id, undefined, 'the first opens a CareSoft ticket');
    await send(802);
    const caresoftTicket = (await api(`/api/tickets/${ticket.id}`)).ticket.caresoft_ticket_id;
    assert.ok(caresoftTicket > 297000);
    assert.equal(sends(802)[0].json.zns.ticket_id, caresoftTicket);
    const timeline = (await api(`/api/tickets/${ticket.id}`)).timeline.map((e) => e.body);
    assert.ok(timeline.some((b) => b === 'ZNS template 801 to 091***678 requested'));
    assert.ok(timeline.some((b) => b === `ZNS template 802 sent to 091***678 (CareSoft ticket ${caresoftTicket})`));
    const noPhone = await worker.admin('/api/tickets/999999/zns', { method: 'POST', body: JSON.stringify({ template_id: 1 }) });
    assert.equal(noPhone.status, 404);
  });

  test('one Idempotency-Key sends once, even twice at the same time', async () => {
    const body = { phone: '0983123148', template_id: 555 };
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const [a, b] = await Promise.all([sendZns(body, headers), sendZns(body, headers)]);
    const [ja, jb] = [await a.json(), await b.json()];
    assert.equal(ja.delivery, jb.delivery);
    await delivered(ja.delivery);
    await sleep(1000);
    assert.equal(sends(555).length, 1);
    const again = await (await sendZns(body, headers)).json();
    assert.deepEqual(again, { delivery: ja.delivery, repeated: true });
  });
});
