//! Which handler answers a request, from its method and path. Routes that need no I/O are
//! answered at once, without the promise an asynchronous handler costs every request.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Immediate(Immediate),
    Deferred(Deferred),
}

/// Answered synchronously from the request and the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Immediate {
    Health,
    /// WeChat's URL check (`echostr`) of `/wechat/oa` and `/wechat/shop`.
    VerifyOa,
    VerifyShop,
    NotFound,
}

/// Answered after reading the body or calling a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferred {
    OaPush,
    ShopPush,
    PayFeedback,
    Orders,
    /// Zalo OA's webhook.
    ZaloOa,
    Admin,
    /// `GET /api/tickets/{id}/media/{entry}`: a customer's media, streamed (`crate::media`).
    Media,
}

pub fn route(method: &str, path: &str) -> Route {
    use Deferred::*;
    use Immediate::*;
    match (method, path) {
        ("GET", "/healthz") => Route::Immediate(Health),
        ("GET", "/wechat/oa") => Route::Immediate(VerifyOa),
        ("GET", "/wechat/shop") => Route::Immediate(VerifyShop),
        ("POST", "/wechat/oa") => Route::Deferred(OaPush),
        ("POST", "/wechat/shop") => Route::Deferred(ShopPush),
        ("POST", "/wechat/payfeedback") => Route::Deferred(PayFeedback),
        ("POST", "/hooks/orders") => Route::Deferred(Orders),
        ("POST", "/zalo/oa") => Route::Deferred(ZaloOa),
        ("GET", p) if crate::media::media_path(p).is_some() => Route::Deferred(Media),
        (_, p) if p == "/api" || p.starts_with("/api/") => Route::Deferred(Admin),
        _ => Route::Immediate(NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_its_methods() {
        let cases = [
            ("GET", "/healthz", Route::Immediate(Immediate::Health)),
            ("GET", "/wechat/oa", Route::Immediate(Immediate::VerifyOa)),
            (
                "GET",
                "/wechat/shop",
                Route::Immediate(Immediate::VerifyShop),
            ),
            ("POST", "/wechat/oa", Route::Deferred(Deferred::OaPush)),
            ("POST", "/wechat/shop", Route::Deferred(Deferred::ShopPush)),
            (
                "POST",
                "/wechat/payfeedback",
                Route::Deferred(Deferred::PayFeedback),
            ),
            ("POST", "/hooks/orders", Route::Deferred(Deferred::Orders)),
            ("POST", "/zalo/oa", Route::Deferred(Deferred::ZaloOa)),
            ("GET", "/api", Route::Deferred(Deferred::Admin)),
            ("PUT", "/api/rules", Route::Deferred(Deferred::Admin)),
            ("DELETE", "/api/tickets/1", Route::Deferred(Deferred::Admin)),
            (
                "GET",
                "/api/tickets/1/media/7",
                Route::Deferred(Deferred::Media),
            ),
            (
                "POST",
                "/api/tickets/1/media/7",
                Route::Deferred(Deferred::Admin),
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn anything_else_is_not_found() {
        for (method, path) in [
            ("POST", "/healthz"),
            ("GET", "/wechat/payfeedback"),
            ("GET", "/hooks/orders"),
            ("GET", "/zalo/oa"),
            ("PUT", "/wechat/oa"),
            ("GET", "/apix"),
            ("GET", "/"),
            ("GET", "/wechat/oa/"),
        ] {
            assert_eq!(
                route(method, path),
                Route::Immediate(Immediate::NotFound),
                "{method} {path}"
            );
        }
    }
}
