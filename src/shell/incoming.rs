//! A request as the handlers read it: the runtime's own object, with its method and URL read
//! once. workers-rs's `Request` would also build the `cf` object and parse the path on every
//! request, which costs a WeChat URL check more than its signature check (bench/README.md).

use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{ReadableStreamDefaultReader, ReadableStreamReadResult, Request};

use crate::http::{url_path, url_query};
use crate::inline::Rejection;

fn unreadable(_: JsValue) -> Rejection {
    Rejection::Malformed("unreadable body".into())
}

pub struct Incoming {
    raw: Request,
    pub method: String,
    url: String,
}

impl Incoming {
    pub fn new(raw: Request) -> Self {
        let (method, url) = (raw.method(), raw.url());
        Incoming { raw, method, url }
    }

    pub fn path(&self) -> &str {
        url_path(&self.url)
    }

    pub fn query(&self) -> &str {
        url_query(&self.url)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.raw.headers().get(name).ok().flatten()
    }

    /// The body, refused with 413 as soon as it is known to be longer than `limit`: from its
    /// declared length, or while it streams in (a chunked body declares none), so that an
    /// oversized body is never held whole. A body of declared length is read in one call: the
    /// runtime holds it to that length, and a chunk-by-chunk read costs a promise per chunk.
    pub async fn body(&self, limit: usize) -> Result<Vec<u8>, Rejection> {
        match self
            .header("content-length")
            .map(|len| len.parse::<usize>())
        {
            Some(Ok(declared)) if declared > limit => Err(Rejection::TooLarge),
            Some(Ok(_)) => self.whole_body(limit).await,
            _ => self.streamed_body(limit).await,
        }
    }

    async fn whole_body(&self, limit: usize) -> Result<Vec<u8>, Rejection> {
        let read = self.raw.array_buffer().map_err(unreadable)?;
        let bytes = Uint8Array::new(&JsFuture::from(read).await.map_err(unreadable)?);
        if bytes.length() as usize > limit {
            return Err(Rejection::TooLarge);
        }
        Ok(bytes.to_vec())
    }

    async fn streamed_body(&self, limit: usize) -> Result<Vec<u8>, Rejection> {
        let Some(stream) = self.raw.body() else {
            return Ok(Vec::new());
        };
        let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        let mut body = Vec::new();
        loop {
            let chunk: ReadableStreamReadResult = JsFuture::from(reader.read())
                .await
                .map_err(unreadable)?
                .unchecked_into();
            if chunk.get_done() == Some(true) {
                return Ok(body);
            }
            let bytes: Uint8Array = chunk.get_value().dyn_into().map_err(unreadable)?;
            let len = bytes.length() as usize;
            if body.len() + len > limit {
                // Stops the upload; the refusal does not wait for the runtime to confirm it.
                let _ = reader.cancel();
                return Err(Rejection::TooLarge);
            }
            let start = body.len();
            body.resize(start + len, 0);
            bytes.copy_to(&mut body[start..]);
        }
    }

    /// The body as text, within `limit` bytes; invalid UTF-8 is refused.
    pub async fn text(&self, limit: usize) -> Result<String, Rejection> {
        String::from_utf8(self.body(limit).await?)
            .map_err(|_| Rejection::Malformed("body is not UTF-8".into()))
    }
}
