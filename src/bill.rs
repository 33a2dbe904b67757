//! Cloudflare's list prices for what `crate::usage` counts, and what a count costs per million
//! callbacks (or per hour of a dashboard view polling the admin API). Beyond the Workers Paid plan's included usage ($5 a month: 10 M requests, 30 M
//! CPU-ms, 10 M KV reads, 1 M each KV writes/deletes/lists, 1 M Queue operations, 25 B D1 rows
//! read, 50 M D1 rows written), which these figures leave out: they are the marginal cost.

use crate::usage::Usage;

/// USD per million units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// When the pages below were read.
    pub checked: &'static str,
    /// developers.cloudflare.com/workers/platform/pricing/: Standard usage model.
    pub request: f64,
    pub cpu_ms: f64,
    /// blog.cloudflare.com/workers-kv-free-tier/ (Cloudflare's announcement of the current
    /// KV prices; the KV pricing page itself was not among the stored pages).
    pub kv_read: f64,
    pub kv_write: f64,
    pub kv_delete: f64,
    pub kv_list: f64,
    /// developers.cloudflare.com/queues/pricing/: per operation (64 KB written, read or
    /// deleted).
    pub queue_op: f64,
    /// developers.cloudflare.com/d1/platform/pricing/.
    pub d1_row_read: f64,
    pub d1_row_written: f64,
}

pub const LIST_PRICES: Prices = Prices {
    checked: "2026-11-25",
    request: 0.30,
    cpu_ms: 0.02,
    kv_read: 0.50,
    kv_write: 5.00,
    kv_delete: 5.00,
    kv_list: 5.00,
    queue_op: 0.40,
    d1_row_read: 0.001,
    d1_row_written: 1.00,
};

/// The Workers Paid plan: its monthly price and the usage it includes (from the same pages).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub monthly: f64,
    pub requests: f64,
    pub cpu_ms: f64,
    pub kv_reads: f64,
    /// Each of writes, deletes and lists.
    pub kv_writes: f64,
    pub queue_ops: f64,
    pub d1_rows_read: f64,
    pub d1_rows_written: f64,
}

pub const WORKERS_PAID: Plan = Plan {
    monthly: 5.0,
    requests: 10e6,
    cpu_ms: 30e6,
    kv_reads: 10e6,
    kv_writes: 1e6,
    queue_ops: 1e6,
    d1_rows_read: 25e9,
    d1_rows_written: 50e6,
};

/// A month's units in all (fractions allowed: a mix is a weighted sum). The CPU time is the
/// caller's to set: it knows which parts were timed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Month {
    pub invocations: f64,
    pub cpu_ms: Option<f64>,
    pub kv_reads: f64,
    pub kv_writes: f64,
    pub queue_ops: f64,
    pub d1_rows_read: f64,
    pub d1_rows_written: f64,
}

impl Month {
    /// `count` callbacks like `measured` added to the month (all but their CPU time).
    pub fn add(&mut self, measured: &Measured, count: f64) {
        let per = count / measured.callbacks.max(1) as f64;
        let u = &measured.usage;
        self.invocations += per * measured.invocations as f64;
        self.kv_reads += per * u.kv_reads as f64;
        self.kv_writes += per * (u.kv_writes + u.kv_deletes + u.kv_lists) as f64;
        self.queue_ops += per * u.queue_ops as f64;
        self.d1_rows_read += per * u.d1_rows_read as f64;
        self.d1_rows_written += per * u.d1_rows_written as f64;
    }

    /// The invoice on `plan`: its price plus what goes beyond its included usage, without the
    /// CPU time (added when known, as the second value). KV writes, deletes and lists are
    /// counted together against one allowance, which overstates them if anything.
    pub fn invoice(&self, plan: &Plan, prices: &Prices) -> (f64, Option<f64>) {
        let over = |used: f64, included: f64, price: f64| (used - included).max(0.0) / 1e6 * price;
        let rest = plan.monthly
            + over(self.invocations, plan.requests, prices.request)
            + over(self.kv_reads, plan.kv_reads, prices.kv_read)
            + over(self.kv_writes, plan.kv_writes, prices.kv_write)
            + over(self.queue_ops, plan.queue_ops, prices.queue_op)
            + over(self.d1_rows_read, plan.d1_rows_read, prices.d1_row_read)
            + over(
                self.d1_rows_written,
                plan.d1_rows_written,
                prices.d1_row_written,
            );
        let cpu = self.cpu_ms.map(|ms| over(ms, plan.cpu_ms, prices.cpu_ms));
        (rest, cpu)
    }
}

