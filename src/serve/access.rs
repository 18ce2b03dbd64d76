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
/// Failed sign-ins allowed for a user name from one client address before each further attempt
/// waits (the same name from another address is not affected).
pub const MAX_FAILURES: u32 = 5;
/// Failed sign-ins allowed from one client address whatever the names (guesses spread over many
/// names, or names that do not exist), before each further attempt from it waits.
pub const MAX_ADDRESS_FAILURES: u32 = 20;
/// The wait after the first failure over a limit; it doubles with each further one.
pub const FIRST_DELAY: Duration = Duration::from_secs(30);
/// The longest wait.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// How long failures are remembered after the last one.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(60 * 60);
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
    /// The password's SCRAM-SHA-256 key, for sign-in over the PostgreSQL protocol; absent for a
    /// user whose password was set before that existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scram: Option<ScramKey>,
}

/// An API token (sent as `Authorization: Bearer …`, or as a password over the PostgreSQL
/// protocol); only its hash is kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// The token's SCRAM-SHA-256 key (see [`User::scram`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scram: Option<ScramKey>,
}

/// What a SCRAM-SHA-256 server keeps of a secret (RFC 5802), as PostgreSQL keeps it: a random
/// salt, `StoredKey = H(HMAC(SaltedPassword, "Client Key"))` and
/// `ServerKey = HMAC(SaltedPassword, "Server Key")`, all base64, where
/// `SaltedPassword = PBKDF2-HMAC-SHA-256(secret, salt, SCRAM_ITERATIONS)`. The keys let the
/// server check a client's proof and prove itself, but not sign in: a proof needs `ClientKey`,
/// which `StoredKey` is a hash of. (The salted password, which earlier versions kept, is a
/// password equivalent; a file that has it is converted when read, see [`ScramKey::upgrade`].)
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScramKey {
    /// The salt, base64.
    pub salt: String,
    /// StoredKey, base64.
    #[serde(default)]
    pub stored_key: String,
    /// ServerKey, base64.
    #[serde(default)]
    pub server_key: String,
    /// The salted password of a file written before the keys were kept: read, converted to the
    /// keys, never written again.
    #[serde(default, skip_serializing)]
    pub salted: Option<String>,
}

/// PBKDF2 rounds of a [`ScramKey`]: the wire protocol's default, which clients are told.
pub const SCRAM_ITERATIONS: usize = 4096;

impl ScramKey {
    /// The key of `secret` with a fresh random salt.
    pub fn new(secret: &str) -> ScramKey {
        use base64::engine::general_purpose::STANDARD;
        let salt: [u8; 16] = rand::rng().random();
        let salted =
            datafusion_postgres::pgwire::api::auth::sasl::scram::gen_salted_password(secret, &salt, SCRAM_ITERATIONS);
        let (stored, server) = datafusion_postgres::pgwire::api::auth::sasl::scram::server_keys(&salted);
        ScramKey {
            salt: STANDARD.encode(salt),
            stored_key: STANDARD.encode(stored),
            server_key: STANDARD.encode(server),
            salted: None,
        }
    }

    /// Converts a key read with only a salted password to the two keys (which is all the
    /// conversion needs: no password); whether it changed.
    pub fn upgrade(&mut self) -> bool {
        use base64::engine::general_purpose::STANDARD;
        let Some(salted) = self.salted.take() else { return false };
        if self.stored_key.is_empty() || self.server_key.is_empty() {
            let Ok(bytes) = STANDARD.decode(&salted) else { return true };
            let (stored, server) = datafusion_postgres::pgwire::api::auth::sasl::scram::server_keys(&bytes);
            self.stored_key = STANDARD.encode(stored);
            self.server_key = STANDARD.encode(server);
        }
        true
    }

    /// The salt, and StoredKey followed by ServerKey, as bytes: what the wire server proves a
    /// client against (`None` if the file's text is damaged or the keys are missing).
    pub fn bytes(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        use base64::engine::general_purpose::STANDARD;
        let mut keys = STANDARD.decode(&self.stored_key).ok()?;
        let server = STANDARD.decode(&self.server_key).ok()?;
        if keys.len() != 32 || server.len() != 32 {
            return None;
        }
        keys.extend_from_slice(&server);
        Some((STANDARD.decode(&self.salt).ok()?, keys))
    }
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
            Ok(text) => {
                let mut c: Credentials = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
                // a file with salted passwords is rewritten with the keys alone at once
                let mut changed = false;
                for key in c.users.values_mut().filter_map(|u| u.scram.as_mut()) {
                    changed |= key.upgrade();
                }
                for key in c.tokens.values_mut().filter_map(|t| t.scram.as_mut()) {
                    changed |= key.upgrade();
                }
                if changed && let Err(e) = c.save(root) {
                    tracing::warn!(error = %e, "the access file's SCRAM keys could not be rewritten without the salted passwords");
                }
                Ok(c)
            }
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
            // a fresh file, never a planted symlink's target: it holds the password hashes
            let mut f = crate::warehouse::tmpfile::create(&tmp, 0o600).map_err(err)?;
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
        let scram = Some(ScramKey::new(password));
        self.users.insert(name.to_string(), User { password: hash, created_at: now_rfc3339(), scram });
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
        let token =
            Token { sha256: sha256_hex(&secret), created_at: now_rfc3339(), scram: Some(ScramKey::new(&secret)) };
        self.tokens.insert(name.to_string(), token);
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

