//! A deliberately small XML reader and writer for platform callbacks.
//!
//! The reader accepts only what WeChat sends: one root element whose children are text or CDATA
//! leaves or shallow groups of them. It refuses DOCTYPE (and so every entity declaration),
//! processing instructions other than the XML declaration, deep nesting and oversized documents,
//! so hostile input costs little and can never expand.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::Reader;

/// Callback bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_DEPTH: usize = 4;
/// Elements a document may have. A WeChat push has a few dozen; a body of tens of thousands of
/// elements can only be an attack, and it is parsed before any signature can be checked.
pub const MAX_ELEMENTS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    Empty,
    DoctypeForbidden,
    ProcessingInstructionForbidden,
    TooDeep,
    TooManyElements,
    Malformed(String),
    Truncated,
    BadEntity,
    MultipleRoots,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XmlError::Empty => f.write_str("empty XML body"),
            XmlError::DoctypeForbidden => {
                f.write_str("DOCTYPE and entity declarations are not accepted")
            }
            XmlError::ProcessingInstructionForbidden => {
                f.write_str("processing instructions are not accepted")
            }
            XmlError::TooDeep => f.write_str("XML nested too deeply"),
            XmlError::TooManyElements => write!(f, "more than {MAX_ELEMENTS} XML elements"),
            XmlError::Malformed(why) => write!(f, "malformed XML: {why}"),
            XmlError::Truncated => f.write_str("truncated XML"),
            XmlError::BadEntity => f.write_str("unknown or invalid character reference in XML"),
            XmlError::MultipleRoots => f.write_str("more than one root element"),
        }
    }
}

/// The leaves of a parsed document as (path below the root, text) in document order, e.g.
/// `("MsgType", "text")` or `("PicInfo/item/PicUrl", "https://…")`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlDoc {
    pub root: String,
    leaves: Vec<(String, String)>,
}

impl XmlDoc {
    /// The text of the first leaf at `path`.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.leaves
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.as_str())
    }

    /// The texts of every leaf at `path`, in document order.
    pub fn all<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.leaves
            .iter()
            .filter(move |(p, _)| p == path)
            .map(|(_, v)| v.as_str())
    }

    pub fn leaves(&self) -> &[(String, String)] {
        &self.leaves
    }
}

pub fn parse(input: &str) -> Result<XmlDoc, XmlError> {
    if input.trim().is_empty() {
        return Err(XmlError::Empty);
    }
    let mut reader = Reader::from_str(input);
    reader.config_mut().check_end_names = true;
    let mut doc = XmlDoc::default();
    // Open elements, each with whether it has had a child element yet (then it is a group, not
    // a leaf): kept per element so that closing one costs the same however long the document.
    let mut stack: Vec<(String, bool)> = Vec::new();
    let mut text = String::new();
    let mut saw_root = false;
    let mut elements = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| match e {
            quick_xml::Error::Syntax(_) if stack.is_empty() && !saw_root => {
                XmlError::Malformed(e.to_string())
            }
            quick_xml::Error::Syntax(_) => XmlError::Truncated,
            other => XmlError::Malformed(other.to_string()),
        })?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            elements += 1;
            if elements > MAX_ELEMENTS {
                return Err(XmlError::TooManyElements);
            }
        }
        match event {
            Event::DocType(_) => return Err(XmlError::DoctypeForbidden),
            Event::PI(_) => return Err(XmlError::ProcessingInstructionForbidden),
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                if stack.is_empty() && saw_root {
                    return Err(XmlError::MultipleRoots);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                saw_root = true;
                let name = element_name(start.name().as_ref())?;
                if let Some((_, has_children)) = stack.last_mut() {
                    *has_children = true;
                }
                stack.push((name, false));
                text.clear();
            }
            Event::Empty(start) => {
                if stack.is_empty() {
                    return Err(XmlError::Malformed("empty root element".into()));
                }
                let name = element_name(start.name().as_ref())?;
                let path = child_path(&stack[1..], &name);
                if let Some((_, has_children)) = stack.last_mut() {
                    *has_children = true;
                }
                doc.leaves.push((path, String::new()));
            }
            Event::Text(t) => {
                if stack.is_empty() {
                    if !t.iter().all(u8::is_ascii_whitespace) {
                        return Err(XmlError::Malformed("text outside the root element".into()));
                    }
                    continue;
                }
                let unescaped = t.unescape().map_err(|_| XmlError::BadEntity)?;
                text.push_str(&unescaped);
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(XmlError::Malformed("CDATA outside the root element".into()));
                }
                let raw = std::str::from_utf8(&c)
                    .map_err(|_| XmlError::Malformed("invalid UTF-8".into()))?;
                text.push_str(raw);
            }
            Event::End(_) => {
                let (name, has_children) = stack
                    .pop()
                    .ok_or(XmlError::Malformed("unbalanced end tag".into()))?;
                if stack.is_empty() {
                    doc.root = name;
                } else if !has_children {
                    // A leaf is an element whose content was only text; a group's own
                    // whitespace between children is dropped.
                    let path = child_path(&stack[1..], &name);
                    doc.leaves.push((path, std::mem::take(&mut text)));
                }
                text.clear();
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    if !saw_root {
        return Err(XmlError::Malformed("no root element".into()));
    }
    Ok(doc)
}

