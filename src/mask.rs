//! Masking of personal data (OpenIDs, phone numbers) before anything reaches a log.

/// Keeps the first and last few characters: enough to correlate log lines, not to identify.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}***{tail}")
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
    }
}
