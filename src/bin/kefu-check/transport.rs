//! What a check sends through and gets back, apart from how it travels (`client`: HTTP with
//! ureq), so the checks stay free of the HTTP library.

/// What the Worker answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Where requests go.
pub trait Transport {
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Answer, String>;
}