fn element_name(raw: &[u8]) -> Result<String, XmlError> {
    match std::str::from_utf8(raw) {
        Ok("") => Err(XmlError::Malformed("empty element name".into())),
        Ok(name) => Ok(name.to_owned()),
        Err(_) => Err(XmlError::Malformed("invalid element name".into())),
    }
}

fn child_path(ancestors_below_root: &[(String, bool)], name: &str) -> String {
    let mut path = String::new();
    for (a, _) in ancestors_below_root {
        path.push_str(a);
        path.push('/');
    }
    path.push_str(name);
    path
}

/// Builds `<xml>…</xml>` replies. Text goes in CDATA with `]]>` split across sections, and
/// characters XML 1.0 cannot carry are dropped, so any string makes a well-formed document.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        // A passive reply or a sealed envelope is a few hundred bytes: one allocation.
        let mut out = String::with_capacity(512);
        out.push_str("<xml>");
        XmlWriter { out }
    }

    pub fn cdata(mut self, name: &str, value: &str) -> Self {
        self.open(name);
        self.out.push_str("<![CDATA[");
        let value = xml_chars_only(value);
        // `]]>` would end the section: it becomes `]]` + `]]><![CDATA[>`, splitting it across two.
        let mut rest = value.as_ref();
        while let Some(at) = rest.find("]]>") {
            self.out.push_str(&rest[..at + 2]);
            self.out.push_str("]]><![CDATA[>");
            rest = &rest[at + 3..];
        }
        self.out.push_str(rest);
        self.out.push_str("]]>");
        self.close(name);
        self
    }

    pub fn number(mut self, name: &str, value: i64) -> Self {
        use std::fmt::Write;
        self.open(name);
        // Writing into a String cannot fail.
        let _ = write!(self.out, "{value}");
        self.close(name);
        self
    }

    /// A nested element whose children the closure writes.
    pub fn group(mut self, name: &str, children: impl FnOnce(XmlWriter) -> XmlWriter) -> Self {
        self.open(name);
        let inner = children(XmlWriter {
            out: std::mem::take(&mut self.out),
        });
        self.out = inner.out;
        self.close(name);
        self
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</xml>");
        self.out
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
}

