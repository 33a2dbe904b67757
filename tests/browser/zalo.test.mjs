// A Zalo OA conversation in the dashboard (Debian's Chromium via playwright-core), phone-sized
// and desktop-sized: the customer's message shows in the queue with Zalo's mark and name, the
// ticket says the reply goes by Zalo OA inside the 7-day window with the free replies left, and
// a reply reaches Zalo's message/cs once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { VIEWPORTS, assertClean, shot, signIn, waitFor } from './support.mjs';
import { startDashboard } from './support.mjs';

let env;
before(async () => {
  env = await startDashboard();
  await env.admin('/api/zalo/token', { method: 'PUT', body: JSON.stringify({ refresh_token: 'ZRT-0' }) });
});
after(async () => { await env?.stop(); });

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  describe(`${size}-sized`, () => {
    test('a Zalo message is in the queue with its channel; the ticket view replies by Zalo OA once', async () => {
      const user = `zalo-user-${size}`;
      const page = await env.newPage(viewport, { locale: 'vi-VN' });
      await signIn(page, env.worker.url);
      await page.waitForSelector('.list-head');
      await env.zaloWrites(user, 'Tôi chưa nhận được mã thẻ');
      const ticket = await env.ticketOf(user);
      const row = page.locator(`li[data-ticket="${ticket.id}"]`);
      await row.waitFor({ timeout: 20_000 });
      assert.equal(await row.locator('.channel.ch-zalo').textContent(), 'Z Zalo OA');
      assert.equal(await row.locator('.ch-mark').getAttribute('aria-hidden'), 'true');
      await shot(page, `${size}-zalo-queue`);
      await row.locator('a').click();
      await page.waitForSelector('.timeline .entry.kind-inbound');
      assert.equal(await page.locator('.timeline .entry.kind-inbound .body').first().textContent(), 'Tôi chưa nhận được mã thẻ');
      assert.match(await page.textContent('#reach'), /Zalo OA: cửa sổ trả lời của khách đang mở/);
      assert.match(await page.textContent('#reach-window.zalo-window'), /còn 8 tin phản hồi miễn phí/);
      await shot(page, `${size}-zalo-ticket`);

      const text = `Chào bạn, mã thẻ đã được gửi lại ${Date.now()}`;
      await page.fill('#reply-text', text);
      await page.click('#send-reply');
      const sends = () => env.zalo.calls('/v3.0/oa/message/cs').filter((c) => c.json?.recipient?.user_id === user);
      await waitFor(() => sends().length === 1, 'the message/cs');
      assert.deepEqual(sends()[0].json.message, { text });
      const sent = page.locator('.timeline .entry.kind-outbound', { hasText: `Đã gửi cho khách qua Zalo: ${text}` });
      await sent.waitFor({ timeout: 30_000 });
      await page.locator('#reach-window.zalo-window', { hasText: 'còn 7 tin' }).waitFor({ timeout: 30_000 });
      assert.equal(sends().length, 1, 'exactly one send');
      assertClean(page);
      await page.context().close();
    });
  });
}
