//! A deliberately small XML reader and writer for platform callbacks.
//!
//! The reader accepts only what WeChat sends: one root element whose children are text or CDATA
//! leaves or shallow groups of them. It refuses DOCTYPE (and so every entity declaration),
//! processing instructions other than the XML declaration, deep nesting and oversized documents,
//! so hostile input costs little and can never expand.

use std::borrow::Cow;
use std::ops::Range;

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
/// `("MsgType", "text")` or `("PicInfo/item/PicUrl", "https://…")`. Names and texts borrow from
/// the input where they can (a leaf below the root, text without entities, one CDATA section).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlDoc<'a> {
    pub root: Cow<'a, str>,
    leaves: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> XmlDoc<'a> {
    /// The text of the first leaf at `path`.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.leaves
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.as_ref())
    }

    /// Moves the text of the first leaf at `path` out of the document (an empty text stays).
    pub fn take(&mut self, path: &str) -> Option<Cow<'a, str>> {
        self.leaves
            .iter_mut()
            .find(|(p, _)| p == path)
            .map(|(_, v)| std::mem::take(v))
    }

    /// The texts of every leaf at `path`, in document order.
    pub fn all<'s>(&'s self, path: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.leaves
            .iter()
            .filter(move |(p, _)| p == path)
            .map(|(_, v)| v.as_ref())
    }

    pub fn leaves(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        &self.leaves
    }

    /// The document with its own copies of everything, to outlive the input.
    pub fn into_owned(self) -> XmlDoc<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        XmlDoc {
            root: own(self.root),
            leaves: self
                .leaves
                .into_iter()
                .map(|(path, text)| (own(path), own(text)))
                .collect(),
        }
    }
}

/// Leaves a WeChat push has at most, short of lists: room for them from the start.
const USUAL_LEAVES: usize = 16;

pub fn parse(input: &str) -> Result<XmlDoc<'_>, XmlError> {
    let mut leaves = Vec::with_capacity(USUAL_LEAVES);
    let root = read(input, &mut Leaves::All(&mut leaves))?;
    Ok(XmlDoc { root, leaves })
}

/// The text of the first leaf at `path` (`None` when there is none), the document checked as
/// [`parse`] checks it but its other leaves not kept: what a sealed push's `Encrypt` costs.
pub fn first_leaf<'a>(input: &'a str, path: &str) -> Result<Option<Cow<'a, str>>, XmlError> {
    let mut found = None;
    read(
        input,
        &mut Leaves::First {
            path,
            found: &mut found,
        },
    )?;
    Ok(found)
}

/// What a read keeps of the leaves it meets. An enum, not a callback: a call per leaf through
/// `dyn FnMut` cost ~13 ns (its arguments went through memory), and a generic reader would be
/// two copies in the wasm.
enum Leaves<'a, 'k> {
    All(&'k mut Vec<(Cow<'a, str>, Cow<'a, str>)>),
    First {
        path: &'k str,
        found: &'k mut Option<Cow<'a, str>>,
    },
}

impl<'a> Leaves<'a, '_> {
    /// Inlined: called with two `Cow`s, it took them through memory and the reads back stalled
    /// on store forwarding (~70% of its samples).
    #[inline(always)]
    fn keep(&mut self, leaf_path: Cow<'a, str>, text: Cow<'a, str>) {
        match self {
            Leaves::All(leaves) => leaves.push((leaf_path, text)),
            Leaves::First { path, found } => {
                if found.is_none() && leaf_path == *path {
                    **found = Some(text);
                }
            }
        }
    }
}

