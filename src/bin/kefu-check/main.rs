//! `kefu-check`: plays WeChat, the WeChat Shop, WeChat Pay's 维权 notifications and the card
//! shop against a running kefu-edge (local or deployed) and says, check by check, whether the
//! platform would accept it. It signs and encrypts with the settings the Worker uses, so a ✗
//! names the setting that differs before the merchant touches a console.
//!
//! `cargo run --release --bin kefu-check -- --url <base URL> [--vars FILE] [--NAME value ...]`

mod args;
mod checks;
mod client;
mod transport;

use std::process::ExitCode;

use args::Invocation;
use checks::Verdict;
use kefu_edge::settings::Settings;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn main() -> ExitCode {
    let invocation = match Invocation::parse(std::env::args().skip(1)) {
        Ok(invocation) => invocation,
        Err(message) => {
            eprintln!("kefu-check: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let settings = Settings::from_lookup(|name| invocation.settings.get(name).cloned());
    let client = client::Client::new(&invocation.url);
    println!("kefu-check {}", invocation.url);
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let send_test = invocation.send_test.as_deref();
    for (name, verdict) in checks::run_all(&client, &settings, send_test, unix_now()) {
        let (mark, reason) = match &verdict {
            Verdict::Pass(reason) => {
                passed += 1;
                ("✓", reason)
            }
            Verdict::Fail(reason) => {
                failed += 1;
                ("✗", reason)
            }
            Verdict::Skip(reason) => {
                skipped += 1;
                ("-", reason)
            }
        };
        println!("{mark} {name}: {reason}");
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
