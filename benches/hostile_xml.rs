//! The XML reader on the worst 64 KiB bodies an unauthenticated caller can send (issue 9, defect
//! 3): each is parsed before any signature can be checked, so each must cost little CPU.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kefu_edge::xml;

const LIMIT: usize = 64 * 1024;

/// `<xml>` + as many copies of `unit` as fit in 64 KiB + `</xml>`.
fn fill(unit: &str) -> String {
    let n = (LIMIT - "<xml></xml>".len()) / unit.len();
    format!("<xml>{}</xml>", unit.repeat(n))
}

/// `depth` nested elements (the reader allows 4 levels, the root included), repeated to fill
/// 64 KiB.
fn deep(depth: usize) -> String {
    let open: String = (0..depth).map(|i| format!("<e{i}>")).collect();
    let close: String = (0..depth).rev().map(|i| format!("</e{i}>")).collect();
    fill(&format!("{open}x{close}"))
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("empty_elements", fill("<a></a>")),
        ("text_elements", fill("<a>x</a>")),
        ("self_closing", fill("<a/>")),
        ("wide_groups", fill("<g><a>1</a><b>2</b></g>")),
        ("deep", deep(3)),
    ];
    let mut group = c.benchmark_group("hostile_xml_64k");
    for (name, body) in &cases {
        assert!(body.len() <= LIMIT, "{name}: {}", body.len());
        group.bench_function(*name, |b| b.iter(|| black_box(xml::parse(black_box(body)))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