/// Reads and checks a document, handing each leaf (path, text) to `leaves` in document order;
/// returns the root's name.
fn read<'a>(input: &'a str, leaves: &mut Leaves<'a, '_>) -> Result<Cow<'a, str>, XmlError> {
    if input.trim().is_empty() {
        return Err(XmlError::Empty);
    }
    let mut reader = Reader::from_str(input);
    reader.config_mut().check_end_names = true;
    let mut root = Cow::Borrowed("");
    let mut stack = OpenElements::default();
    // The current element's text: borrowed while it is one piece, the usual case.
    let mut text: Cow<'_, str> = Cow::Borrowed("");
    let mut saw_root = false;
    let mut elements = 0usize;
    loop {
        // Inspected where the reader left it: moving an event out of its Result costs more
        // than handling it.
        let read = reader.read_event();
        let event = match &read {
            Ok(event) => event,
            Err(e) => return Err(reader_error(e, stack.is_empty() && !saw_root)),
        };
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
                if stack.is_full() {
                    return Err(XmlError::TooDeep);
                }
                saw_root = true;
                let name = element_name(input, start.name().as_ref())?;
                stack.mark_innermost_a_group();
                stack.push(name);
                text = Cow::Borrowed("");
            }
            Event::Empty(start) => {
                if stack.is_empty() {
                    return Err(XmlError::Malformed("empty root element".into()));
                }
                let name = element_name(input, start.name().as_ref())?;
                let path = child_path(stack.below_root(), name);
                stack.mark_innermost_a_group();
                leaves.keep(path, Cow::Borrowed(""));
            }
            Event::Text(t) => {
                if stack.is_empty() {
                    if !t.iter().all(u8::is_ascii_whitespace) {
                        return Err(XmlError::Malformed("text outside the root element".into()));
                    }
                    continue;
                }
                append(&mut text, unescape(from_input(input, t)?)?);
            }
            Event::CData(c) => {
                if stack.is_empty() {
                    return Err(XmlError::Malformed("CDATA outside the root element".into()));
                }
                append(&mut text, from_input(input, c)?);
            }
            Event::End(_) => {
                let (name, has_children) = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                let piece = std::mem::replace(&mut text, Cow::Borrowed(""));
                if stack.is_empty() {
                    root = name;
                } else if !has_children {
                    // A leaf is an element whose content was only text; a group's own
                    // whitespace between children is dropped.
                    leaves.keep(child_path(stack.below_root(), name), piece);
                }
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
    Ok(root)
}

/// The open elements, each with whether it has had a child element yet (then it is a group,
/// not a leaf): kept per element so that closing one costs the same however long the document.
/// At most `MAX_DEPTH`, so they live on the stack rather than in an allocation per parse.
#[derive(Default)]
struct OpenElements<'a> {
    elements: [(Cow<'a, str>, bool); MAX_DEPTH],
    depth: usize,
}

impl<'a> OpenElements<'a> {
    fn is_empty(&self) -> bool {
        self.depth == 0
    }

    fn is_full(&self) -> bool {
        self.depth >= MAX_DEPTH
    }

    /// Opens an element; the caller has checked `is_full` (a push beyond is dropped).
    fn push(&mut self, name: Cow<'a, str>) {
        if let Some(slot) = self.elements.get_mut(self.depth) {
            *slot = (name, false);
            self.depth += 1;
        }
    }

    /// Closes the innermost element: its name, and whether it was a group.
    fn pop(&mut self) -> Option<(Cow<'a, str>, bool)> {
        self.depth = self.depth.checked_sub(1)?;
        self.elements.get_mut(self.depth).map(std::mem::take)
    }

    fn mark_innermost_a_group(&mut self) {
        if let Some((_, has_children)) = self
            .depth
            .checked_sub(1)
            .and_then(|i| self.elements.get_mut(i))
        {
            *has_children = true;
        }
    }

    /// The open elements inside the root, outermost first.
    fn below_root(&self) -> &[(Cow<'a, str>, bool)] {
        self.elements.get(1..self.depth).unwrap_or_default()
    }
}

/// What a reader error means here: before the root, the input is not XML at all; a syntax
/// error after it means the document stops short.
fn reader_error(e: &quick_xml::Error, before_root: bool) -> XmlError {
    match e {
        quick_xml::Error::Syntax(_) if before_root => XmlError::Malformed(e.to_string()),
        quick_xml::Error::Syntax(_) => XmlError::Truncated,
        other => XmlError::Malformed(other.to_string()),
    }
}

/// Adds a piece of an element's text (CDATA sections and text between them).
#[inline(always)]
fn append<'a>(text: &mut Cow<'a, str>, piece: Cow<'a, str>) {
    if text.is_empty() {
        *text = piece;
    } else {
        text.to_mut().push_str(&piece);
    }
}

fn element_name<'a>(input: &'a str, raw: &[u8]) -> Result<Cow<'a, str>, XmlError> {
    if raw.is_empty() {
        return Err(XmlError::Malformed("empty element name".into()));
    }
    from_input(input, raw).map_err(|_| XmlError::Malformed("invalid element name".into()))
}

