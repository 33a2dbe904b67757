//! `/api/*`: reads the request, lets the core pick what answers it (`crate::admin`), runs that.

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use super::perform;
use crate::admin::{self, AdminMethod, AdminRequest};
use crate::inline::{Rejection, Reply};

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/api", answer(req, env, meter).await)
}

async fn answer(req: &Incoming, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let cx = perform::context(&settings)?;
    let (authorization, idempotency_key) =
        (req.header("authorization"), req.header("idempotency-key"));
    let method = match req.method.as_str() {
        "GET" => AdminMethod::Get,
        "POST" => AdminMethod::Post,
        "PUT" => AdminMethod::Put,
        _ => AdminMethod::Other,
    };
    let body = match method {
        AdminMethod::Post | AdminMethod::Put => req.text(admin::MAX_BODY_BYTES).await?,
        AdminMethod::Get | AdminMethod::Other => String::new(),
    };
    let request = AdminRequest {
        method,
        path: req.path(),
        query: req.query(),
        authorization: authorization.as_deref(),
        idempotency_key: idempotency_key.as_deref(),
        body: &body,
    };
    let flow = admin::handle(&request, &cx)?;
    perform::run(env, meter, flow).await
}
