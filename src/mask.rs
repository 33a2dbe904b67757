//! Masking of personal data (OpenIDs, phone numbers) before anything reaches a log.

/// Keeps the first and last few characters: enough to correlate log lines, not to identify.
/// Built from slices of `id`, not with `format!`: every logged push masks its sender.
pub fn mask(id: &str) -> String {
    let chars = id.chars().count();
    if chars <= 6 {
        return "*".repeat(chars);
    }
    let head_end = id.char_indices().nth(3).map_or(0, |(at, _)| at);
    let tail_start = id.char_indices().nth_back(2).map_or(0, |(at, _)| at);
    [
        id.get(..head_end).unwrap_or_default(),
        "***",
        id.get(tail_start..).unwrap_or_default(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_middle() {
        assert_eq!(mask("oABCDEFGHIJKLMNOP"), "oAB***NOP");
        assert_eq!(mask("0912345678"), "091***678");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("越南语用户标识符"), "越南语***标识符");
        // Seven characters: one is hidden; six or fewer: all are.
        assert_eq!(mask("abcdefg"), "abc***efg");
        assert_eq!(mask("越南语用户标识"), "越南语***户标识");
        assert_eq!(mask("abcdef"), "******");
        assert_eq!(mask(""), "");
    }
}
