//! One module per platform kefu-edge talks to.

pub mod caresoft;
pub mod oa;
pub mod orders;
pub mod payfeedback;
pub mod shop;
pub mod wecom;
pub mod zalo;

/// A customer's text as a timeline line. Media and events are written `[type] …`; a text that
/// itself starts with `[` is marked `[text] …`, so that `[image] https://…` typed by a customer is
/// never shown as a media item.
pub fn text_line(content: &str) -> String {
    if content.starts_with('[') {
        format!("[text] {content}")
    } else {
        content.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::text_line;

    #[test]
    fn a_text_that_looks_like_a_media_line_is_marked_as_text() {
        assert_eq!(text_line("hello [image]"), "hello [image]");
        assert_eq!(text_line("[image] https://x"), "[text] [image] https://x");
    }
}
