//! The scheduled handler (every minute): runs `pipeline::scheduled` and logs each part's report.

use worker::Env;

use super::{io, perform};
use crate::pipeline;

pub async fn run(env: &Env) {
    let settings = io::settings(env);
    let Ok(cx) = perform::context(&settings) else {
        worker::console_error!("cron: no randomness available");
        return;
    };
    for report in perform::run(env, pipeline::scheduled(&cx)).await {
        match report {
            Ok(done) => worker::console_log!("cron: {done}"),
            Err(why) => worker::console_error!("cron: {why}"),
        }
    }
}
