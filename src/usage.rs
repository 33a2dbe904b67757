//! What one invocation used of what Cloudflare bills by the unit: KV operations, Queue
//! operations and D1 rows (with the subrequests, which are limited but not billed). The shell
//! counts as it performs the I/O and puts the count on the invocation's log line, so that a
//! merchant's logs show where the bill comes from; `crate::bill` prices a count.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::pipeline::effect::Effect;

/// Queues bill one operation per 64 KB written, read or deleted, a KB being 1,000 bytes, and
/// count about 100 bytes of metadata in each message (developers.cloudflare.com/queues/pricing).
const QUEUE_CHUNK_BYTES: u64 = 64_000;
const QUEUE_METADATA_BYTES: u64 = 100;

/// Billable operations of one invocation (or, added up, of many).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub kv_reads: u64,
    pub kv_writes: u64,
    pub kv_deletes: u64,
    pub kv_lists: u64,
    /// Messages sent on the queue.
    pub queue_messages: u64,
    /// The Queue operations those sends cost over their life (a write, a read and a delete per
    /// 64 KB chunk), plus one read per chunk for each retry of a received message.
    pub queue_ops: u64,
    /// D1 statements run (a batch counts each of its statements).
    pub d1_statements: u64,
    /// D1's own count from each result's `meta` (what D1 bills).
    pub d1_rows_read: u64,
    pub d1_rows_written: u64,
    /// Outbound HTTP requests (not billed; limited per invocation).
    pub subrequests: u64,
}

/// The 64 KB chunks a queue message of `bytes` is billed as.
fn queue_chunks(bytes: usize) -> u64 {
    (bytes as u64 + QUEUE_METADATA_BYTES).div_ceil(QUEUE_CHUNK_BYTES)
}

/// The fields of a usage line, in order: what `serialize` writes and `from_json` reads.
const FIELDS: [&str; 10] = [
    "kv_reads",
    "kv_writes",
    "kv_deletes",
    "kv_lists",
    "queue_messages",
    "queue_ops",
    "d1_statements",
    "d1_rows_read",
    "d1_rows_written",
    "subrequests",
];

impl Usage {
    /// An effect about to be performed: the KV operations and subrequests it makes. D1 rows and
    /// queue sends are counted from their answers (`d1_statement`, `queue_send`).
    pub fn attempt(&mut self, effect: &Effect) {
        match effect {
            Effect::KvGet(_) => self.kv_reads += 1,
            Effect::KvPut { .. } => self.kv_writes += 1,
            Effect::KvDelete(_) => self.kv_deletes += 1,
            Effect::KvList { .. } => self.kv_lists += 1,
            Effect::Fetch(_) => self.subrequests += 1,
            Effect::Query(_) | Effect::Transaction(_) | Effect::Enqueue { .. } => {}
        }
    }

    /// A message of `bytes` sent: its write now, its read and delete when it is consumed.
    pub fn queue_send(&mut self, bytes: usize) {
        self.queue_messages += 1;
        self.queue_ops += 3 * queue_chunks(bytes);
    }

    /// A received message of `bytes` handed back for a retry: one more read.
    pub fn queue_retry(&mut self, bytes: usize) {
        self.queue_ops += queue_chunks(bytes);
    }

    /// One D1 statement and the rows D1 says it read and wrote.
    pub fn d1_statement(&mut self, rows_read: u64, rows_written: u64) {
        self.d1_statements += 1;
        self.d1_rows_read += rows_read;
        self.d1_rows_written += rows_written;
    }

    fn fields(&self) -> [u64; 10] {
        [
            self.kv_reads,
            self.kv_writes,
            self.kv_deletes,
            self.kv_lists,
            self.queue_messages,
            self.queue_ops,
            self.d1_statements,
            self.d1_rows_read,
            self.d1_rows_written,
            self.subrequests,
        ]
    }

    fn fields_mut(&mut self) -> [&mut u64; 10] {
        [
            &mut self.kv_reads,
            &mut self.kv_writes,
            &mut self.kv_deletes,
            &mut self.kv_lists,
            &mut self.queue_messages,
            &mut self.queue_ops,
            &mut self.d1_statements,
            &mut self.d1_rows_read,
            &mut self.d1_rows_written,
            &mut self.subrequests,
        ]
    }

    pub fn add(&mut self, other: &Usage) {
        for (mine, theirs) in self.fields_mut().into_iter().zip(other.fields()) {
            *mine += theirs;
        }
    }

