// Local stand-in for the KV namespace KEFU_KV and the queue KEFU_EVENTS of the benchmarked
// Worker. workerd turns binding calls into HTTP requests to this service: a KV get is a GET whose
// last path segment is the (URL-encoded) key; a queue send is a POST. The KV answers `rules` with
// the same document as benches/callback.rs and 404 (no value) for every other key; queue sends
// are accepted (200 with the backlog metrics workerd expects) and dropped. GET /__stats, on the
// sink's own loopback socket, reports what it saw (bench/workerd/requests.mjs checks it).
const RULES = JSON.stringify({
  faq: [{ keywords: ["卡密"], reply: "see orders" }],
  routes: [{ keywords: ["refund"], kf_accounts: ["anna@gh_bench"] }],
});

const QUEUE_ANSWER = {
  metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: 0 } },
};

const stats = { kvGets: {}, queueSends: 0, other: 0, lastQueue: null, firstKv: null };

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__stats") {
      return Response.json(stats);
    }
    if (request.method === "GET") {
      const key = decodeURIComponent(url.pathname.split("/").pop() ?? "");
      stats.kvGets[key] = (stats.kvGets[key] ?? 0) + 1;
      stats.firstKv ??= request.url;
      if (key === "rules") {
        return new Response(RULES);
      }
      return new Response(null, { status: 404 });
    }
    if (request.method === "POST") {
      stats.queueSends += 1;
      const bytes = (await request.arrayBuffer()).byteLength;
      stats.lastQueue = { url: request.url, contentType: request.headers.get("content-type"), bytes };
      // workerd reads the broker's answer as send metadata: the backlog metrics.
      return Response.json(QUEUE_ANSWER);
    }
    stats.other += 1;
    return new Response(null, { status: 405 });
  },
};
