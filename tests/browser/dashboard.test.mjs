// The staff dashboard in a real browser (Debian's Chromium, driven by playwright-core) against
// the real Worker in wrangler dev with mock WeChat, WeCom and CareSoft APIs, once phone-sized
// and once desktop-sized: sign-in (a wrong token refused, the token only in sessionStorage), a
// callback from an independent WeChat client appearing in the queue by itself, a reply reaching
// WeChat exactly once and showing with the agent's name, customer markup shown as text, ticket
// actions, SLA colours, a complaint resolved (one payfeedback/update), a rejected complaint
// standing out, a dead letter replayed, rules changed and refused with the error beside the
// rule, and the page in Tiếng Việt and 中文.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { STAFF, TIME_ZONE, VIEWPORTS, XSS, assertClean, now, shot, signIn, sleep, startDashboard, waitFor } from './support.mjs';

let env;
before(async () => { env = await startDashboard(); });
after(async () => { await env?.stop(); });

test('the page is static files under a strict Content-Security-Policy, and the Worker answers the rest', async () => {
  const r = await fetch(`${env.worker.url}/`);
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  const page = await r.text();
  assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(page, /<style|\sstyle=|\son\w+=/i, 'no inline style or handler');
  assert.doesNotMatch(page, /https?:\/\//, 'no CDN');
  assert.equal((await fetch(`${env.worker.url}/_headers`)).status, 404, '_headers is read, not served');
  const api = await fetch(`${env.worker.url}/api/me`);
  assert.equal(api.status, 401, '/api/* still reaches the Worker');
});

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  describe(`${size}-sized`, () => {
    test('a wrong token is refused; the right one signs in as the agent, kept in sessionStorage only; sign-out clears it', async () => {
      const page = await env.newPage(viewport);
      const refused = page.waitForResponse((r) => r.url().endsWith('/api/me') && r.status() === 401);
      await signIn(page, env.worker.url, 'not-a-token');
      await refused;
      await page.waitForSelector('#sign-in-error:has-text("This token is not accepted.")');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('kefu.token')), null);
      await shot(page, `${size}-signin-refused`);
      await signIn(page, env.worker.url);
      await page.waitForSelector('#nav-queue');
      assert.match(await page.textContent('footer'), new RegExp(`Signed in as ${STAFF.name} · Times in ${TIME_ZONE}`));
      const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('kefu.token'), local: JSON.stringify(localStorage), url: location.href, cookie: document.cookie }));
      assert.equal(stored.session, STAFF.token);
      for (const where of [stored.local, stored.url, stored.cookie]) assert.ok(!where.includes(STAFF.token), where);
      // A reload keeps the tab signed in; sign-out forgets the token.
      await page.reload();
      await page.waitForSelector('#nav-queue');
      await page.click('#sign-out');
      await page.waitForSelector('#token');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('kefu.token')), null);
      assertClean(page);
      await page.context().close();
    });

    test('a WeChat message appears in the queue by itself; a reply reaches WeChat once and shows with the agent\'s name; markup stays text', async () => {
      const openid = `oQueue${size}`;
      const page = await env.newPage(viewport);
      await signIn(page, env.worker.url);
      await page.waitForSelector('.list-head');
      // The customer writes while the queue is open: it shows without a reload.
      await env.customerWrites(openid, `我的卡密呢？ ${XSS}`);
      const ticket = await env.ticketOf(openid);
      const row = page.locator(`li[data-ticket="${ticket.id}"]`);
      await row.waitFor({ timeout: 20_000 });
      assert.match(await row.textContent(), /Official Account/);
      assert.match(await row.locator('.due').textContent(), /First response.*left/);
      await shot(page, `${size}-queue`);
      await row.locator('a').click();
      await page.waitForSelector('.timeline .entry.kind-inbound');
      const inbound = page.locator('.timeline .entry.kind-inbound').first();
      assert.equal(await inbound.locator('.body').textContent(), `我的卡密呢？ ${XSS}`, 'the markup is shown as its characters');
      assert.equal(await page.locator('.timeline img, img[src="x"]').count(), 0, 'no element was made of it');
      assert.match(await page.textContent('#reach'), /Goes by WeChat: the customer's window is open/);
      assert.match(await page.textContent('#reach-window'), /Window open until .* · 5 messages left/);

      const text = `您好，卡密已补发 <b>${size}</b> ${Date.now()}`;
      await page.fill('#reply-text', text);
      await page.click('#send-reply');
      const sends = () => env.wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === openid);
      await waitFor(() => sends().length === 1, 'the custom/send');
      assert.equal(sends()[0].json.msgtype, 'text');
      assert.equal(sends()[0].json.text.content, text);
      const agentLine = page.locator('.timeline .entry.kind-agent', { hasText: `Reply via WeChat: ${text}` });
      await agentLine.waitFor();
      assert.equal(await agentLine.locator('.actor').textContent(), STAFF.name);
      // Its outcome comes back from the queue consumer onto the timeline.
      const sent = page.locator('.timeline .entry.kind-outbound', { hasText: `Sent to the customer: ${text}` });
      await sent.waitFor({ timeout: 30_000 });
      assert.equal(await sent.locator('.badge').textContent(), 'delivered');
      assert.equal(await page.locator('.timeline b').count(), 0);
      await shot(page, `${size}-ticket`);
      await sleep(1000);
      assert.equal(sends().length, 1, 'exactly one custom/send');
      const stored = await env.admin(`/api/tickets/${ticket.id}`);
      assert.ok(stored.ticket.first_response_at, 'the reply is the first response');
      assert.equal(stored.ticket.assignee, STAFF.name);
      assertClean(page);
      await page.context().close();
    });

    test('a Shop buyer gets a text and the order card they shared by sendmsg; the window counts down', async () => {
      const openid = `oShopBuyer${size}`;
      const orderId = '3721712203692901632';
      await env.buyerWrites(openid, { msg_type: 'order_share', order_share: { order_id: BigInt(orderId) } });
      const ticket = await env.ticketOf(openid);
      const page = await env.newPage(viewport);
      await signIn(page, env.worker.url);
      await page.waitForSelector('#nav-queue');
      await page.goto(`${env.worker.url}/#/ticket/${ticket.id}`);
      await page.waitForSelector('#reach');
      assert.match(await page.textContent('#reach'), /Goes by WeChat Shop: the customer's window is open/);
      assert.match(await page.textContent('#reach-window'), /5 messages left/);
      const sends = () => env.wechat.calls('/channels/ec/commkf/sendmsg').filter((c) => c.json?.open_id === openid);
      await page.fill('#reply-text', '您好，马上为您查询');
      await page.click('#send-reply');
      await waitFor(() => sends().length === 1, 'the text sendmsg');
      assert.deepEqual(sends()[0].json.text, { content: '您好，马上为您查询' });
      await page.waitForSelector('#reach-window:has-text("4 messages left")');
      // The order card offers the order the buyer shared.
      await page.check('input[name="reply-kind"][value="order"]');
      assert.equal(await page.inputValue('#reply-card-id'), orderId);
      await shot(page, `${size}-shop-reply`);
      await page.click('#send-reply');
      await waitFor(() => sends().length === 2, 'the order card sendmsg');
      assert.equal(sends()[1].json.msg_type, 'order_share');
      assert.deepEqual(sends()[1].json.order_share, { order_id: orderId });
      await page.waitForSelector(`.timeline .entry.kind-agent:has-text("Reply via WeChat Shop: [order card] ${orderId}")`);
      await page.waitForSelector('#reach-window:has-text("3 messages left")');
      assertClean(page);
      await page.context().close();
    });

    test('assign, resolve, reopen and close from the ticket, each on the timeline under the agent\'s name', async () => {
      const openid = `oActions${size}`;
      await env.customerWrites(openid, 'hello');
      const ticket = await env.ticketOf(openid);
      const page = await env.newPage(viewport);
      await signIn(page, env.worker.url);
      await page.waitForSelector('#nav-queue');
      await page.goto(`${env.worker.url}/#/ticket/${ticket.id}`);
      await page.fill('#assignee-input', 'bob');
      await page.click('#assign');
      await page.waitForSelector('.ticket-head .assignee:has-text("bob")');
      await page.click('#assign-me');
      await page.waitForSelector(`.ticket-head .assignee:has-text("${STAFF.name}")`);
      await page.click('#resolve');
      await page.waitForSelector('#reopen');
      await page.click('#reopen');
      await page.waitForSelector('#resolve');
      await page.click('#close');
      await page.waitForSelector('.ticket-head .badge:has-text("closed")');
      const { ticket: after, timeline } = await env.admin(`/api/tickets/${ticket.id}`);
      assert.equal(after.status, 'closed');
      const mine = timeline.filter((e) => e.kind === 'agent').map((e) => [e.actor, e.body]);
      assert.deepEqual(mine, [[STAFF.name, 'assigned to bob'], [STAFF.name, `assigned to ${STAFF.name}`], [STAFF.name, 'resolved'], [STAFF.name, 'reopened'], [STAFF.name, 'closed']]);
      for (const line of ['Assigned to bob', 'Resolved', 'Reopened', 'Closed']) await page.waitForSelector(`.timeline .entry.kind-agent:has-text("${line}")`);
      assertClean(page);
      await page.context().close();
    });

    test('a ticket\'s countdown turns amber with a quarter left and red once breached', async () => {
      const openid = `oClock${size}`;
      await env.customerWrites(openid, 'is anyone there?');
      const ticket = await env.ticketOf(openid);
      const page = await env.newPage(viewport);
      await page.clock.install();
      await signIn(page, env.worker.url);
      await page.goto(`${env.worker.url}/#/queue?channel=oa&status=open`);
      const due = page.locator(`li[data-ticket="${ticket.id}"] .due`);
      await due.waitFor();
      assert.match(await due.getAttribute('class'), /\bok\b/);
      const window = ticket.first_response_due - ticket.created_at;
      await page.clock.setSystemTime((ticket.first_response_due - window / 8) * 1000);
      await page.clock.runFor(2000);
      await page.waitForSelector(`li[data-ticket="${ticket.id}"] .due.soon`);
      await page.clock.setSystemTime((ticket.first_response_due + 90) * 1000);
      await page.clock.runFor(2000);
      await page.waitForSelector(`li[data-ticket="${ticket.id}"] .due.breached:has-text("breached 1m")`);
      await shot(page, `${size}-queue-breached`);
      assertClean(page);
      await page.context().close();
    });

    test('a complaint resolved from the page reaches payfeedback/update once, with the message to the customer', async () => {
      const feedbackId = `fb${size}${Date.now()}`;
      const openid = `oComplainer${size}`;
      await env.complaint(feedbackId, openid);
      await waitFor(async () => (await env.admin('/api/complaints')).complaints.some((c) => c.feedback_id === feedbackId), 'the complaint');
      const page = await env.newPage(viewport);
      await signIn(page, env.worker.url);
      await page.click('#nav-complaints');
      const card = page.locator(`li.complaint[data-fid="${feedbackId}"]`);
      await card.waitFor();
      assert.match(await card.textContent(), /waiting/);
      assert.match(await card.locator('.due').textContent(), /left/);
      await card.locator('button.resolve-complaint').click();
      await page.fill('#complaint-message', '已退款，请查收 <script>alert(1)</script>');
      await shot(page, `${size}-complaint-dialog`);
      await page.click('#confirm-resolve');
      await page.waitForSelector(`.note:has-text("Complaint ${feedbackId} marked processed")`);
      const updates = () => env.wechat.calls('/payfeedback/update').filter((c) => c.query.feedbackid === feedbackId);
      await waitFor(() => updates().length === 1, 'the payfeedback/update');
      assert.equal(updates()[0].query.openid, openid);
      const messages = () => env.wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === openid);
      await waitFor(() => messages().length === 1, 'the message to the customer');
      assert.equal(messages()[0].json.text.content, '已退款，请查收 <script>alert(1)</script>');
      await card.locator('.badge:has-text("processed")').waitFor();
      await sleep(1000);
      assert.equal(updates().length, 1, 'exactly one payfeedback/update');
      const ticket = await env.ticketOf(openid);
      const { timeline } = await env.admin(`/api/tickets/${ticket.id}`);
      assert.ok(timeline.some((e) => e.actor === STAFF.name && e.body.startsWith(`complaint ${feedbackId} resolved by ${STAFF.name}`)));
      assertClean(page);
      await page.context().close();
    });

    test('a complaint the customer rejected stands out; the quarter-left warning and the overdue state show', async () => {
      const feedbackId = `fbRejected${size}${Date.now()}`;
      const openid = `oRejecter${size}`;
      await env.complaint(feedbackId, openid, 'request', { timestamp: now() - 20 });
      await waitFor(async () => (await env.admin('/api/complaints')).complaints.some((c) => c.feedback_id === feedbackId), 'the complaint');
      await env.complaint(feedbackId, openid, 'reject', { timestamp: now() - 10 });
      const complaint = await waitFor(async () => (await env.admin('/api/complaints')).complaints.find((c) => c.feedback_id === feedbackId && c.status === 'reopened'), 'the rejected complaint');
      const page = await env.newPage(viewport);
      await page.clock.install();
      await signIn(page, env.worker.url);
      await page.goto(`${env.worker.url}/#/complaints?status=reopened`);
      const card = page.locator(`li.complaint[data-fid="${feedbackId}"]`);
      await card.waitFor();
      assert.match(await card.getAttribute('class'), /\bescalated\b/);
      assert.match(await card.textContent(), /Rejected by the customer/);
      await shot(page, `${size}-complaint-rejected`);
      await page.clock.setSystemTime((complaint.warning_due + 60) * 1000);
      await page.clock.runFor(6000);
      await card.locator('.warning:has-text("Less than a quarter of the time left")').waitFor();
      await page.clock.setSystemTime((complaint.deadline + 60) * 1000);
      await page.clock.runFor(6000);
      await card.locator('.overdue:has-text("Overdue")').waitFor();
      assert.match(await card.locator('.due').getAttribute('class'), /breached/);
      assertClean(page);
      await page.context().close();
    });

    test('a dead letter shows its reason and is replayed from the page', async () => {
      const openid = `oDead${size}`;
      await env.customerWrites(openid, 'hello');
      const ticket = await env.ticketOf(openid);
      await env.admin(`/api/tickets/${ticket.id}/reply`, { method: 'POST', body: JSON.stringify({ text: 'to a refused OpenID' }) });
      const dead = await waitFor(async () => (await env.admin('/api/dead-letters')).dead_letters.find((d) => d.reason.includes('40003') && d.body.includes(openid)), 'the dead letter');
      env.wechat.refuseDead = false;
      const page = await env.newPage(viewport);
      await signIn(page, env.worker.url);
      await page.click('#nav-deliveries');
      const letter = page.locator(`li.dead-letter[data-id="${dead.id}"]`);
      await letter.waitFor();
      assert.match(await letter.locator('.reason').textContent(), /40003/);
      assert.match(await letter.textContent(), /WeChat customer service/);
      await shot(page, `${size}-deliveries`);
      const before = env.wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === openid).length;
      await letter.locator('button.replay').click();
      await page.waitForSelector(`.note:has-text("Dead letter #${dead.id} is back in line.")`);
      await waitFor(() => env.wechat.calls('/cgi-bin/message/custom/send').filter((c) => c.json?.touser === openid).length === before + 1, 'the replayed send');
      await letter.locator('.muted:has-text("replayed")').waitFor();
      env.wechat.refuseDead = true;
      assertClean(page);
      await page.context().close();
    });

    test('rules are changed from the page; an invalid one is refused with the error beside it', async () => {
      await env.admin('/api/rules', { method: 'PUT', body: JSON.stringify({ faq: [], routes: [] }) });
      const page = await env.newPage(viewport);
      await signIn(page, env.worker.url);
      await page.click('#nav-rules');
      await page.click('button.add-rule[data-section="faq"]');
      const faq = page.locator('.rule[data-rule="faq[0]"]');
      await faq.locator('textarea[name="reply"]').fill('您的卡密在 订单 → 详情');
      await page.click('#save-rules');
      // The API refuses a rule without keywords or category; its reason shows beside the rule.
      await faq.locator('.rule-error').waitFor();
      assert.equal(await faq.locator('.rule-error').textContent(), 'faq[0]: keywords must be non-empty');
      assert.match(await faq.locator('label:has(textarea[name="keywords"])').getAttribute('class'), /invalid/);
      assert.deepEqual((await env.admin('/api/rules')).faq, [], 'nothing was stored');
      await shot(page, `${size}-rules-refused`);
      await faq.locator('textarea[name="keywords"]').fill('卡密\ncard key');
      await page.click('button.add-rule[data-section="zns"]');
      const zns = page.locator('.rule[data-rule="zns[0]"]');
      await zns.locator('input[name="template_id"]').fill('366');
      await zns.locator('button:has-text("Add parameter")').click();
      await zns.locator('.param input').nth(0).fill('order_id');
      await zns.locator('.param input').nth(1).fill('{order.nope}');
      await page.click('#save-rules');
      await zns.locator('.rule-error').waitFor();
      assert.match(await zns.locator('.rule-error').textContent(), /^zns\[0\]\.params\.order_id: unknown placeholder \{order\.nope\}; known: /);
      assert.equal(await faq.locator('.rule-error').count(), 0);
      await zns.locator('.param input').nth(1).fill('{order.id}');
      await page.click('#save-rules');
      await page.waitForSelector('.save-bar .note:has-text("Saved.")');
      const rules = await env.admin('/api/rules');
      assert.deepEqual(rules.faq, [{ keywords: ['卡密', 'card key'], reply: '您的卡密在 订单 → 详情' }]);
      assert.deepEqual(rules.zns, [{ on: 'order.delivery_failed', template_id: 366, params: { order_id: '{order.id}' } }]);
      // The whole document as JSON, refused and then accepted the same way.
      await page.click('#rules-mode');
      const doc = JSON.parse(await page.inputValue('#rules-json'));
      assert.deepEqual(doc.faq, rules.faq);
      await page.fill('#rules-json', JSON.stringify({ ...doc, zns_fallback: { template_id: 0 } }));
      await page.click('#save-rules');
      await page.waitForSelector('#rules-error:has-text("zns_fallback: the template ID must be a positive whole number")');
      await page.fill('#rules-json', JSON.stringify({ ...doc, zns_fallback: { template_id: 367, params: { message: '{text}' } } }));
      await page.click('#save-rules');
      await page.waitForSelector('.save-bar .note:has-text("Saved.")');
      assert.deepEqual((await env.admin('/api/rules')).zns_fallback, { template_id: 367, params: { message: '{text}' } });
      await env.admin('/api/rules', { method: 'PUT', body: JSON.stringify({ faq: [], routes: [] }) });
      assertClean(page);
      await page.context().close();
    });

    test('Tiếng Việt and 中文: chosen from the browser, switchable, remembered; times in the merchant\'s time zone', async () => {
      const openid = `oLang${size}`;
      await env.customerWrites(openid, 'xin chào');
      const ticket = await env.ticketOf(openid);
      const page = await env.newPage(viewport, { locale: 'vi-VN' });
      await page.goto(`${env.worker.url}/`);
      await page.waitForSelector('#sign-in:has-text("Đăng nhập")');
      await page.fill('#token', STAFF.token);
      await page.click('#sign-in');
      await page.waitForSelector('#nav-queue:has-text("Hàng đợi")');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'vi');
      for (const [id, label] of [['complaints', 'Khiếu nại'], ['orders', 'Đơn hàng'], ['deliveries', 'Lượt gửi'], ['rules', 'Quy tắc'], ['stats', 'Thống kê']]) {
        assert.equal(await page.textContent(`#nav-${id}`), label);
      }
      await page.goto(`${env.worker.url}/#/ticket/${ticket.id}`);
      await page.waitForSelector('.timeline .entry.kind-inbound .kind:has-text("Khách hàng")');
      assert.match(await page.textContent('#reach'), /Gửi qua WeChat: cửa sổ trả lời của khách đang mở/);
      assert.equal(await page.textContent('#send-reply'), 'Gửi');
      // Times are the merchant's (Asia/Ho_Chi_Minh), not the browser's (America/New_York).
      const time = page.locator('.timeline .entry time').first();
      const shown = await time.textContent();
      const expected = await time.evaluate((el, zone) => new Intl.DateTimeFormat('vi', { timeZone: zone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(el.getAttribute('datetime'))), TIME_ZONE);
      assert.equal(shown, expected);
      await page.selectOption('#language', 'zh-CN');
      await page.waitForSelector('#nav-queue:has-text("工单队列")');
      assert.equal(await page.textContent('#send-reply'), '发送');
      await page.reload();
      await page.waitForSelector('#nav-queue:has-text("工单队列")');
      assert.equal(await page.evaluate(() => localStorage.getItem('kefu.lang')), 'zh-CN');
      await page.selectOption('#language', 'vi');
      await page.waitForSelector('#nav-queue:has-text("Hàng đợi")');
      assertClean(page);
      await page.context().close();
    });
  });
}
