//! `GET /api/tickets/{id}/media/{entry}`: the core finds the customer's media and builds its
//! request (`crate::media`); this fetches it and streams the body on, when the core accepts
//! what came back.

use worker::wasm_bindgen::JsValue;
use worker::{web_sys, Env};

use super::incoming::Incoming;
use super::io::{self, Meter};
use super::perform;
use crate::inline::{Rejection, Reply};
use crate::media::{accept_upstream, MediaFlow};

/// The response, or the reply that refuses it (to be logged and answered as JSON).
pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Result<web_sys::Response, Reply> {
    match stream(req, env, meter).await {
        Ok(response) => Ok(response),
        Err(rejection) => Err(io::reply_or_log("/api/media", Err(rejection))),
    }
}

async fn stream(req: &Incoming, env: &Env, meter: &Meter) -> Result<web_sys::Response, Rejection> {
    let settings = io::settings(env);
    let cx = perform::context(&settings)?;
    let authorization = req.header("authorization");
    let flow = MediaFlow::new(&settings, authorization.as_deref(), req.path(), cx.now)?;
    let request = perform::run(env, meter, flow).await?;
    let upstream = perform::fetch_streamed(&request)
        .await
        .map_err(|e| Rejection::Unavailable(format!("fetching the media: {e}")))?;
    let content_type = upstream.headers().get("content-type").ok().flatten();
    let served = accept_upstream(upstream.status(), content_type.as_deref())?;
    let js = |e: JsValue| Rejection::Unavailable(format!("answering the media: {e:?}"));
    let headers = web_sys::Headers::new().map_err(js)?;
    headers.set("content-type", served).map_err(js)?;
    headers
        .set("cache-control", "private, max-age=300")
        .map_err(js)?;
    headers
        .set("x-content-type-options", "nosniff")
        .map_err(js)?;
    headers
        .set("content-security-policy", "default-src 'none'; sandbox")
        .map_err(js)?;
    let disposition = if served == "application/octet-stream" {
        "attachment"
    } else {
        "inline"
    };
    headers
        .set("content-disposition", disposition)
        .map_err(js)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(200);
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_readable_stream_and_init(upstream.body().as_ref(), &init)
        .map_err(js)
}
