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
    let method = match req.method.as_str() {
        "GET" => AdminMethod::Get,
        "POST" => AdminMethod::Post,
        "PUT" => AdminMethod::Put,
        _ => AdminMethod::Other,
    };
    let authorization = req.header("authorization");
    // Before the body: a caller refused here never makes the Worker read it.
    let actor = admin::admit(method, req.path(), authorization.as_deref(), &settings)?;
    let (idempotency_key, if_match) = (req.header("idempotency-key"), req.header("if-match"));
    let body = match method {
        AdminMethod::Post | AdminMethod::Put => req.text(admin::MAX_BODY_BYTES).await?,
        AdminMethod::Get | AdminMethod::Other => String::new(),
    };
    let request = AdminRequest {
        method,
        path: req.path(),
        query: req.query(),
        idempotency_key: idempotency_key.as_deref(),
        if_match: if_match.as_deref(),
        body: &body,
    };
    let flow = admin::handle(&request, &actor, &cx)?;
    perform::run(env, meter, flow).await
}
