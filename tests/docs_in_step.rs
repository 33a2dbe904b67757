//! The README in three languages stays in step: every section of the English `README.md` has
//! its counterpart, in the same order, in `docs/README.zh-CN.md` and `docs/README.vi.md` (marked
//! with `<a id="<english slug>"></a>` before the translated heading), and every command the
//! English one gives appears verbatim in the other two.

use std::path::Path;

const TRANSLATIONS: [&str; 2] = ["docs/README.zh-CN.md", "docs/README.vi.md"];

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

fn english_sections(readme: &str) -> Vec<String> {
    prose(readme)
        .iter()
        .filter_map(|line| line.strip_prefix("## ").or(line.strip_prefix("### ")))
        .map(slug)
        .collect()
}

/// The anchors a translation puts before its headings, each followed by a heading line.
fn translated_sections(text: &str) -> Vec<String> {
    let lines = prose(text);
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let id = line.strip_prefix("<a id=\"")?.strip_suffix("\"></a>")?;
            let next = lines.get(i + 1).copied().unwrap_or_default();
            assert!(
                next.starts_with("## ") || next.starts_with("### "),
                "the anchor {id:?} is not right before a heading"
            );
            Some(id.to_owned())
        })
        .collect()
}

/// Commands: every line of a `sh` block, and every inline code span that runs a tool.
fn commands(readme: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if in_sh {
            if !line.trim().is_empty() {
                found.push(line.to_owned());
            }
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            let runs_a_tool = [
                "bash ",
                "cargo ",
                "npx ",
                "wrangler ",
                "curl ",
                "php ",
                "python3 ",
            ]
            .iter()
            .any(|tool| span.starts_with(tool));
            if i % 2 == 1 && runs_a_tool {
                found.push(span.to_owned());
            }
        }
    }
    found
}

#[test]
fn every_english_section_has_its_translation_in_the_same_order() {
    let english = english_sections(&read("README.md"));
    assert!(english.len() >= 10, "{english:?}");
    for path in TRANSLATIONS {
        assert_eq!(
            translated_sections(&read(path)),
            english,
            "sections of {path}"
        );
    }
}

#[test]
fn every_english_command_appears_in_each_translation() {
    let english = commands(&read("README.md"));
    assert!(english.iter().any(|c| c == "bash scripts/deploy.sh"));
    for path in TRANSLATIONS {
        let text = read(path);
        let missing: Vec<_> = english
            .iter()
            .filter(|c| !text.contains(c.as_str()))
            .collect();
        assert!(missing.is_empty(), "{path} lacks {missing:#?}");
    }
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug("Rules (KV key `rules`)"), "rules-kv-key-rules");
    assert_eq!(
        slug("The pipeline (queue consumer and cron)"),
        "the-pipeline-queue-consumer-and-cron"
    );
    assert_eq!(
        slug("What to paste in each console"),
        "what-to-paste-in-each-console"
    );
}
