//! The HTTP side: one blocking request at a time to the Worker, with a timeout (WeChat itself
//! gives up after 5 seconds).

use std::time::Duration;

use crate::transport::{Answer, Transport};

pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            base: base.to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(5))
                .build(),
        }
    }
}

impl Transport for Client {
    /// Sends one request to `path` (with its query) under the base URL. Err is a transport
    /// failure (refused, timed out, TLS), with ureq's description.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Answer, String> {
        let mut request = self.agent.request(method, &format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(body) => request.send_string(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => {
                // Its Display repeats the URL with its signed query: the kind and message say it.
                return Err(match transport.message() {
                    Some(message) => format!("{}: {message}", transport.kind()),
                    None => transport.kind().to_string(),
                });
            }
        };
        let status = response.status();
        let body = response
            .into_string()
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok(Answer { status, body })
    }
}
