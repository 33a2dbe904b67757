//! `kefu-bill`: prices what `bench/cost.mjs` counted. Reads its `usage.json` (each scenario's
//! callbacks and the log lines they caused, each with its `usage`; each dashboard view's polls
//! and theirs), optionally the CPU time per
//! call that `bench/v8.sh` measured and a `usage.json` from before a change, and prints the
//! tables of `bench/README.md` ("The bill") as Markdown.
//!
//! `cargo run --release --bin kefu-bill -- USAGE_JSON [--v8 V8_JSON] [--before USAGE_JSON]`

use std::collections::BTreeMap;
use std::process::ExitCode;

use kefu_edge::bill::{
    per_million_callbacks, Bill, Measured, Month, Polling, LIST_PRICES, WORKERS_PAID,
};
use kefu_edge::usage::Usage;
use serde_json::Value;

const USAGE: &str =
    "usage: kefu-bill USAGE_JSON [--v8 V8_JSON] [--before USAGE_JSON]  (see bench/README.md)";

/// One scenario as counted: its callbacks, the invocations and usage of every line it caused.
struct Scenario {
    key: String,
    label: String,
    route: Option<String>,
    callbacks: u64,
    requests: u64,
    queue_messages: u64,
    batches: u64,
    crons: u64,
    usage: Usage,
}

impl Scenario {
    fn read(value: &Value) -> Result<Scenario, String> {
        let text = |name: &str| value[name].as_str().map(str::to_owned);
        let key = text("key").ok_or("a scenario without a key")?;
        let callbacks = value["callbacks"]
            .as_u64()
            .ok_or_else(|| format!("{key}: no callbacks"))?;
        let mut scenario = Scenario {
            label: text("label").unwrap_or_else(|| key.clone()),
            route: text("route"),
            key,
            callbacks,
            requests: 0,
            queue_messages: 0,
            batches: 0,
            crons: 0,
            usage: Usage::default(),
        };
        for line in value["lines"]
            .as_array()
            .ok_or("a scenario without lines")?
        {
            match line["log"].as_str() {
                Some("request") => scenario.requests += 1,
                Some("queue") => scenario.queue_messages += 1,
                Some("batch") => scenario.batches += 1,
                Some("cron") => scenario.crons += 1,
                _ => continue,
            }
            if let Some(usage) = line.get("usage") {
                let usage =
                    Usage::from_json(usage).map_err(|e| format!("{}: {e}", scenario.key))?;
                scenario.usage.add(&usage);
            }
        }
        Ok(scenario)
    }

    /// Billed invocations, counting one consumer invocation per queue message: the most there
    /// can be (a batch holds up to 10), and what light traffic gives.
    fn invocations(&self) -> u64 {
        self.requests + self.queue_messages + self.crons
    }

    fn per(&self, n: u64) -> f64 {
        n as f64 / self.callbacks.max(1) as f64
    }
}

/// The usage of every line in `lines` added up.
fn usage_of(lines: &Value, key: &str) -> Result<Usage, String> {
    let mut usage = Usage::default();
    for line in lines.as_array().ok_or_else(|| format!("{key}: no lines"))? {
        if let Some(value) = line.get("usage") {
            usage.add(&Usage::from_json(value).map_err(|e| format!("{key}: {e}"))?);
        }
    }
    Ok(usage)
}

/// A dashboard view as polled: its label and what its polls read and showed.
struct View {
    key: String,
    label: String,
    polling: Polling,
}

impl View {
    fn read(value: &Value) -> Result<View, String> {
        let key = value["key"]
            .as_str()
            .ok_or("a dashboard view without a key")?;
        let count = |name: &str| {
            value[name]
                .as_u64()
                .ok_or_else(|| format!("{key}: no {name}"))
        };
        Ok(View {
            key: key.to_owned(),
            label: value["label"].as_str().unwrap_or(key).to_owned(),
            polling: Polling {
                every_secs: count("every_secs")?,
                polls: count("polls")?,
                requests: value["lines"].as_array().map_or(0, |l| l.len() as u64),
                rows_shown: count("rows_shown")?,
                usage: usage_of(&value["lines"], key)?,
            },
        })
    }
}