/// A text with its entity and character references replaced; itself when it has none.
fn unescape(raw: Cow<'_, str>) -> Result<Cow<'_, str>, XmlError> {
    match quick_xml::escape::unescape(&raw).map_err(|_| XmlError::BadEntity)? {
        Cow::Borrowed(_) => Ok(raw),
        Cow::Owned(unescaped) => Ok(Cow::Owned(unescaped)),
    }
}

/// A piece of the input as the reader lent it (a name, text or CDATA), with the input's
/// lifetime and no UTF-8 check when it is a slice of the input at character boundaries (always,
/// for a reader over a `str`), else a checked copy. quick-xml lends names and CDATA only for as
/// long as their event lives; this lets a leaf keep them without copying.
///
/// Inlined, as are `child_path` and `append`: called once or twice per event, they returned
/// their results through memory, and reading those back stalled the reader's loop.
#[inline(always)]
fn from_input<'a>(input: &'a str, piece: &[u8]) -> Result<Cow<'a, str>, XmlError> {
    match within(input, piece) {
        Some(slice) => Ok(Cow::Borrowed(slice)),
        None => checked_copy(piece),
    }
}

fn checked_copy(piece: &[u8]) -> Result<Cow<'static, str>, XmlError> {
    std::str::from_utf8(piece)
        .map(|s| Cow::Owned(s.to_owned()))
        .map_err(|_| XmlError::Malformed("invalid UTF-8".into()))
}

/// `piece` as a slice of `input`, when it is one.
fn within<'a>(input: &'a str, piece: &[u8]) -> Option<&'a str> {
    let start = (piece.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    input
        .get(start..start.checked_add(piece.len())?)
        .filter(|slice| std::ptr::eq(slice.as_ptr(), piece.as_ptr()))
}

/// A leaf's path: its name alone below the root (borrowed), joined to its groups' otherwise.
#[inline(always)]
fn child_path<'a>(
    ancestors_below_root: &[(Cow<'a, str>, bool)],
    name: Cow<'a, str>,
) -> Cow<'a, str> {
    if ancestors_below_root.is_empty() {
        name
    } else {
        Cow::Owned(joined_path(ancestors_below_root, &name))
    }
}

