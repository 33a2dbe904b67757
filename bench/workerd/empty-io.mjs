// The I/O-only baselines: a JS Worker doing the I/O of a POST /wechat/oa and nothing else. It
// reads the body, reads the KV keys `rules` and `kf_online` together, sends one message to the
// queue, then answers a constant XML reply. With the text binding KV_KEEP_MS it keeps the two
// keys that long per isolate, as kefu-edge does (kv::ISOLATE_CACHE_SECS): after an isolate's
// first POST a POST is then one round trip to the sink, the I/O kefu-edge's POST does now.
// Without it, it reads both keys on every POST: the POST's I/O when issue 14 was filed. The gap
// between these and kefu-edge's POST rows is kefu-edge's own cost (wasm, the core, the glue).
let kept = null;

export default {
  async fetch(request, env) {
    const body = await request.text();
    const keepMs = Number(env.KV_KEEP_MS ?? 0);
    if (kept === null || Date.now() - kept.readAt >= keepMs) {
      const [rules, online] = await Promise.all([
        env.KEFU_KV.get("rules"),
        env.KEFU_KV.get("kf_online"),
      ]);
      kept = { readAt: Date.now(), rules, online };
    }
    await env.KEFU_EVENTS.send(
      JSON.stringify({ bytes: body.length, rules: kept.rules !== null, online: kept.online }),
    );
    return new Response(
      "<xml><ToUserName><![CDATA[oUserBench0123456789]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>",
      { headers: { "content-type": "application/xml" } },
    );
  },
};