    /// Reads what `serialize` wrote; a missing field counts as zero, anything else not a count
    /// is refused with its name.
    pub fn from_json(value: &Value) -> Result<Usage, String> {
        let object = value.as_object().ok_or("usage is not an object")?;
        let mut usage = Usage::default();
        for (name, slot) in FIELDS.iter().zip(usage.fields_mut()) {
            if let Some(v) = object.get(*name) {
                *slot = v
                    .as_u64()
                    .ok_or_else(|| format!("usage {name} is not a count"))?;
            }
        }
        Ok(usage)
    }
}

/// `{"kv_reads": …, …}`: every field, zeros included, so that lines add up field by field.
impl Serialize for Usage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(FIELDS.len()))?;
        for (name, value) in FIELDS.iter().zip(self.fields()) {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kv_operations_and_subrequests_are_counted_as_they_are_attempted() {
        use crate::event::QueueMessage;
        use crate::http::{HttpMethod, HttpRequest};
        use crate::sql::Statement;
        let mut usage = Usage::default();
        let effects = [
            Effect::KvGet("rules".into()),
            Effect::KvGet("kf_online".into()),
            Effect::KvPut {
                key: "k".into(),
                value: "v".into(),
                ttl_secs: None,
            },
            Effect::KvDelete("k".into()),
            Effect::KvList {
                prefix: "parked:",
                cursor: None,
                limit: 1000,
            },
            Effect::Fetch(HttpRequest {
                method: HttpMethod::Get,
                url: "http://127.0.0.1/".into(),
                headers: Vec::new(),
                body: None,
            }),
            Effect::Query(Statement::new("SELECT 1", Vec::new())),
            Effect::Transaction(Vec::new()),
            Effect::Enqueue {
                message: QueueMessage::FlushAlerts,
                delay_secs: 0,
            },
        ];
        for effect in &effects {
            usage.attempt(effect);
        }
        assert_eq!(
            usage,
            Usage {
                kv_reads: 2,
                kv_writes: 1,
                kv_deletes: 1,
                kv_lists: 1,
                subrequests: 1,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn a_queue_message_costs_three_operations_per_64_kb_chunk_and_a_read_per_retry() {
        let mut usage = Usage::default();
        usage.queue_send(1_000);
        assert_eq!((usage.queue_messages, usage.queue_ops), (1, 3));
        // 63,900 bytes and the metadata fill one chunk exactly; one byte more takes two.
        usage.queue_send(63_900);
        assert_eq!(usage.queue_ops, 6);
        usage.queue_send(63_901);
        assert_eq!((usage.queue_messages, usage.queue_ops), (3, 12));
        usage.queue_retry(1_000);
        assert_eq!((usage.queue_messages, usage.queue_ops), (3, 13));
    }

    #[test]
    fn usages_add_up_field_by_field_and_survive_their_log_form() {
        let mut a = Usage {
            kv_reads: 2,
            subrequests: 1,
            ..Usage::default()
        };
        a.d1_statement(3, 4);
        let mut b = Usage {
            kv_writes: 1,
            kv_deletes: 1,
            kv_lists: 1,
            ..Usage::default()
        };
        b.queue_send(10);
        b.d1_statement(1, 0);
        a.add(&b);
        assert_eq!(
            a,
            Usage {
                kv_reads: 2,
                kv_writes: 1,
                kv_deletes: 1,
                kv_lists: 1,
                queue_messages: 1,
                queue_ops: 3,
                d1_statements: 2,
                d1_rows_read: 4,
                d1_rows_written: 4,
                subrequests: 1,
            }
        );
        let line = serde_json::to_value(a).unwrap();
        assert_eq!(line.as_object().map(|o| o.len()), Some(FIELDS.len()));
        assert_eq!(line["d1_rows_written"], 4);
        assert_eq!(Usage::from_json(&line), Ok(a));
    }

    #[test]
    fn a_usage_line_with_fields_missing_reads_as_zeros_and_a_wrong_one_is_named() {
        assert_eq!(
            Usage::from_json(&json!({"kv_reads": 2})),
            Ok(Usage {
                kv_reads: 2,
                ..Usage::default()
            })
        );
        assert_eq!(
            Usage::from_json(&json!({"kv_reads": -1})),
            Err("usage kv_reads is not a count".into())
        );
        assert!(Usage::from_json(&json!([])).is_err());
    }
}
