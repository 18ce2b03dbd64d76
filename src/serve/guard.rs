//! The middleware every request passes: size limits on the request line and headers, the `Host`
//! check (against DNS rebinding), the allowed methods, authentication when the gate requires it,
//! security headers on every answer, and one access-log line per request.

use super::access::{COOKIE, Principal};
use super::conn::Peer;
use super::error::ApiError;
use super::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;
use std::time::Instant;

/// The longest request target (path and query) served; longer is a 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes a request may carry; more is a 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Paths anyone may fetch: the sign-in page and what it needs, and the health check.
fn public(path: &str) -> bool {
    matches!(path, "/signin" | "/healthz" | "/assets/style.css")
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The request's session id, if it carries one.
pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
}

/// The middleware.
pub async fn guard(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    let (response, who) = match check(&state, &mut req) {
        Ok(who) => (next.run(req).await, who),
        Err(refusal) => (refusal, None),
    };
    let response = with_security_headers(response);
    let who = match &who {
        Some(Principal::User(u)) => format!("user:{u}"),
        Some(Principal::Token(t)) => format!("token:{t}"),
        _ => "-".into(),
    };
    tracing::info!(
        target: "shoplens::access",
        peer = %peer.map_or_else(|| "-".to_string(), |p| p.to_string()),
        method = %method,
        path = %path.escape_default(),
        status = response.status().as_u16(),
        ms = format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
        who = %who,
    );
    response
}

/// Lets the request through (with who made it), or answers it.
#[allow(clippy::result_large_err)] // the error is the answer itself, built once per refused request
fn check(state: &AppState, req: &mut Request) -> Result<Option<Principal>, Response> {
    let too_long = req.uri().path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI_BYTES;
    if too_long {
        return Err(ApiError(StatusCode::URI_TOO_LONG, format!("the address is longer than {MAX_URI_BYTES} bytes"))
            .into_response());
    }
    if header_bytes(req.headers()) > MAX_HEADER_BYTES {
        return Err(ApiError(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the headers are larger than {MAX_HEADER_BYTES} bytes"),
        )
        .into_response());
    }
    let host = req.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("\u{fffd}"));
    if !state.hosts.allows(host) {
        return Err(ApiError(
            StatusCode::MISDIRECTED_REQUEST,
            format!("this server does not answer to the host '{}'", host.unwrap_or_default().escape_default()),
        )
        .into_response());
    }
    let path = req.uri().path();
    let form = matches!(path, "/signin" | "/signout");
    let allowed = req.method() == Method::GET || req.method() == Method::HEAD || (form && req.method() == Method::POST);
    if !allowed {
        let mut r =
            ApiError(StatusCode::METHOD_NOT_ALLOWED, format!("{} is not allowed here", req.method())).into_response();
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Err(r);
    }
    if req.method() == Method::POST && cross_site(req.headers()) {
        // a form on another site must not sign a browser in (into the attacker's account) or out
        return Err(ApiError(StatusCode::FORBIDDEN, "cross-site requests are refused".into()).into_response());
    }
    if !state.gate.required() {
        return Ok(Some(Principal::Open));
    }
    let who = state.gate.authenticate(bearer(req.headers()), session_id(req.headers()));
    if let Some(who) = &who {
        req.extensions_mut().insert(who.clone());
        return Ok(Some(who.clone()));
    }
    if public(path) || form {
        return Ok(None);
    }
    if path.starts_with("/api/") {
        let mut r = ApiError(
            StatusCode::UNAUTHORIZED,
            "sign in, or send an API token as 'Authorization: Bearer <token>'".into(),
        )
        .into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"shoplens\""));
        return Err(r);
    }
    Err(Redirect::to("/signin").into_response())
}

/// Whether a request comes from another site's page. A browser that sends `Sec-Fetch-Site` is
/// taken at its word (anything but `same-origin`, or `none`: typed by the user, is cross-site);
/// otherwise an `Origin` must be the `Host` the request was sent to (`Origin: null`, which a page
/// can ask for, is refused). A request with neither header (a script, an old browser) is not.
/// Browsers send `Origin: null` on a form posted from a page with `Referrer-Policy: no-referrer`
/// (every page here), hence `Sec-Fetch-Site` first; the sign-in page asks for `same-origin`.
pub fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return false };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::trim);
    let authority = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, a)| a);
    match (authority, host) {
        (Some(a), Some(h)) => !a.eq_ignore_ascii_case(h),
        _ => true,
    }
}

/// CSP (scripts and styles from this server only, no framing), no MIME sniffing, no referrer.
fn with_security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    r
}

#[cfg(test)]
mod tests {
    use super::cross_site;
    use crate::serve::hosts::Hosts;

    #[test]
    fn cross_site_requests_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = axum::http::HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, axum::http::HeaderValue::from_static(v));
            }
            h
        };
        assert!(!cross_site(&headers(&[("host", "localhost:8080")])));
        assert!(!cross_site(&headers(&[("host", "localhost:8080"), ("origin", "http://localhost:8080")])));
        assert!(!cross_site(&headers(&[("host", "Shop.example"), ("origin", "https://shop.example")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin"), ("host", "localhost")])));
        // a browser's own form under Referrer-Policy: no-referrer
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin"), ("origin", "null"), ("host", "localhost")])));
        assert!(cross_site(&headers(&[("host", "localhost:8080"), ("origin", "https://evil.example")])));
        assert!(cross_site(&headers(&[("host", "localhost:8080"), ("origin", "http://localhost:9090")])));
        assert!(cross_site(&headers(&[("host", "localhost"), ("origin", "null")])));
        assert!(cross_site(&headers(&[("host", "localhost"), ("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("host", "localhost"), ("sec-fetch-site", "same-site")])));
    }

    #[test]
    fn hosts_are_matched_without_their_port() {
        let h = Hosts::new("0.0.0.0".parse().unwrap(), &["Shop.Example.com".into()]);
        assert!(h.allows(Some("localhost:8080")));
        assert!(h.allows(Some("shop.example.com")));
        assert!(h.allows(Some("[::1]:80")));
        assert!(h.allows(None));
        assert!(!h.allows(Some("evil.example:8080")));
        assert!(!h.allows(Some("0.0.0.0:8080")));
    }
}
