//! What an inline route answers: a reply to send, or a rejection with a status and a short reason.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn text(body: impl Into<String>) -> Self {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    pub fn xml(body: String) -> Self {
        Reply {
            status: 200,
            content_type: "application/xml; charset=utf-8",
            body,
        }
    }

    pub fn json(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: "application/json; charset=utf-8",
            body,
        }
    }

    /// The reply every WeChat push accepts as "received, nothing to say".
    pub fn success() -> Self {
        Reply::text("success")
    }
}

/// A callback that was accepted: the platform's push (to enqueue before replying) and the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted<P> {
    pub push: P,
    pub reply: Reply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

impl Rejection {
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Rejection {
            status: 400,
            reason: reason.into(),
        }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Rejection {
            status: 403,
            reason: reason.into(),
        }
    }

    pub fn too_large() -> Self {
        Rejection {
            status: 413,
            reason: format!("body exceeds {} bytes", crate::xml::MAX_BODY_BYTES),
        }
    }

    pub fn missing_setting(name: &str) -> Self {
        Rejection {
            status: 500,
            reason: format!("missing setting {name}"),
        }
    }

    /// A dependency (queue, storage) failed: the sender should retry.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Rejection {
            status: 503,
            reason: reason.into(),
        }
    }

    pub fn to_reply(&self) -> Reply {
        Reply::json(
            self.status,
            serde_json::json!({ "error": self.reason }).to_string(),
        )
    }
}