fn views(value: &Value) -> Result<Vec<View>, String> {
    match value["dashboards"].as_array() {
        Some(views) => views.iter().map(View::read).collect(),
        None => Ok(Vec::new()),
    }
}

/// CPU time per call from bench/v8.sh: `{"routes":{label:{"us_per_call"}},"queue_event":{…}}`.
struct Cpu {
    routes: BTreeMap<String, f64>,
    queue_event: Option<f64>,
}

impl Cpu {
    fn read(value: &Value) -> Cpu {
        let us = |v: &Value| v["us_per_call"].as_f64();
        let routes = value["routes"]
            .as_object()
            .map(|routes| {
                routes
                    .iter()
                    .filter_map(|(label, v)| Some((label.clone(), us(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        Cpu {
            routes,
            queue_event: us(&value["queue_event"]),
        }
    }

    /// The route's time, by its label in bench/v8.sh (`POST /wechat/oa safe (AES)`, …).
    fn route_us(&self, route: &str) -> Option<f64> {
        self.routes.get(route).copied()
    }

    /// CPU-ms in all for a scenario: its requests at the route's time, its queue messages at
    /// the consumer's. Cron runs were not measured.
    fn scenario_ms(&self, s: &Scenario) -> Option<f64> {
        if s.crons > 0 {
            return None;
        }
        let inline = match &s.route {
            Some(route) => s.requests as f64 * self.route_us(route)?,
            None => 0.0,
        };
        let consumer = match s.queue_messages {
            0 => 0.0,
            n => n as f64 * self.queue_event?,
        };
        Some((inline + consumer) / 1000.0)
    }
}

fn read_json(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

fn scenarios(value: &Value) -> Result<Vec<Scenario>, String> {
    value["scenarios"]
        .as_array()
        .ok_or("no scenarios")?
        .iter()
        .map(Scenario::read)
        .collect()
}

fn measured(s: &Scenario, cpu: Option<&Cpu>) -> Measured {
    Measured {
        callbacks: s.callbacks,
        invocations: s.invocations(),
        cpu_ms: cpu.and_then(|cpu| cpu.scenario_ms(s)),
        usage: s.usage,
    }
}

fn bill(s: &Scenario, cpu: Option<&Cpu>) -> Bill {
    per_million_callbacks(&measured(s, cpu), &LIST_PRICES)
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// Cents would round the CPU time of a callback to nothing.
fn fine_money(v: f64) -> String {
    format!("{v:.4}")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `after`, or `before → after` when a before is given and differs.
fn compared(before: Option<f64>, after: f64, show: fn(f64) -> String) -> String {
    match before {
        Some(b) if show(b) != show(after) => format!("{} → {}", show(b), show(after)),
        _ => show(after),
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let mut paths = args.iter();
    let usage_path = paths.next().ok_or(USAGE)?;
    let (mut v8_path, mut before_path) = (None, None);
    while let Some(flag) = paths.next() {
        let slot = match flag.as_str() {
            "--v8" => &mut v8_path,
            "--before" => &mut before_path,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        };
        *slot = Some(paths.next().ok_or(USAGE)?.clone());
    }
    let input = read_json(usage_path)?;
    let after = scenarios(&input)?;
    let before: BTreeMap<String, Scenario> = match &before_path {
        Some(path) => scenarios(&read_json(path)?)?
            .into_iter()
            .map(|s| (s.key.clone(), s))
            .collect(),
        None => BTreeMap::new(),
    };
    let cpu = v8_path
        .as_deref()
        .map(read_json)
        .transpose()?
        .map(|v| Cpu::read(&v));
    let p = LIST_PRICES;

    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "Counted {} with {} callbacks per scenario{}; list prices read {} (USD per million: request {}, CPU-ms {}, KV read {}, KV write/delete/list {}, Queue operation {}, D1 row read {}, D1 row written {}).",
        input["measured_at"].as_str().unwrap_or("?"),
        input["per_scenario"],
        if before.is_empty() { String::new() } else { " (before → after a change)".into() },
        p.checked, p.request, p.cpu_ms, p.kv_read, p.kv_write, p.queue_op, p.d1_row_read, p.d1_row_written,
    ));
    line(String::new());
    line("Per callback (cron: per run):".into());
    line(String::new());
    line("| callback | Worker invocations | KV reads | KV writes | queue messages | queue ops | D1 statements | D1 rows read | D1 rows written | subrequests | CPU ms |".into());
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into());
    for s in &after {
        let b = before.get(&s.key);
        let col = |f: fn(&Scenario) -> u64| compared(b.map(|b| b.per(f(b))), s.per(f(s)), number);
        let cpu_ms = cpu
            .as_ref()
            .and_then(|c| c.scenario_ms(s))
            .map_or("–".into(), |ms| {
                format!("{:.3}", ms / s.callbacks.max(1) as f64)
            });
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.label,
            col(Scenario::invocations),
            col(|s| s.usage.kv_reads),
            col(|s| s.usage.kv_writes + s.usage.kv_deletes + s.usage.kv_lists),
            col(|s| s.usage.queue_messages),
            col(|s| s.usage.queue_ops),
            col(|s| s.usage.d1_statements),
            col(|s| s.usage.d1_rows_read),
            col(|s| s.usage.d1_rows_written),
            col(|s| s.usage.subrequests),
            cpu_ms,
        ));
    }
    line(String::new());
    line(
        "USD per million callbacks (cron: per million runs), beyond the plan's included usage:"
            .into(),
    );
    line(String::new());
    line(
        "| callback | requests | CPU | KV | Queues | D1 read | D1 written | total without CPU |"
            .into(),
    );
    line("|---|---:|---:|---:|---:|---:|---:|---:|".into());
    let bills: BTreeMap<&str, Bill> = after
        .iter()
        .map(|s| (s.key.as_str(), bill(s, cpu.as_ref())))
        .collect();
    for s in &after {
        let a = bills[s.key.as_str()];
        let b = before.get(&s.key).map(|b| bill(b, cpu.as_ref()));
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.label,
            compared(b.map(|b| b.requests), a.requests, money),
            a.cpu.map_or("–".into(), fine_money),
            compared(b.map(|b| b.kv), a.kv, money),
            compared(b.map(|b| b.queues), a.queues, money),
            compared(b.map(|b| b.d1_read), a.d1_read, money),
            compared(b.map(|b| b.d1_written), a.d1_written, money),
            compared(b.map(|b| b.without_cpu()), a.without_cpu(), money),
        ));
    }
    if let Some(mix) = input["mix"].as_object() {
        line(String::new());
        line(format!("The mix: {}", mix["unit"].as_str().unwrap_or("")));
        line(String::new());
        line("| callback | per unit | USD without CPU |".into());
        line("|---|---:|---:|".into());
        let mut total = Bill::default();
        let mut month = Month::default();
        // CPU of the parts whose time was measured, and the parts whose was not.
        let (mut cpu_total, mut cpu_month_ms, mut cpu_unknown) = (0.0, 0.0, Vec::new());
        let mut total_before = Bill::default();
        let before_bills: BTreeMap<&str, Bill> = before
            .iter()
            .map(|(k, s)| (k.as_str(), bill(s, cpu.as_ref())))
            .collect();
        for part in mix["parts"].as_array().ok_or("mix without parts")? {
            let key = part["key"].as_str().ok_or("a mix part without a key")?;
            let count = part["count"].as_f64().ok_or("a mix part without a count")?;
            let a = bills
                .get(key)
                .ok_or_else(|| format!("mix: no scenario {key}"))?;
            let weight = count / 1e6;
            total.add_weighted(a, weight);
            let scenario = after
                .iter()
                .find(|s| s.key == key)
                .ok_or("mix: no scenario")?;
            let m = measured(scenario, cpu.as_ref());
            month.add(&m, count);
            match (a.cpu, m.cpu_ms) {
                (Some(usd), Some(ms)) => {
                    cpu_total += weight * usd;
                    cpu_month_ms += count * ms / m.callbacks.max(1) as f64;
                }
                _ => cpu_unknown.push(scenario.label.clone()),
            }
            let b = before_bills.get(key);
            if let Some(b) = b {
                total_before.add_weighted(b, weight);
            }
            let label = after
                .iter()
                .find(|s| s.key == key)
                .map_or(key, |s| s.label.as_str());
            line(format!(
                "| {label} | {count} | {} |",
                compared(
                    b.map(|b| weight * b.without_cpu()),
                    weight * a.without_cpu(),
                    money
                )
            ));
        }
        let had_before = !before.is_empty();
        line(format!(
            "| **total** (requests {}, KV {}, Queues {}, D1 read {}, D1 written {}) | | **{}** |",
            money(total.requests),
            money(total.kv),
            money(total.queues),
            money(total.d1_read),
            money(total.d1_written),
            compared(
                had_before.then(|| total_before.without_cpu()),
                total.without_cpu(),
                money
            ),
        ));
        let unknown = if cpu_unknown.is_empty() {
            String::new()
        } else {
            format!(" (not measured: {})", cpu_unknown.join(", "))
        };
        line(if cpu.is_some() {
            format!(
                "| CPU, from bench/v8.sh{unknown} | | {} |",
                fine_money(cpu_total)
            )
        } else {
            "| CPU | | not measured: each 1 ms of CPU per callback adds $0.02 per million callbacks |".into()
        });
        let (invoice, _) = month.invoice(&WORKERS_PAID, &LIST_PRICES);
        let cpu_over = cpu.as_ref().map(|_| {
            let measured_cpu = Month {
                cpu_ms: Some(cpu_month_ms),
                ..Month::default()
            };
            measured_cpu
                .invoice(&WORKERS_PAID, &LIST_PRICES)
                .1
                .unwrap_or(0.0)
        });
        line(String::new());
        line(format!(
            "On the Workers Paid plan (${} a month with its included usage), that month's invoice: **${}**{} ({:.2} M invocations, {:.2} M queue operations, {:.2} M D1 rows written, {:.2} M KV reads).",
            WORKERS_PAID.monthly,
            money(invoice),
            match cpu_over {
                Some(cpu) => format!(
                    " + ${} CPU ({:.1} M CPU-ms measured{unknown}; 30 M included)",
                    fine_money(cpu),
                    cpu_month_ms / 1e6
                ),
                None => " + CPU beyond 30 M CPU-ms (not measured here)".into(),
            },
            month.invocations / 1e6,
            month.queue_ops / 1e6,
            month.d1_rows_written / 1e6,
            month.kv_reads / 1e6,
        ));
    }
    let dashboard = views(&input)?;
    if !dashboard.is_empty() {
        let before: BTreeMap<String, View> = match &before_path {
            Some(path) => views(&read_json(path)?)?
                .into_iter()
                .map(|v| (v.key.clone(), v))
                .collect(),
            None => BTreeMap::new(),
        };
        line(String::new());
        line(format!(
            "An agent's dashboard open for an hour, each view polling as dashboard/src does ({} polls of each counted):",
            input["per_scenario"]
        ));
        line(String::new());
        line("| view | polls an hour | D1 statements a poll | rows shown a poll | D1 rows read a poll | D1 rows read an hour | read an hour per row shown (≤ 1,000) | KV reads an hour | USD an hour |".into());
        line("|---|---:|---:|---:|---:|---:|---:|---:|---:|".into());
        for view in &dashboard {
            let p = &view.polling;
            let b = before.get(&view.key).map(|b| b.polling);
            let col = |f: fn(&Polling) -> f64| compared(b.as_ref().map(f), f(p), number);
            let ratio = |p: &Polling| p.rows_read_per_hour_per_row_shown();
            line(format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                view.label,
                number(p.polls_per_hour()),
                col(|p| p.per_poll(p.usage.d1_statements)),
                col(|p| p.per_poll(p.rows_shown)),
                col(|p| p.per_poll(p.usage.d1_rows_read)),
                col(|p| p.per_hour(p.usage.d1_rows_read)),
                match ratio(p) {
                    Some(after) => compared(b.as_ref().and_then(ratio), after, number),
                    None => "–".into(),
                },
                col(|p| p.per_hour(p.usage.kv_reads)),
                compared(
                    b.map(|b| b.usd_per_hour(&LIST_PRICES)),
                    p.usd_per_hour(&LIST_PRICES),
                    fine_money
                ),
            ));
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("kefu-bill: {message}");
            ExitCode::from(2)
        }
    }
}