    /// The SCRAM key a client signing in over the PostgreSQL protocol as `name` must prove: the
    /// user's of that name, else the token's (a token's name is its user name there). `None`:
    /// no such user or token, or one whose secret was set before the keys existed.
    pub fn scram_key(&self, name: &str) -> Option<&ScramKey> {
        match self.users.get(name) {
            Some(user) => user.scram.as_ref(),
            None => self.tokens.get(name)?.scram.as_ref(),
        }
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
    /// Whether requests must be authenticated even while the warehouse has no users or tokens
    /// (a public address, or a damaged access file).
    forced: bool,
    /// Whether the session cookie gets `Secure` (served over TLS, or behind a TLS proxy).
    pub secure_cookie: bool,
    /// Whether the client's address is the last hop of `X-Forwarded-For` (behind a reverse proxy
    /// that sets it) rather than the connection's peer.
    pub trust_proxy: bool,
    credentials: Mutex<(Option<Stamp>, Credentials)>,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<FailureKey, Failures>>,
}

/// A signed-in user's session: bound to the password it was opened with, so a new password, a
/// removal (and a later re-adding of the name) ends it.
struct Session {
    user: String,
    binding: String,
    expires: Instant,
}

/// Who failed signing in: a user name from an address, or an address whatever the names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FailureKey {
    UserFrom(IpAddr, String),
    Address(IpAddr),
}

impl FailureKey {
    fn limit(&self) -> u32 {
        match self {
            FailureKey::UserFrom(..) => MAX_FAILURES,
            FailureKey::Address(_) => MAX_ADDRESS_FAILURES,
        }
    }
}

/// Failed sign-ins of a key: how many, and when the last one was counted.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// How long a key with these failures must still wait, over `limit`: [`FIRST_DELAY`],
    /// doubled with each further failure, at most [`MAX_DELAY`].
    fn wait(&self, limit: u32) -> Option<Duration> {
        let over = self.count.checked_sub(limit)?;
        let delay = FIRST_DELAY.saturating_mul(1 << over.min(16)).min(MAX_DELAY);
        delay.checked_sub(self.last.elapsed()).filter(|w| !w.is_zero())
    }
}

/// A sign-in whose failure is already counted: [`Gate::succeeded`] takes it back.
#[derive(Debug)]
#[must_use = "a successful sign-in must be passed to Gate::succeeded"]
pub struct Attempt {
    ip: IpAddr,
    user: String,
}

/// The most sessions kept; the oldest are dropped first beyond it.
const MAX_SESSIONS: usize = 10_000;

/// What the access file's metadata says of its content: a save renames a new file over it.
type Stamp = (SystemTime, u64, u64);

fn binding(user: &User) -> String {
    // the PHC string holds a fresh random salt for every password set, so the binding changes
    // with a new password and with a removed and re-added name
    sha256_hex(&user.password)
}