/// What `callbacks` callbacks (or cron runs) used in all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub callbacks: u64,
    /// Worker invocations billed as requests: inline requests, queue consumer invocations,
    /// cron runs.
    pub invocations: u64,
    /// CPU milliseconds in all, when measured.
    pub cpu_ms: Option<f64>,
    pub usage: Usage,
}

/// USD per million callbacks, by line of the bill.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bill {
    pub requests: f64,
    /// `None` when the CPU time was not measured.
    pub cpu: Option<f64>,
    pub kv: f64,
    pub queues: f64,
    pub d1_read: f64,
    pub d1_written: f64,
}

impl Bill {
    /// Everything but the CPU time.
    pub fn without_cpu(&self) -> f64 {
        self.requests + self.kv + self.queues + self.d1_read + self.d1_written
    }

    /// `weight` of this bill's lines but CPU added to `self` (a mix: callbacks of each kind per
    /// million callbacks of its unit). The CPU line is left to the caller, which knows which
    /// parts were timed.
    pub fn add_weighted(&mut self, other: &Bill, weight: f64) {
        self.requests += weight * other.requests;
        self.kv += weight * other.kv;
        self.queues += weight * other.queues;
        self.d1_read += weight * other.d1_read;
        self.d1_written += weight * other.d1_written;
    }
}

/// Units per callback times USD per million units is USD per million callbacks.
pub fn per_million_callbacks(measured: &Measured, prices: &Prices) -> Bill {
    let callbacks = measured.callbacks.max(1) as f64;
    let cost = |units: f64, price: f64| units / callbacks * price;
    let u = &measured.usage;
    Bill {
        requests: cost(measured.invocations as f64, prices.request),
        cpu: measured.cpu_ms.map(|ms| cost(ms, prices.cpu_ms)),
        kv: cost(u.kv_reads as f64, prices.kv_read)
            + cost(u.kv_writes as f64, prices.kv_write)
            + cost(u.kv_deletes as f64, prices.kv_delete)
            + cost(u.kv_lists as f64, prices.kv_list),
        queues: cost(u.queue_ops as f64, prices.queue_op),
        d1_read: cost(u.d1_rows_read as f64, prices.d1_row_read),
        d1_written: cost(u.d1_rows_written as f64, prices.d1_row_written),
    }
}

/// A view of the staff dashboard polling the admin API while it is open: what `polls` polls
/// read, and how many rows their answers showed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polling {
    /// The view's refresh interval.
    pub every_secs: u64,
    pub polls: u64,
    /// Requests of all `polls` polls (a view may make more than one a poll).
    pub requests: u64,
    /// Rows in the answers of all `polls` polls (the entries of every list they hold).
    pub rows_shown: u64,
    pub usage: Usage,
}

impl Polling {
    pub fn polls_per_hour(&self) -> f64 {
        3600.0 / self.every_secs.max(1) as f64
    }

    /// `units` counted over all the polls, per poll.
    pub fn per_poll(&self, units: u64) -> f64 {
        units as f64 / self.polls.max(1) as f64
    }

    /// `units` counted over all the polls, for an hour of the view open.
    pub fn per_hour(&self, units: u64) -> f64 {
        self.per_poll(units) * self.polls_per_hour()
    }

    /// D1 rows read in an hour for each row the view shows: what issue 31 holds to at most
    /// 1,000. A poll that reads only the rows it shows comes to `polls_per_hour`; a table scan
    /// per poll to the table's size times that, over the rows shown. `None` when the view
    /// shows nothing.
    pub fn rows_read_per_hour_per_row_shown(&self) -> Option<f64> {
        let shown = self.per_poll(self.rows_shown);
        (shown > 0.0).then(|| self.per_hour(self.usage.d1_rows_read) / shown)
    }

