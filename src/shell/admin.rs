//! `/api/*`: reads the request, lets the core pick what answers it (`crate::admin`), runs that.

use worker::{Env, Method, Request};

use super::io::{self, Meter};
use super::perform;
use crate::admin::{self, AdminMethod, AdminRequest};
use crate::inline::{Rejection, Reply};

pub async fn handle(req: Request, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/api", answer(req, env, meter).await)
}

async fn answer(mut req: Request, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let cx = perform::context(&settings)?;
    let url = req
        .url()
        .map_err(|_| Rejection::Malformed("bad URL".into()))?;
    let header = |name| req.headers().get(name).ok().flatten();
    let (authorization, idempotency_key) = (header("authorization"), header("idempotency-key"));
    let method = match req.method() {
        Method::Get => AdminMethod::Get,
        Method::Post => AdminMethod::Post,
        Method::Put => AdminMethod::Put,
        _ => AdminMethod::Other,
    };
    let body = match method {
        AdminMethod::Post | AdminMethod::Put => req
            .text()
            .await
            .map_err(|_| Rejection::Malformed("unreadable body".into()))?,
        AdminMethod::Get | AdminMethod::Other => String::new(),
    };
    let request = AdminRequest {
        method,
        path: url.path(),
        query: url.query().unwrap_or(""),
        authorization: authorization.as_deref(),
        idempotency_key: idempotency_key.as_deref(),
        body: &body,
    };
    let flow = admin::handle(&request, &cx)?;
    perform::run(env, meter, flow).await
}
