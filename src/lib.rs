//! kefu-edge: customer service for WeChat, WeChat Shop, WeChat Pay complaints and card shops,
//! as one Cloudflare Worker.
//!
//! Everything outside `shell` is a sans-IO core: pure functions over bytes, settings, state read
//! by the caller, and the time and randomness the caller passes in. It builds and tests on the
//! host. `shell` (wasm32 only) is the Worker: it reads bindings, calls the core, performs the
//! I/O the core asks for.

pub mod admin;
pub mod bill;
pub mod complaints;
pub mod event;
pub mod http;
pub mod inline;
pub mod kv;
pub mod log;
pub mod mask;
pub mod media;
pub mod orders;
pub mod outbound;
pub mod pipeline;
pub mod platforms;
pub mod rate;
pub mod reach;
pub mod role;
pub mod routes;
pub mod rules;
pub mod settings;
pub mod sql;
pub mod staff;
pub mod stats;
pub mod tickets;
pub mod time;
pub mod usage;
pub mod wechat;
pub mod xml;
pub mod zns;

#[cfg(target_arch = "wasm32")]
mod shell;