impl Gate {
    /// The gate of the warehouse at `root`; `required`: even while it has no users or tokens.
    ///
    /// # Errors
    /// The access file is unreadable.
    pub fn open(root: &Path, required: bool, secure_cookie: bool) -> Result<Gate, AccessError> {
        let stamp = stamp(root);
        let credentials = Credentials::load(root)?;
        Ok(Gate {
            root: root.to_path_buf(),
            forced: required,
            secure_cookie,
            trust_proxy: false,
            credentials: Mutex::new((stamp, credentials)),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// A gate nobody passes (the access file could not be read): fail closed.
    pub fn closed(root: &Path) -> Gate {
        Gate {
            root: root.to_path_buf(),
            forced: true,
            secure_cookie: false,
            trust_proxy: false,
            credentials: Mutex::new((None, Credentials::default())),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether requests must be authenticated now: always on a public address, and as soon as
    /// the warehouse has a user or a token (a `users add` on a warehouse served open closes it at
    /// once).
    pub fn required(&self) -> bool {
        self.forced || self.with_credentials(|c| !c.is_empty())
    }

    /// Runs `f` on the credentials, re-read first if the file changed (a damaged file keeps the
    /// last good ones).
    fn with_credentials<R>(&self, f: impl FnOnce(&Credentials) -> R) -> R {
        let mut cur = self.credentials.lock().expect("credentials lock");
        let now = stamp(&self.root);
        if now != cur.0 {
            match Credentials::load(&self.root) {
                Ok(c) => *cur = (now, c),
                Err(e) => tracing::error!(error = %e, "cannot re-read the access file; keeping the last one"),
            }
        }
        f(&cur.1)
    }

    /// The credentials, re-read if the file changed (a damaged file keeps the last good ones).
    pub fn credentials(&self) -> Credentials {
        self.with_credentials(Credentials::clone)
    }

    /// Who the request's bearer token or session cookie belongs to; `None` when neither is valid.
    pub fn authenticate(&self, bearer: Option<&str>, session: Option<&str>) -> Option<Principal> {
        if let Some(secret) = bearer {
            return self.with_credentials(|c| c.token_name(secret).map(|n| Principal::Token(n.to_string())));
        }
        let id = session?;
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let s = sessions.get(id)?;
        if s.expires <= Instant::now() {
            sessions.remove(id);
            return None;
        }
        let (user, bound) = (s.user.clone(), s.binding.clone());
        drop(sessions);
        // a removed user's sessions end at once, and so do those opened with an older password
        let valid = self.with_credentials(|c| c.users.get(&user).is_some_and(|u| binding(u) == bound));
        if !valid {
            self.end_session(id);
        }
        valid.then_some(Principal::User(user))
    }

    /// Counts a sign-in from `ip` for `user` as failed before its password is checked, so that
    /// parallel guesses cannot pass the limit; [`Gate::succeeded`] takes it back. Refused, with
    /// the time left to wait, while the name from this address, or this address, is over its
    /// limit.
    ///
    /// # Errors
    /// The time to wait.
    pub fn reserve(&self, ip: IpAddr, user: &str) -> Result<Attempt, Duration> {
        // a name is at most 64 bytes (check_name): a longer one cannot grow the table
        let user: String = user.chars().take(64).collect();
        let keys = [FailureKey::UserFrom(ip, user.clone()), FailureKey::Address(ip)];
        let mut failures = self.failures.lock().expect("failures lock");
        if failures.len() > MAX_SESSIONS {
            failures.retain(|_, f| f.last.elapsed() < FAILURE_MEMORY);
        }
        let wait = keys
            .iter()
            .filter_map(|k| failures.get(k).filter(|f| f.last.elapsed() < FAILURE_MEMORY)?.wait(k.limit()))
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        let now = Instant::now();
        for key in keys {
            let f = failures.entry(key).or_insert(Failures { count: 0, last: now });
            if f.last.elapsed() >= FAILURE_MEMORY {
                f.count = 0;
            }
            *f = Failures { count: f.count + 1, last: now };
        }
        Ok(Attempt { ip, user })
    }

    /// The password was right: the name's failures from that address are forgotten, and the
    /// address's count loses the one reserved.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut failures = self.failures.lock().expect("failures lock");
        failures.remove(&FailureKey::UserFrom(attempt.ip, attempt.user));
        if let Some(f) = failures.get_mut(&FailureKey::Address(attempt.ip)) {
            f.count = f.count.saturating_sub(1);
        }
    }

    /// Starts a session for `user`, bound to their password in `credentials`; returns its id
    /// (the cookie's value), or `None` when `credentials` has no such user.
    pub fn start_session(&self, user: &str, credentials: &Credentials) -> Option<String> {
        let binding = binding(credentials.users.get(user)?);
        let id = random_id();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        if sessions.len() >= MAX_SESSIONS {
            let now = Instant::now();
            sessions.retain(|_, s| s.expires > now);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            id.clone(),
            Session { user: user.to_string(), binding, expires: Instant::now() + SESSION_LIFETIME },
        );
        Some(id)
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

fn stamp(root: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(Credentials::path(root)).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some((m.modified().ok()?, inode, m.len()))
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
    fn failed_sign_ins_are_limited_per_user_and_address_and_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Gate::open(dir.path(), true, false).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            let _failed = gate.reserve(ip, "ana").unwrap();
        }
        let wait = gate.reserve(ip, "ana").unwrap_err();
        assert!(wait <= FIRST_DELAY && wait > FIRST_DELAY - Duration::from_secs(5), "{wait:?}");
        // the same name from an address that has not failed, another name from this one
        gate.succeeded(gate.reserve(other, "ana").unwrap());
        gate.succeeded(gate.reserve(ip, "bo").unwrap());
        // many names from one address: its own limit
        for n in 0..MAX_ADDRESS_FAILURES {
            let _failed = gate.reserve(other, &format!("guess{n}")).unwrap();
        }
        assert!(gate.reserve(other, "ana").is_err());
    }

    #[test]
    fn the_wait_grows_with_each_failure_over_the_limit() {
        let f = |count| Failures { count, last: Instant::now() }.wait(MAX_FAILURES);
        assert_eq!(f(MAX_FAILURES - 1), None);
        let waits: Vec<_> = (MAX_FAILURES..MAX_FAILURES + 8).map(|n| f(n).unwrap().as_secs_f64().round()).collect();
        assert_eq!(waits, [30.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0, 900.0]);
        assert_eq!(Failures { count: 9, last: Instant::now() - MAX_DELAY }.wait(MAX_FAILURES), None);
    }
}
