//! The sign-in page, signing in (a session cookie) and signing out.

use super::conn::Peer;
use super::guard::session_id;
use super::state::AppState;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::net::IpAddr;
use std::sync::Arc;

/// What the sign-in form sends.
#[derive(serde::Deserialize)]
pub(crate) struct SignIn {
    user: String,
    password: String,
}

fn page(status: StatusCode, message: &str) -> Response {
    let note = if message.is_empty() { String::new() } else { format!("<p class=\"signin-error\">{message}</p>") };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>shoplens: sign in</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\">\
         <link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
         <body class=\"signin\"><main class=\"signin-box\"><h1>shoplens</h1>{note}\
         <form method=\"post\" action=\"/signin\">\
         <label>User <input name=\"user\" autocomplete=\"username\" required maxlength=\"64\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\"></label>\
         <button type=\"submit\">Sign in</button></form></main></body></html>\n"
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// `GET /signin`.
pub(crate) async fn form() -> Response {
    page(StatusCode::OK, "")
}

/// At most this many password checks run at once: argon2 is slow and memory-hungry by design.
static VERIFYING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The client's address: the connection's peer, or with `trust_proxy` the last hop of
/// `X-Forwarded-For` (the address the proxy in front of this server saw; earlier hops are the
/// client's own words).
pub(crate) fn client_address(headers: &HeaderMap, peer: Option<IpAddr>, trust_proxy: bool) -> IpAddr {
    let peer = peer.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    if !trust_proxy {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|hop| hop.trim().parse().ok())
        .unwrap_or(peer)
}

/// `POST /signin`: checks the password; a session cookie and the dashboard, or the form again.
pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    let ip = client_address(&headers, peer.map(|p| p.0.0.ip()), state.gate.trust_proxy);
    let user = f.user.trim().to_string();
    // counted as failed before the check: parallel guesses cannot pass the limit
    let attempt = match state.gate.reserve(ip, &user) {
        Ok(attempt) => attempt,
        Err(wait) => {
            tracing::warn!(target: "shoplens::access", %ip, user = %user.escape_default(), "sign-in refused: too many failures");
            let mut r = page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many failed sign-ins; try again in {} seconds.", wait.as_secs().max(1)),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
            return r;
        }
    };
    let Ok(_permit) = VERIFYING.acquire().await else { return page(StatusCode::SERVICE_UNAVAILABLE, "Try again.") };
    let credentials = state.gate.credentials();
    let (name, password, checked) = (user.clone(), f.password, credentials.clone());
    let ok = tokio::task::spawn_blocking(move || checked.verify_password(&name, &password)).await.unwrap_or(false);
    let session = if ok { state.gate.start_session(&user, &credentials) } else { None };
    let Some(id) = session else {
        tracing::warn!(target: "shoplens::access", %ip, user = %user.escape_default(), "sign-in failed");
        return page(StatusCode::UNAUTHORIZED, "Wrong user or password.");
    };
    state.gate.succeeded(attempt);
    tracing::info!(target: "shoplens::access", %ip, user = %user, "signed in");
    let mut r = Redirect::to("/").into_response();
    r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&state.gate.cookie(Some(&id))).expect("ascii"));
    r
}

/// `POST /signout`: ends the session.
pub(crate) async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(id) = session_id(&headers) {
        state.gate.end_session(id);
    }
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&state.gate.cookie(None)).expect("ascii"));
    r
}
