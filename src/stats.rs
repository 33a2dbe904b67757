//! The helpdesk's headline numbers, per channel and category: tickets opened, first-response
//! and resolution times (average and p90), resolution rate and SLA breaches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the numbers are computed from, one row per ticket.
pub const TICKET_TIMES_SQL: &str = "SELECT channel, category, status, created_at, first_response_at, resolved_at, first_response_due, resolution_due \
     FROM tickets WHERE created_at >= ?";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketTimes {
    pub channel: String,
    pub category: String,
    pub status: String,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub first_response_due: i64,
    pub resolution_due: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub avg_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub channel: String,
    pub category: String,
    pub opened: usize,
    pub first_response: Durations,
    pub resolution: Durations,
    /// Resolved or closed, of those opened.
    pub resolution_rate: f64,
    /// First responses and resolutions that came after their due time, or are still missing
    /// past it.
    pub sla_breaches: usize,
}

fn durations(mut secs: Vec<i64>) -> Durations {
    secs.sort_unstable();
    let count = secs.len();
    if count == 0 {
        return Durations {
            count,
            avg_secs: None,
            p90_secs: None,
        };
    }
    let sum: i128 = secs.iter().map(|&s| i128::from(s)).sum();
    // Nearest rank: the smallest value with at least 90% of the values at or below it.
    let rank = (count * 9).div_ceil(10);
    Durations {
        count,
        avg_secs: Some((sum / count as i128) as i64),
        p90_secs: Some(secs[rank.max(1) - 1]),
    }
}

fn late(done_at: Option<i64>, due: i64, now: i64) -> bool {
    match done_at {
        Some(at) => at > due,
        None => now > due,
    }
}

/// One summary per (channel, category), in that order.
pub fn summarize(tickets: &[TicketTimes], now: i64) -> Vec<Summary> {
    let mut groups: BTreeMap<(&str, &str), Vec<&TicketTimes>> = BTreeMap::new();
    for t in tickets {
        groups
            .entry((t.channel.as_str(), t.category.as_str()))
            .or_default()
            .push(t);
    }
    groups
        .into_iter()
        .map(|((channel, category), group)| {
            let first: Vec<i64> = group
                .iter()
                .filter_map(|t| t.first_response_at.map(|at| (at - t.created_at).max(0)))
                .collect();
            let resolved: Vec<i64> = group
                .iter()
                .filter_map(|t| t.resolved_at.map(|at| (at - t.created_at).max(0)))
                .collect();
            let done = group
                .iter()
                .filter(|t| t.status == "resolved" || t.status == "closed")
                .count();
            let sla_breaches = group
                .iter()
                .map(|t| {
                    usize::from(late(t.first_response_at, t.first_response_due, now))
                        + usize::from(late(t.resolved_at, t.resolution_due, now))
                })
                .sum();
            Summary {
                channel: channel.to_owned(),
                category: category.to_owned(),
                opened: group.len(),
                first_response: durations(first),
                resolution: durations(resolved),
                resolution_rate: done as f64 / group.len() as f64,
                sla_breaches,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(
        channel: &str,
        first: Option<i64>,
        resolved: Option<i64>,
        status: &str,
    ) -> TicketTimes {
        TicketTimes {
            channel: channel.into(),
            category: "general".into(),
            status: status.into(),
            created_at: 1000,
            first_response_at: first.map(|s| 1000 + s),
            resolved_at: resolved.map(|s| 1000 + s),
            first_response_due: 1000 + 3600,
            resolution_due: 1000 + 86_400,
        }
    }

    #[test]
    fn averages_p90_rates_and_breaches_per_channel_and_category() {
        let mut tickets: Vec<TicketTimes> = (1..=10)
            .map(|i| ticket("oa", Some(i * 60), Some(i * 600), "resolved"))
            .collect();
        tickets.push(ticket("oa", None, None, "open"));
        tickets.push(ticket("orders", Some(7200), None, "open"));
        let s = summarize(&tickets, 1000 + 100_000);
        assert_eq!(s.len(), 2);
        let oa = &s[0];
        assert_eq!((oa.channel.as_str(), oa.opened), ("oa", 11));
        assert_eq!(oa.first_response.avg_secs, Some(330));
        assert_eq!(oa.first_response.p90_secs, Some(540));
        assert_eq!(oa.resolution.p90_secs, Some(5400));
        assert!((oa.resolution_rate - 10.0 / 11.0).abs() < 1e-9);
        assert_eq!(oa.sla_breaches, 2, "the open one missed both");
        let orders = &s[1];
        assert_eq!(
            orders.sla_breaches, 2,
            "responded late, and still unresolved past due"
        );
        assert_eq!(orders.resolution.count, 0);
        assert_eq!(orders.resolution.avg_secs, None);
        assert!(summarize(&[], 0).is_empty());
    }
}