    /// USD for an hour of the view open, at list prices (the plan's included 25 billion rows
    /// read a month left out).
    pub fn usd_per_hour(&self, prices: &Prices) -> f64 {
        self.per_hour(self.usage.d1_rows_read) / 1e6 * prices.d1_row_read
            + self.per_hour(self.usage.kv_reads) / 1e6 * prices.kv_read
            + self.per_hour(self.requests) / 1e6 * prices.request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_callback_is_priced_per_million_by_line() {
        // Five callbacks: 5 requests and 5 consumer invocations, 2 KV reads, 5 messages (15
        // queue operations), 100 rows read and 45 written, 20 CPU-ms.
        let measured = Measured {
            callbacks: 5,
            invocations: 10,
            cpu_ms: Some(20.0),
            usage: Usage {
                kv_reads: 2,
                kv_writes: 1,
                queue_messages: 5,
                queue_ops: 15,
                d1_rows_read: 100,
                d1_rows_written: 45,
                ..Usage::default()
            },
        };
        let bill = per_million_callbacks(&measured, &LIST_PRICES);
        assert!(close(bill.requests, 2.0 * 0.30));
        assert!(close(bill.cpu.unwrap(), 4.0 * 0.02));
        assert!(close(bill.kv, 0.4 * 0.50 + 0.2 * 5.00));
        assert!(close(bill.queues, 3.0 * 0.40));
        assert!(close(bill.d1_read, 20.0 * 0.001));
        assert!(close(bill.d1_written, 9.0 * 1.00));
        assert!(close(bill.without_cpu(), 0.6 + 1.2 + 1.2 + 0.02 + 9.0));
    }

    #[test]
    fn without_cpu_time_the_total_is_unknown_but_the_rest_is_priced() {
        let measured = Measured {
            callbacks: 1,
            invocations: 1,
            cpu_ms: None,
            usage: Usage::default(),
        };
        let bill = per_million_callbacks(&measured, &LIST_PRICES);
        assert_eq!(bill.cpu, None);
        assert!(close(bill.without_cpu(), 0.30));
    }

    #[test]
    fn a_month_pays_the_plan_and_only_what_goes_beyond_its_included_usage() {
        let measured = Measured {
            callbacks: 1,
            invocations: 2,
            cpu_ms: None,
            usage: Usage {
                queue_ops: 3,
                d1_rows_written: 5,
                ..Usage::default()
            },
        };
        let mut month = Month::default();
        month.add(&measured, 2e6);
        // 4 M invocations and 10 M rows written are included; 6 M queue operations are 5 M
        // more than included.
        let (rest, cpu) = month.invoice(&WORKERS_PAID, &LIST_PRICES);
        assert!(close(rest, 5.0 + 5.0 * 0.40));
        assert_eq!(cpu, None);
        month.add(&measured, 10e6);
        month.cpu_ms = Some(40e6);
        let (rest, cpu) = month.invoice(&WORKERS_PAID, &LIST_PRICES);
        assert!(close(rest, 5.0 + 14.0 * 0.30 + 35.0 * 0.40 + 10.0 * 1.00));
        assert!(close(cpu.unwrap(), 10.0 * 0.02));
    }

    #[test]
    fn a_mix_adds_its_parts_by_weight() {
        let a = Bill {
            requests: 1.0,
            cpu: Some(1.0),
            kv: 1.0,
            queues: 1.0,
            d1_read: 1.0,
            d1_written: 1.0,
        };
        let mut mix = Bill::default();
        mix.add_weighted(&a, 0.5);
        mix.add_weighted(&a, 0.25);
        assert!(close(mix.without_cpu(), 5.0 * 0.75));
        assert_eq!(mix.cpu, None, "the caller adds the CPU it knows");
    }

    #[test]
    fn a_view_polled_every_five_seconds_is_scaled_to_720_polls_an_hour() {
        // Five polls of a queue that showed 200 tickets each and read 20,000 rows each (a scan).
        let scan = Polling {
            every_secs: 5,
            polls: 5,
            requests: 5,
            rows_shown: 1000,
            usage: Usage {
                d1_statements: 5,
                d1_rows_read: 100_000,
                kv_reads: 1,
                ..Usage::default()
            },
        };
        assert!(close(scan.polls_per_hour(), 720.0));
        assert!(close(scan.per_poll(scan.usage.d1_rows_read), 20_000.0));
        assert!(close(scan.per_hour(scan.usage.d1_rows_read), 14_400_000.0));
        assert!(close(
            scan.rows_read_per_hour_per_row_shown().unwrap(),
            72_000.0
        ));
        assert!(close(
            scan.usd_per_hour(&LIST_PRICES),
            14.4 * 0.001 + 144.0 / 1e6 * 0.50 + 720.0 / 1e6 * 0.30
        ));
        // Reading only what it shows: the polls an hour.
        let indexed = Polling {
            usage: Usage {
                d1_rows_read: 1000,
                ..Usage::default()
            },
            ..scan
        };
        assert!(close(
            indexed.rows_read_per_hour_per_row_shown().unwrap(),
            720.0
        ));
    }

    #[test]
    fn a_view_that_shows_nothing_has_no_ratio() {
        let empty = Polling {
            every_secs: 15,
            polls: 5,
            requests: 10,
            rows_shown: 0,
            usage: Usage {
                d1_rows_read: 5,
                ..Usage::default()
            },
        };
        assert!(close(empty.polls_per_hour(), 240.0));
        assert!(close(
            empty.usd_per_hour(&LIST_PRICES),
            480.0 / 1e6 * 0.30 + 240.0 / 1e6 * 0.001
        ));
        assert_eq!(empty.rows_read_per_hour_per_row_shown(), None);
    }
}
