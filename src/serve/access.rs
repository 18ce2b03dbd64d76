//! Who may use a served dashboard: users (name and argon2 password hash) and API tokens (SHA-256 of
//! a random secret), kept in the warehouse folder's `access.json`; the sessions of signed-in users;
//! and the limit on failed sign-ins.
//!
//! The file is the core of `shoplens users` and `shoplens tokens`; the server re-reads it when it
//! changes, so a user added or a token revoked takes effect without a restart.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// The file's name in the warehouse folder.
pub const ACCESS_FILE: &str = "access.json";
/// How long a sign-in lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins allowed per client address (and per user name) in [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The window failed sign-ins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The session cookie's name.
pub const COOKIE: &str = "shoplens_session";

/// Problems reading or changing the access file.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The file cannot be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A name is not acceptable, already taken, or unknown.
    #[error("{0}")]
    Name(String),
    /// The password is not acceptable.
    #[error("{0}")]
    Password(String),
}

/// A user who can sign in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Argon2id PHC string of the password.
    pub password: String,
    /// When the user was added (RFC 3339).
    pub created_at: String,
}

/// An API token (sent as `Authorization: Bearer …`); only its hash is kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
}

/// The users and tokens of a warehouse.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// Users by name.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    /// Tokens by name.
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(AccessError::Name(format!(
            "'{}' is not a valid name: 1 to 64 letters, digits, '.', '_', '-' or '@'",
            name.escape_default()
        )))
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Credentials {
    /// The access file of the warehouse at `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(ACCESS_FILE)
    }

    /// Reads the warehouse's users and tokens; none when there is no file.
    ///
    /// # Errors
    /// The file exists but cannot be read or parsed.
    pub fn load(root: &Path) -> Result<Credentials, AccessError> {
        let path = Self::path(root);
        let err = |message: String| AccessError::File { path: path.clone(), message };
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the file atomically, readable by its owner only.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, root: &Path) -> Result<(), AccessError> {
        let path = Self::path(root);
        let err = |e: std::io::Error| AccessError::File { path: path.clone(), message: e.to_string() };
        let tmp = root.join(format!("{ACCESS_FILE}.tmp"));
        {
            use std::io::Write;
            let mut options = std::fs::File::options();
            options.create(true).write(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp).map_err(err)?;
            f.write_all(serde_json::to_string_pretty(self).expect("credentials serialize").as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// Whether anyone could sign in or call the API.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Adds a user, or sets a new password for an existing one when `replace`.
    ///
    /// # Errors
    /// A bad name or short password, or the user exists and `replace` is false.
    pub fn add_user(&mut self, name: &str, password: &str, replace: bool) -> Result<(), AccessError> {
        check_name(name)?;
        if password.chars().count() < MIN_PASSWORD {
            return Err(AccessError::Password(format!("a password needs at least {MIN_PASSWORD} characters")));
        }
        if !replace && self.users.contains_key(name) {
            return Err(AccessError::Name(format!(
                "user '{name}' exists already (use --replace to set a new password)"
            )));
        }
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| AccessError::Password(format!("cannot hash the password: {e}")))?
            .to_string();
        self.users.insert(name.to_string(), User { password: hash, created_at: now_rfc3339() });
        Ok(())
    }

    /// Removes a user.
    ///
    /// # Errors
    /// No such user.
    pub fn remove_user(&mut self, name: &str) -> Result<(), AccessError> {
        self.users.remove(name).map(|_| ()).ok_or_else(|| AccessError::Name(format!("no user '{name}'")))
    }

    /// Issues a token named `name` and returns its secret, which is not stored and cannot be shown
    /// again.
    ///
    /// # Errors
    /// A bad name, or a token of that name exists.
    pub fn add_token(&mut self, name: &str) -> Result<String, AccessError> {
        check_name(name)?;
        if self.tokens.contains_key(name) {
            return Err(AccessError::Name(format!("token '{name}' exists already; revoke it first")));
        }
        let secret = format!("slk_{}", random_id());
        self.tokens.insert(name.to_string(), Token { sha256: sha256_hex(&secret), created_at: now_rfc3339() });
        Ok(secret)
    }

    /// Revokes a token.
    ///
    /// # Errors
    /// No such token.
    pub fn revoke_token(&mut self, name: &str) -> Result<(), AccessError> {
        self.tokens.remove(name).map(|_| ()).ok_or_else(|| AccessError::Name(format!("no token '{name}'")))
    }

    /// Whether `password` is `name`'s (slow by design: argon2).
    pub fn verify_password(&self, name: &str, password: &str) -> bool {
        // an unknown user costs the same as a known one, so timing does not tell names apart
        const DUMMY: &str =
            "$argon2id$v=19$m=19456,t=2,p=1$c2hvcGxlbnNkdW1teXNhbHQ$9sK9ZlHj9XFv4c0wq8rM4kJ3D3mQyq8uKj3vYVv1G7Y";
        let (hash, known) = match self.users.get(name) {
            Some(u) => (u.password.as_str(), true),
            None => (DUMMY, false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known
    }

    /// The name of the token `secret` is, if any.
    pub fn token_name(&self, secret: &str) -> Option<&str> {
        let hash = sha256_hex(secret);
        self.tokens.iter().find(|(_, t)| constant_eq(t.sha256.as_bytes(), hash.as_bytes())).map(|(n, _)| n.as_str())
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes from the thread's CSPRNG, base64url.
fn random_id() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Who made a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in user.
    User(String),
    /// An API token, by name.
    Token(String),
    /// Nobody: access control is off (loopback without users).
    Open,
}

/// The server's access control: the credentials (re-read when the file changes), the sessions,
/// and the failed sign-ins.
pub struct Gate {
    root: PathBuf,
    /// Whether requests must be authenticated.
    pub required: bool,
    /// Whether the session cookie gets `Secure` (served over TLS, or behind a TLS proxy).
    pub secure_cookie: bool,
    credentials: Mutex<(Option<SystemTime>, Credentials)>,
    sessions: Mutex<HashMap<String, (String, Instant)>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// The most sessions kept; the oldest are dropped first beyond it.
const MAX_SESSIONS: usize = 10_000;

impl Gate {
    /// The gate of the warehouse at `root`.
    ///
    /// # Errors
    /// The access file is unreadable.
    pub fn open(root: &Path, required: bool, secure_cookie: bool) -> Result<Gate, AccessError> {
        let stamp = stamp(root);
        let credentials = Credentials::load(root)?;
        Ok(Gate {
            root: root.to_path_buf(),
            required: required || !credentials.is_empty(),
            secure_cookie,
            credentials: Mutex::new((stamp, credentials)),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// A gate nobody passes (the access file could not be read): fail closed.
    pub fn closed(root: &Path) -> Gate {
        Gate {
            root: root.to_path_buf(),
            required: true,
            secure_cookie: false,
            credentials: Mutex::new((None, Credentials::default())),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The credentials, re-read if the file changed (a damaged file keeps the last good ones).
    pub fn credentials(&self) -> Credentials {
        let mut cur = self.credentials.lock().expect("credentials lock");
        let now = stamp(&self.root);
        if now != cur.0 {
            match Credentials::load(&self.root) {
                Ok(c) => *cur = (now, c),
                Err(e) => tracing::error!(error = %e, "cannot re-read the access file; keeping the last one"),
            }
        }
        cur.1.clone()
    }

    /// Who the request's bearer token or session cookie belongs to; `None` when neither is valid.
    pub fn authenticate(&self, bearer: Option<&str>, session: Option<&str>) -> Option<Principal> {
        if let Some(secret) = bearer {
            return self.credentials().token_name(secret).map(|n| Principal::Token(n.to_string()));
        }
        let id = session?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get(id) {
            Some((user, expires)) if *expires > Instant::now() => {
                let user = user.clone();
                drop(sessions);
                // a removed user's sessions end at once
                self.credentials().users.contains_key(&user).then_some(Principal::User(user))
            }
            Some(_) => {
                sessions.remove(id);
                None
            }
            None => None,
        }
    }

    /// Whether a sign-in from `ip` for `user` is refused for now, and for how long.
    pub fn blocked(&self, ip: IpAddr, user: &str) -> Option<Duration> {
        let failures = self.failures.lock().expect("failures lock");
        [format!("ip {ip}"), format!("user {user}")]
            .iter()
            .filter_map(|k| failures.get(k))
            .filter(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
            .map(|(_, since)| FAILURE_WINDOW - since.elapsed())
            .max()
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, ip: IpAddr, user: &str) {
        let mut failures = self.failures.lock().expect("failures lock");
        if failures.len() > MAX_SESSIONS {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        for key in [format!("ip {ip}"), format!("user {user}")] {
            let e = failures.entry(key).or_insert((0, Instant::now()));
            if e.1.elapsed() >= FAILURE_WINDOW {
                *e = (0, Instant::now());
            }
            e.0 += 1;
        }
    }

    /// Starts a session for `user`; returns its id (the cookie's value).
    pub fn start_session(&self, user: &str) -> String {
        let id = random_id();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        if sessions.len() >= MAX_SESSIONS {
            let now = Instant::now();
            sessions.retain(|_, (_, expires)| *expires > now);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions.iter().min_by_key(|(_, (_, e))| *e).map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), (user.to_string(), Instant::now() + SESSION_LIFETIME));
        id
    }

    /// Ends a session.
    pub fn end_session(&self, id: &str) {
        self.sessions.lock().expect("sessions lock").remove(id);
    }

    /// The `Set-Cookie` value for session `id` (`None`: clear the cookie).
    pub fn cookie(&self, id: Option<&str>) -> String {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        match id {
            Some(id) => format!(
                "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                SESSION_LIFETIME.as_secs()
            ),
            None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        }
    }
}

fn stamp(root: &Path) -> Option<SystemTime> {
    std::fs::metadata(Credentials::path(root)).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens_verify_and_only_hashes_are_kept() {
        let mut c = Credentials::default();
        c.add_user("ana", "correct horse battery", false).unwrap();
        assert!(c.add_user("ana", "another password", false).is_err());
        assert!(c.add_user("bad name", "correct horse battery", false).is_err());
        assert!(c.add_user("bo", "short", false).is_err());
        assert!(c.verify_password("ana", "correct horse battery"));
        assert!(!c.verify_password("ana", "correct horse batterY"));
        assert!(!c.verify_password("nobody", "correct horse battery"));
        let secret = c.add_token("ci").unwrap();
        assert_eq!(c.token_name(&secret), Some("ci"));
        assert_eq!(c.token_name("slk_guess"), None);
        let text = serde_json::to_string(&c).unwrap();
        assert!(!text.contains("correct horse") && !text.contains(&secret), "{text}");
        c.revoke_token("ci").unwrap();
        assert_eq!(c.token_name(&secret), None);
    }

    #[test]
    fn failed_sign_ins_are_limited_per_address_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate::open(dir.path(), true, false).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(gate.blocked(ip, "ana").is_none());
            gate.failed(ip, "ana");
        }
        assert!(gate.blocked(ip, "ana").is_some());
        assert!(gate.blocked("10.0.0.1".parse().unwrap(), "ana").is_some(), "per user too");
        assert!(gate.blocked("10.0.0.1".parse().unwrap(), "bo").is_none());
    }
}
