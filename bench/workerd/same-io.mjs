// The third baseline: a JS Worker doing the I/O kefu-edge's POST /wechat/oa does now, and nothing
// else. Like kefu-edge (kv::ISOLATE_CACHE_SECS), it keeps the KV keys `rules` and `kf_online` for
// 10 s per isolate, so after an isolate's first POST each POST reads the body, sends one message
// to the queue and answers a constant XML reply: one round trip to the sink, as kefu-edge makes.
// bench/workerd/empty-io.mjs reads both keys on every POST (the I/O of the POST when issue 14
// was filed); the gap between this and kefu-edge's POST rows is all of kefu-edge's own work.
const CACHE_MS = 10_000;
let routing = null;

export default {
  async fetch(request, env) {
    const body = await request.text();
    if (routing === null || Date.now() - routing.readAt >= CACHE_MS) {
      const [rules, online] = await Promise.all([
        env.KEFU_KV.get("rules"),
        env.KEFU_KV.get("kf_online"),
      ]);
      routing = { readAt: Date.now(), rules, online };
    }
    await env.KEFU_EVENTS.send(
      JSON.stringify({ bytes: body.length, rules: routing.rules !== null, online: routing.online }),
    );
    return new Response(
      "<xml><ToUserName><![CDATA[oUserBench0123456789]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>",
      { headers: { "content-type": "application/xml" } },
    );
  },
};
