//! Sending: e-mail over SMTP (`lettre`: STARTTLS, implicit TLS or, to loopback only, plain,
//! with authentication) and webhooks over HTTPS (`reqwest`), the JSON body signed with
//! HMAC-SHA256. Each message carries its delivery's id (`Message-ID`, `X-Shoplens-Delivery`),
//! the same on every attempt. Secrets are read when used and never appear in an error.

use super::render::{self, Message};
use crate::schedule::config::{Security, Smtp, Webhook, WebhookFormat};
use hmac::{Hmac, Mac};
use lettre::message::{MultiPart, SinglePart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A delivery id as a token fit for a header: the SHA-256 of the id, hex, shortened.
pub fn token(id: &str) -> String {
    let hash = Sha256::digest(id.as_bytes());
    hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Sends `message` by e-mail to `to` through `smtp`, as delivery `id`.
///
/// # Errors
/// The message cannot be built, the password cannot be read, or the server refuses or cannot be
/// reached (the reason, without the password).
pub async fn mail(smtp: &Smtp, to: &str, message: &Message, id: &str) -> Result<(), String> {
    let host = smtp.host.as_str();
    let builder = match smtp.security {
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        Security::None => {
            let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
            if !loopback {
                return Err(format!("smtp: security = \"none\" is for a server on loopback only, not {host}"));
            }
            Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host))
        }
    }
    .map_err(|e| format!("smtp {host}: {e}"))?;
    let mut builder = builder.port(smtp.port).timeout(Some(TIMEOUT));
    if let Some(user) = &smtp.username {
        let password = match &smtp.password {
            Some(p) => p.value().map_err(|e| format!("smtp password: {e}"))?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let transport = builder.build();
    let email = lettre::Message::builder()
        .from(smtp.from.parse().map_err(|e| format!("smtp from: {e}"))?)
        .to(to.parse().map_err(|e| format!("{to}: {e}"))?)
        .subject(message.subject.clone())
        .message_id(Some(format!("<{}@shoplens>", token(id))))
        .header(DeliveryHeader(token(id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(header::ContentType::TEXT_PLAIN).body(message.text.clone()))
                .singlepart(SinglePart::builder().header(header::ContentType::TEXT_HTML).body(message.html.clone())),
        )
        .map_err(|e| format!("the e-mail cannot be built: {e}"))?;
    transport.send(email).await.map_err(|e| format!("smtp {host}:{}: {e}", smtp.port))?;
    Ok(())
}

/// `X-Shoplens-Delivery`: the delivery's id, the same on every attempt.
#[derive(Clone)]
struct DeliveryHeader(String);

impl header::Header for DeliveryHeader {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("X-Shoplens-Delivery")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(DeliveryHeader(s.to_string()))
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The body `hook` receives for `message`, and the signature header's value for a JSON hook.
///
/// # Errors
/// The signing key cannot be read.
pub fn webhook_body(hook: &Webhook, message: &Message) -> Result<(Vec<u8>, Option<String>), String> {
    let body = match hook.format {
        WebhookFormat::Slack => render::slack(message),
        WebhookFormat::Teams => render::teams(message),
        WebhookFormat::Json => message.json.clone(),
    };
    let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
    let signature = match &hook.secret {
        Some(key) => {
            let key = key.value().map_err(|e| format!("webhook {}: secret: {e}", hook.name))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
            mac.update(&bytes);
            let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
            Some(format!("sha256={sig}"))
        }
        None => None,
    };
    Ok((bytes, signature))
}

/// Posts `message` to `hook`, as delivery `id`.
///
/// # Errors
/// The URL or key cannot be read, or the receiver cannot be reached or does not answer 2xx
/// (the error names the webhook, never its URL).
pub async fn webhook(hook: &Webhook, message: &Message, id: &str) -> Result<(), String> {
    let url = hook.url.value().map_err(|e| format!("webhook {}: url: {e}", hook.name))?;
    let (body, signature) = webhook_body(hook, message)?;
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("webhook {}: {e}", hook.name))?;
    let mut request = client
        .post(&url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("shoplens/", env!("CARGO_PKG_VERSION")))
        .header("x-shoplens-delivery", token(id));
    if let Some(sig) = signature {
        request = request.header("x-shoplens-signature", sig);
    }
    let response =
        request.body(body).send().await.map_err(|e| format!("webhook {}: {}", hook.name, without_url(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("webhook {}: the receiver answered {status}", hook.name));
    }
    Ok(())
}

/// A request error's words without the URL (a webhook URL is a credential).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_builder() {
        "not a usable URL"
    } else {
        "the request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut why = String::new();
    while let Some(s) = source {
        why = s.to_string();
        source = s.source();
    }
    if why.is_empty() { kind.to_string() } else { format!("{kind}: {why}") }
}
