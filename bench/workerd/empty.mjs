// The baseline: the emptiest Worker, answering every request with 200 "ok".
export default {
  fetch() {
    return new Response("ok");
  },
};
