//! Queue messages into the consumer's planners: any body is kept as a dead letter or planned,
//! never a panic; readable ones round-trip. The flow is answered as storage would answer it
//! (empty reads, one row changed per statement, upstream OK), for a bounded number of steps.
#![no_main]
use kefu_edge::event::QueueMessage;
use kefu_edge::http::HttpResult;
use kefu_edge::pipeline::effect::{Answer, Effect, Flow, Step};
use kefu_edge::pipeline::{consume, Context};
use kefu_edge::settings::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = QueueMessage::from_json(body) {
        assert_eq!(
            QueueMessage::from_json(&message.to_json()).unwrap(),
            message
        );
    }
    let settings =
        Settings::from_lookup(|name| (name == "WECOM_ROBOT_KEY").then(|| "k".to_owned()));
    let cx = Context {
        settings: &settings,
        now: 1_700_000_000,
        random: 7,
        unique: "u".into(),
    };
    for from_dead_letter_queue in [false, true] {
        let mut flow = consume(body, from_dead_letter_queue, &cx);
        let mut answer = None;
        for _ in 0..64 {
            match flow.step(answer.take()) {
                Step::Done(_) => break,
                Step::Do(effect) => {
                    answer = Some(Ok(match effect {
                        Effect::Query(_) => Answer::Rows(vec![]),
                        Effect::Transaction(statements) => {
                            Answer::Changes(vec![1; statements.len()])
                        }
                        Effect::Fetch(_) => Answer::Http(HttpResult::Response {
                            status: 200,
                            body: r#"{"errcode":0}"#.into(),
                            retry_after: None,
                        }),
                        Effect::KvGet(_) => Answer::Value(None),
                        Effect::KvList { .. } => Answer::Keys(Default::default()),
                        Effect::KvPut { .. } | Effect::KvDelete(_) | Effect::Enqueue { .. } => {
                            Answer::Done
                        }
                    }));
                }
            }
        }
    }
});