fn joined_path(ancestors_below_root: &[(Cow<'_, str>, bool)], name: &str) -> String {
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
        // A passive reply is a few hundred bytes: one allocation.
        Self::with_capacity(512)
    }

    /// A writer with room for `capacity` bytes, for a document whose size the caller knows.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push_str("<xml>");
        XmlWriter { out }
    }

    pub fn cdata(mut self, name: &str, value: &str) -> Self {
        self.open(name);
        self.out.push_str("<![CDATA[");
        if as_it_is(value) {
            self.out.push_str(value);
        } else {
            // `]]>` would end the section: it becomes `]]` + `]]><![CDATA[>`, across two.
            let value = xml_chars_only(value);
            let mut rest = value.as_ref();
            while let Some(at) = rest.find("]]>") {
                self.out.push_str(&rest[..at + 2]);
                self.out.push_str("]]><![CDATA[>");
                rest = &rest[at + 3..];
            }
            self.out.push_str(rest);
        }
        self.out.push_str("]]>");
        self.close(name);
        self
    }

    pub fn number(mut self, name: &str, value: i64) -> Self {
        self.open(name);
        // itoa rather than `write!`: the formatting machinery costs more than the digits.
        self.out.push_str(itoa::Buffer::new().format(value));
        self.close(name);
        self
    }

    /// An element whose text is the base64 of `bytes`, written straight into the document (its
    /// alphabet needs no check), and where that text is, to read it back with `written`.
    pub fn base64_cdata(mut self, name: &str, bytes: &[u8]) -> (Self, Range<usize>) {
        self.open(name);
        self.out.push_str("<![CDATA[");
        let start = self.out.len();
        base64_simd::STANDARD.encode_append(bytes, &mut self.out);
        let text = start..self.out.len();
        self.out.push_str("]]>");
        self.close(name);
        (self, text)
    }

    /// Text written so far at `range` (as `base64_cdata` returns it); empty for another range.
    pub fn written(&self, range: Range<usize>) -> &str {
        self.out.get(range).unwrap_or_default()
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

/// Whether `value` goes into a CDATA section as it is: no `]` (which could begin `]]>`), no
/// byte 0xBF (part of U+FFFE and U+FFFF, which XML cannot carry) and no control character (even
/// tab or newline: those take the careful path, which keeps them). Base64, hex and most
/// messages.
fn as_it_is(value: &str) -> bool {
    !has_special_byte(value.as_bytes())
}

/// Whether any byte is below 0x20, `]` or 0xBF, in one pass of eight bytes at a time. A word
/// `x` has a byte below `n` (n <= 0x80) exactly when `(x - n·0x0101…) & !x & 0x8080…` is not
/// zero: the lowest such byte borrows and has its high bit clear in `x`, and bytes of `n` or
/// more never borrow. A byte equal to `b` is a byte below 1 in `x ^ b·0x0101…`.
fn has_special_byte(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let (words, rest) = bytes.as_chunks::<8>();
    words.iter().any(|word| {
        let x = u64::from_ne_bytes(*word);
        below(x, 0x20) | below(x ^ (ONES * u64::from(b']')), 1) | below(x ^ (ONES * 0xBF), 1) != 0
    }) || rest.iter().any(|&b| b < 0x20 || b == b']' || b == 0xBF)
}

/// `value` without the characters XML 1.0 cannot carry; borrowed when it has none.
fn xml_chars_only(value: &str) -> Cow<'_, str> {
    if value.chars().all(is_xml_char) {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(value.chars().filter(|&c| is_xml_char(c)).collect())
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
    fn writer_writes_base64_in_place_and_reads_it_back() {
        let bytes: Vec<u8> = (0..=255).collect();
        let (writer, text) = XmlWriter::new().base64_cdata("Encrypt", &bytes);
        let encoded = base64_simd::STANDARD.encode_to_string(&bytes);
        assert_eq!(writer.written(text), encoded);
        assert_eq!(writer.written(0..usize::MAX), "");
        let xml = writer.number("N", 1).finish();
        assert_eq!(
            xml,
            format!("<xml><Encrypt><![CDATA[{encoded}]]></Encrypt><N>1</N></xml>")
        );
        assert_eq!(parse(&xml).unwrap().get("Encrypt"), Some(encoded.as_str()));
    }

    #[test]
    fn writer_writes_any_integer() {
        for (value, digits) in [
            (0, "0"),
            (-7, "-7"),
            (1_700_000_000, "1700000000"),
            (i64::MIN, "-9223372036854775808"),
            (i64::MAX, "9223372036854775807"),
        ] {
            assert_eq!(
                XmlWriter::with_capacity(0).number("N", value).finish(),
                format!("<xml><N>{digits}</N></xml>")
            );
        }
    }

    #[test]
    fn special_bytes_are_found_anywhere_in_a_word_or_the_tail() {
        let special = |b: u8| b < 0x20 || b == b']' || b == 0xBF;
        for len in [1, 7, 8, 9, 16, 17, 23] {
            for at in 0..len {
                for b in 0..=255u8 {
                    // Around it: bytes next to the special values, and their neighbours.
                    for fill in [b'a', b'\\', b'^', 0xBE, 0xC0, 0x20, 0xff, 0x80] {
                        let mut bytes = vec![fill; len];
                        bytes[at] = b;
                        assert_eq!(
                            has_special_byte(&bytes),
                            special(b),
                            "{len} {at} {b} {fill}"
                        );
                    }
                }
            }
        }
        assert!(!has_special_byte(b""));
    }

    #[test]
    fn only_plain_text_skips_the_careful_path() {
        assert!(as_it_is("SGVsbG8+/= 我要退款 refund"));
        for careful in ["a]b", "¿", "line\nbreak", "tab\t", "\u{1}", "\u{FFFF}"] {
            assert!(!as_it_is(careful), "{careful:?}");
        }
        // The careful path keeps tab, CR and LF.
        assert_eq!(
            XmlWriter::new().cdata("C", "a\tb\r\nc").finish(),
            "<xml><C><![CDATA[a\tb\r\nc]]></C></xml>"
        );
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
            let written = cdata(value);
            let doc = parse(&written).unwrap();
            assert_eq!(doc.get("C"), Some(value.replace('\u{1}', "").as_str()));
        }
    }

    #[test]
    fn leaves_borrow_from_the_input_unless_they_had_to_be_built() {
        let input = "<xml><A><![CDATA[a]]></A><B>x &lt; y</B><C><![CDATA[1]]><![CDATA[2]]></C><G><D>d</D></G><E/></xml>";
        let doc = parse(input).unwrap();
        let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
        let kinds: Vec<_> = doc
            .leaves()
            .iter()
            .map(|(path, text)| (path.as_ref(), borrowed(path), borrowed(text)))
            .collect();
        assert_eq!(
            kinds,
            [
                ("A", true, true),
                ("B", true, false),
                ("C", true, false),
                ("G/D", false, true),
                ("E", true, true),
            ]
        );
        assert!(borrowed(&doc.root));
        assert_eq!(doc.get("C"), Some("12"));
        let owned = doc.clone().into_owned();
        assert_eq!(owned, doc);
        assert!(owned
            .leaves()
            .iter()
            .all(|(p, t)| !borrowed(p) && !borrowed(t)));
        assert_eq!(first_leaf(input, "G/D"), Ok(Some(Cow::Borrowed("d"))));
        assert_eq!(first_leaf(input, "Missing"), Ok(None));
    }

    #[test]
    fn first_leaf_checks_the_whole_document_and_keeps_the_first() {
        let input = "<xml><A>1</A><G><A>g</A></G><A>2</A></xml>";
        assert_eq!(first_leaf(input, "A"), Ok(Some(Cow::Borrowed("1"))));
        assert_eq!(first_leaf(input, "G/A"), Ok(Some(Cow::Borrowed("g"))));
        assert_eq!(
            first_leaf("<xml><A/></xml>", "A"),
            Ok(Some(Cow::Borrowed("")))
        );
        // What parse refuses, first_leaf refuses, also after the leaf it looks for.
        for input in [
            "<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><A>1</A></xml>",
            "<xml><A>1</A><B>&x;</B></xml>",
            "<xml><A>1</A>",
            "<xml><A>1</A></xml><xml></xml>",
            "<xml><A>1</A><a><b><c><d>1</d></c></b></a></xml>",
            "<xml><A>1</A><B></C></xml>",
            "",
        ] {
            assert_eq!(
                first_leaf(input, "A").map(|_| ()),
                parse(input).map(|_| ()),
                "{input}"
            );
            assert!(first_leaf(input, "A").is_err(), "{input}");
        }
        let over = format!("<xml><A>1</A>{}</xml>", "<a/>".repeat(MAX_ELEMENTS));
        assert_eq!(first_leaf(&over, "A"), Err(XmlError::TooManyElements));
    }

    #[test]
    fn a_piece_from_elsewhere_is_copied_not_borrowed() {
        let input = "<xml>name 名</xml>";
        let piece = |range: std::ops::Range<usize>| &input.as_bytes()[range];
        assert_eq!(within(input, piece(5..9)), Some("name"));
        let elsewhere = String::from("name");
        assert_eq!(within(input, elsewhere.as_bytes()), None);
        assert_eq!(within(&input[5..], input.as_bytes()), None);
        // Inside the input but not at character boundaries: not a str.
        assert_eq!(within(input, piece(10..12)), None);
        assert_eq!(
            from_input(input, piece(10..12)),
            Err(XmlError::Malformed("invalid UTF-8".into()))
        );
        assert!(
            matches!(from_input(input, elsewhere.as_bytes()), Ok(Cow::Owned(n)) if n == "name")
        );
        assert!(matches!(
            from_input(input, piece(5..9)),
            Ok(Cow::Borrowed("name"))
        ));
        assert_eq!(
            element_name(input, &[0xff]),
            Err(XmlError::Malformed("invalid element name".into()))
        );
    }

    #[test]
    fn open_elements_stay_within_their_bound() {
        let mut open = OpenElements::default();
        assert!(open.is_empty() && open.pop().is_none() && open.below_root().is_empty());
        for name in ["xml", "A", "B", "C"] {
            open.mark_innermost_a_group();
            open.push(Cow::Borrowed(name));
        }
        assert!(open.is_full());
        open.push(Cow::Borrowed("dropped"));
        let names: Vec<_> = open
            .below_root()
            .iter()
            .map(|(n, g)| (n.as_ref(), *g))
            .collect();
        assert_eq!(names, [("A", true), ("B", true), ("C", false)]);
        assert_eq!(open.pop(), Some((Cow::Borrowed("C"), false)));
        assert_eq!(open.pop(), Some((Cow::Borrowed("B"), true)));
        assert_eq!(open.below_root().len(), 1);
        open.pop();
        open.pop();
        assert!(open.is_empty() && open.pop().is_none());
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
