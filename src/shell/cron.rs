//! The scheduled handler (every minute): runs `pipeline::scheduled` and logs each part's report.

use worker::Env;

use super::io::{self, Meter};
use super::perform;
use crate::{log, pipeline};

pub async fn run(env: &Env) {
    let settings = io::settings(env);
    let Ok(cx) = perform::context(&settings) else {
        io::log_error_line("cron: no randomness available");
        return;
    };
    let started = io::now_millis();
    let meter = Meter::default();
    let reports = perform::run(env, &meter, pipeline::scheduled(&cx)).await;
    let ms = io::now_millis() - started;
    let line = log::cron_run(&reports, ms, &meter.borrow());
    if reports.iter().all(Result::is_ok) {
        io::log_line(&line);
    } else {
        io::log_error_line(&line);
    }
}