/// `value` without the characters XML 1.0 cannot carry; borrowed when it has none (the usual
/// case, found by a byte scan: only C0 controls, U+FFFE and U+FFFF are refused in a `str`).
fn xml_chars_only(value: &str) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    let suspect = bytes
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xBF);
    if suspect && value.chars().any(|c| !is_xml_char(c)) {
        Cow::Owned(value.chars().filter(|&c| is_xml_char(c)).collect())
    } else {
        Cow::Borrowed(value)
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wechat_message() {
        let doc = parse("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1348831860</CreateTime>\n<Content><![CDATA[a]]]]><![CDATA[>b &amp;]]></Content></xml>").unwrap();
        assert_eq!(doc.root, "xml");
        assert_eq!(doc.get("ToUserName"), Some("gh_1"));
        assert_eq!(doc.get("CreateTime"), Some("1348831860"));
        assert_eq!(doc.get("Content"), Some("a]]>b &amp;"));
        assert_eq!(doc.get("Missing"), None);
    }

    #[test]
    fn parses_nested_lists_and_entities() {
        let doc = parse("<?xml version=\"1.0\"?><xml><A>x &lt; y</A><PicInfo><item><PicUrl>u1</PicUrl></item><item><PicUrl>u2</PicUrl></item></PicInfo><E/></xml>").unwrap();
        assert_eq!(doc.get("A"), Some("x < y"));
        assert_eq!(
            doc.all("PicInfo/item/PicUrl").collect::<Vec<_>>(),
            vec!["u1", "u2"]
        );
        assert_eq!(doc.get("PicInfo"), None);
        assert_eq!(doc.get("E"), Some(""));
    }

    #[test]
    fn refuses_hostile_and_broken_documents() {
        let cases: &[(&str, XmlError)] = &[
            ("", XmlError::Empty),
            (
                "<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><A>&x;</A></xml>",
                XmlError::DoctypeForbidden,
            ),
            (
                "<?php echo 1; ?><xml/>",
                XmlError::ProcessingInstructionForbidden,
            ),
            ("<xml><A>&x;</A></xml>", XmlError::BadEntity),
            ("<xml><A>1</A>", XmlError::Truncated),
            ("<xml><A>1</A></xml><xml></xml>", XmlError::MultipleRoots),
            (
                "<xml><a><b><c><d>1</d></c></b></a></xml>",
                XmlError::TooDeep,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&parse(input).unwrap_err(), want, "{input}");
        }
        for input in [
            "not xml",
            "<xml><A>1</B></xml>",
            "<xml><A>1</A></xml>trailing",
            "<xml><A",
        ] {
            assert!(parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn writer_escapes_cdata_end_and_control_characters() {
        let xml = XmlWriter::new()
            .cdata("Content", "a]]>b\u{1}c\u{FFFE}d")
            .number("CreateTime", 7)
            .group("TransInfo", |w| w.cdata("KfAccount", "kf@gh"))
            .finish();
        assert_eq!(
            xml,
            "<xml><Content><![CDATA[a]]]]><![CDATA[>bcd]]></Content><CreateTime>7</CreateTime><TransInfo><KfAccount><![CDATA[kf@gh]]></KfAccount></TransInfo></xml>"
        );
        let doc = parse(&xml).unwrap();
        assert_eq!(doc.get("Content"), Some("a]]>bcd"));
        assert_eq!(doc.get("TransInfo/KfAccount"), Some("kf@gh"));
    }

    #[test]
    fn writer_splits_cdata_ends_including_those_left_by_dropped_characters() {
        let cdata = |value: &str| XmlWriter::new().cdata("C", value).finish();
        let wrap = |inner: &str| format!("<xml><C><![CDATA[{inner}]]></C></xml>");
        assert_eq!(cdata("]]]>"), wrap("]]]]]><![CDATA[>"));
        assert_eq!(cdata("]]>]]>"), wrap("]]]]><![CDATA[>]]]]><![CDATA[>"));
        assert_eq!(cdata("]]\u{0}>x"), wrap("]]]]><![CDATA[>x"));
        // U+00BF and U+FFFD carry the byte 0xBF yet are fine; U+FFFF is not.
        assert_eq!(cdata("¿\u{FFFD}\u{FFFF}\t\r\n"), wrap("¿\u{FFFD}\t\r\n"));
        assert_eq!(xml_chars_only("plain ¿"), Cow::Borrowed("plain ¿"));
        for value in ["]]]>", "a]]>b]]>", "]]\u{1}>", "]>]]]]>>"] {
            let doc = parse(&cdata(value)).unwrap();
            assert_eq!(doc.get("C"), Some(value.replace('\u{1}', "").as_str()));
        }
    }

    #[test]
    fn an_empty_element_name_is_refused() {
        for input in ["<>b</>", "<xml><>b</></xml>", "<xml></></xml>"] {
            assert!(parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn a_leaf_named_like_an_earlier_group_is_kept() {
        let doc = parse("<xml><A><B>1</B></A><A>x</A></xml>").unwrap();
        assert_eq!(doc.get("A/B"), Some("1"));
        assert_eq!(doc.get("A"), Some("x"));
        // A group closing after a same-named leaf is still a group.
        let doc = parse("<xml><A>x</A><A><B>1</B></A></xml>").unwrap();
        assert_eq!(doc.all("A").collect::<Vec<_>>(), ["x"]);
        assert_eq!(doc.get("A/B"), Some("1"));
    }

    #[test]
    fn elements_are_counted_and_bounded() {
        // 64 KiB of `<a></a>` once cost seconds (every end tag scanned every leaf so far);
        // benches/hostile_xml.rs measures the time, this checks the results.
        let at_limit = format!("<xml>{}</xml>", "<a></a>".repeat(MAX_ELEMENTS - 1));
        assert_eq!(parse(&at_limit).unwrap().all("a").count(), MAX_ELEMENTS - 1);
        let over = format!("<xml>{}</xml>", "<a/>".repeat(MAX_ELEMENTS));
        assert_eq!(parse(&over), Err(XmlError::TooManyElements));
    }
}
