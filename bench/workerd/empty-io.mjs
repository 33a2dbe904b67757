// A second baseline: a JS Worker doing the I/O of a POST /wechat/oa and nothing else. It reads
// the body, reads the KV keys `rules` and `kf_online` together, sends one message to the queue,
// then answers a constant XML reply. The gap between this and the empty Worker is the cost of the
// bindings (three round trips to the sink); the gap between this and kefu-edge's POST rows is
// kefu-edge's own cost (wasm, the core, the Rust/JS glue).
export default {
  async fetch(request, env) {
    const body = await request.text();
    const [rules, online] = await Promise.all([
      env.KEFU_KV.get("rules"),
      env.KEFU_KV.get("kf_online"),
    ]);
    await env.KEFU_EVENTS.send(JSON.stringify({ bytes: body.length, rules: rules !== null, online }));
    return new Response(
      "<xml><ToUserName><![CDATA[oUserBench0123456789]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>",
      { headers: { "content-type": "application/xml" } },
    );
  },
};
