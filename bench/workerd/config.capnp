# workerd configuration of bench/workerd.sh: the built kefu-edge Worker, an empty Worker, two
# JS Workers and a Rust one doing only a POST's I/O, each on its own loopback socket, and a local
# sink service standing in for KV and the queue.
# bench/workerd.sh copies this file next to snapshots of build/index.js and build/index_bg.wasm
# (bench/.work/) and of the Rust one's (bench/.work/floor/), sets compatibilityDate from
# wrangler.toml and the ports, and runs
#   workerd serve bench/.work/config.capnp config
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "kefu", worker = .kefu),
    (name = "empty", worker = .empty),
    (name = "empty-io", worker = .emptyIo),
    (name = "same-io", worker = .sameIo),
    (name = "floor", worker = .floor),
    (name = "sink", worker = .sink),
  ],
  sockets = [
    (name = "kefu", address = "127.0.0.1:@KEFU_PORT@", http = (), service = "kefu"),
    (name = "empty", address = "127.0.0.1:@EMPTY_PORT@", http = (), service = "empty"),
    (name = "sink", address = "127.0.0.1:@SINK_PORT@", http = (), service = "sink"),
    (name = "empty-io", address = "127.0.0.1:@EMPTY_IO_PORT@", http = (), service = "empty-io"),
    (name = "same-io", address = "127.0.0.1:@SAME_IO_PORT@", http = (), service = "same-io"),
    (name = "floor", address = "127.0.0.1:@FLOOR_PORT@", http = (), service = "floor"),
  ],
);

const kefu :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "index.js"),
    (name = "index_bg.wasm", wasm = embed "index_bg.wasm"),
  ],
  compatibilityDate = "@COMPAT_DATE@",
  bindings = [
    (name = "KEFU_KV", kvNamespace = "sink"),
    (name = "KEFU_EVENTS", queue = "sink"),
    # Settings: the same token, EncodingAESKey and AppID as benches/callback.rs. The skew window
    # is huge so that one pre-signed request stays valid for the whole run.
    (name = "WECHAT_TOKEN", text = "bench-token"),
    (name = "WECHAT_APPID", text = "wxb11529c136998cb6"),
    (name = "WECHAT_AES_KEY", text = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
    (name = "CALLBACK_MAX_SKEW_SECS", text = "1000000000"),
    # The plain-mode POST is accepted as during a switch of security modes (plain pushes to an
    # endpoint that already has its EncodingAESKey); it runs the same code as plain mode.
    (name = "ALLOW_UNENCRYPTED_PUSH", text = "true"),
  ],
  # Nothing leaves the machine: the Worker's own fetch() has no route out.
  globalOutbound = "sink",
);

const empty :Workerd.Worker = (
  modules = [(name = "empty.mjs", esModule = embed "empty.mjs")],
  compatibilityDate = "@COMPAT_DATE@",
);

const emptyIo :Workerd.Worker = (
  modules = [(name = "empty-io.mjs", esModule = embed "empty-io.mjs")],
  compatibilityDate = "@COMPAT_DATE@",
  bindings = [
    (name = "KEFU_KV", kvNamespace = "sink"),
    (name = "KEFU_EVENTS", queue = "sink"),
  ],
  globalOutbound = "sink",
);

const sameIo :Workerd.Worker = (
  modules = [(name = "empty-io.mjs", esModule = embed "empty-io.mjs")],
  compatibilityDate = "@COMPAT_DATE@",
  bindings = [
    (name = "KEFU_KV", kvNamespace = "sink"),
    (name = "KEFU_EVENTS", queue = "sink"),
    # The KV keys kept 10 s per isolate, as kefu-edge keeps them: kefu-edge's I/O.
    (name = "KV_KEEP_MS", text = "10000"),
  ],
  globalOutbound = "sink",
);

# sameIo's I/O in Rust, through kefu-edge's glue (bench/workerd/floor).
const floor :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "floor/index.js"),
    (name = "index_bg.wasm", wasm = embed "floor/index_bg.wasm"),
  ],
  compatibilityDate = "@COMPAT_DATE@",
  bindings = [
    (name = "KEFU_KV", kvNamespace = "sink"),
    (name = "KEFU_EVENTS", queue = "sink"),
  ],
  globalOutbound = "sink",
);

const sink :Workerd.Worker = (
  modules = [(name = "sink.mjs", esModule = embed "sink.mjs")],
  compatibilityDate = "@COMPAT_DATE@",
);
