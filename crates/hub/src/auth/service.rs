//! The hub's sign-in service: checks passwords (with lock-out), starts and ends sessions, and
//! finds the caller behind a session cookie or a bearer token. It keeps its own connection to
//! the alert journal (where accounts live) and reads the clock through [`Auth::now`], which a
//! test may replace.

use super::password;
use super::policy::AuthConfig;
use super::principal::{Credential, Principal};
use super::roles::Role;
use super::scopes::parse_scopes;
use super::secrets::{random_hex, sha256_hex};
use std::sync::{Arc, Mutex, RwLock};
use store::audit::action;
use store::{AccountStore, Durability, NewAudit, SessionRow, StoreError};

/// The time source: ms since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A session is written back as used at most this often (ms), not on every request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Most password checks at once (each takes 19 MiB and tens of ms): a flood of sign-ins waits
/// its turn instead of taking the hub's memory.
pub const CONCURRENT_SIGN_INS: usize = 4;

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown name, wrong password or disabled account: one answer for all three.
    #[error("wrong name or password")]
    Wrong,
    #[error("too many failed sign-ins; try again in {retry_after_s} s")]
    LockedOut { retry_after_s: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A started session: the cookie's value (sent once, never stored) and who signed in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub cookie: String,
    pub principal: Principal,
}

/// Sign-in, sessions and tokens for one hub.
pub struct Auth {
    accounts: Mutex<AccountStore>,
    config: AuthConfig,
    clock: RwLock<Clock>,
    /// Whether the hub serves HTTPS (cookies are then marked `Secure`).
    pub https: bool,
    /// Permits for [`Auth::sign_in`] ([`CONCURRENT_SIGN_INS`]).
    pub sign_in_permits: tokio::sync::Semaphore,
}

impl Auth {
    /// Opens the accounts in the journal at `journal`.
    pub fn open(
        journal: &store::Location,
        durability: Durability,
        config: AuthConfig,
        https: bool,
    ) -> Result<Auth, StoreError> {
        Ok(Auth {
            accounts: Mutex::new(AccountStore::connect(journal, durability)?),
            config,
            clock: RwLock::new(Arc::new(crate::now_ms)),
            https,
            sign_in_permits: tokio::sync::Semaphore::new(CONCURRENT_SIGN_INS),
        })
    }

    /// The rules in force.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Now, on the service's clock.
    pub fn now(&self) -> i64 {
        match self.clock.read() {
            Ok(clock) => clock(),
            Err(_) => crate::now_ms(),
        }
    }

    /// Replaces the clock (tests: expiry and lock-out without waiting).
    pub fn set_clock(&self, clock: Clock) {
        if let Ok(mut slot) = self.clock.write() {
            *slot = clock;
        }
    }

    /// Runs `f` with the accounts (and maps a poisoned lock to a store error).
    pub fn with_accounts<T>(
        &self,
        f: impl FnOnce(&mut AccountStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut accounts = self
            .accounts
            .lock()
            .map_err(|_| StoreError::Corrupt("the accounts lock is poisoned".into()))?;
        f(&mut accounts)
    }

    /// Checks `name`'s password and starts a session. Blocking (argon2 takes tens of ms): call
    /// it off the async threads, holding one of `sign_in_permits`. Every outcome is audited.
    pub fn sign_in(&self, name: &str, password: &str) -> Result<SignedIn, SignInError> {
        let now = self.now();
        let name: String = name.chars().take(64).collect();
        let since = self.config.window_start(now);
        let failures = self.with_accounts(|a| a.failures_since(&name, since))?;
        if let Some(ms) = self.config.locked_for_ms(&failures, now) {
            let retry_after_s = (ms + 999) / 1000;
            let outcome = format!("refused: locked out for {retry_after_s} s");
            let entry = failed(now, &name, action::SIGN_IN_FAILED, outcome);
            self.with_accounts(|a| a.audit(entry))?;
            return Err(SignInError::LockedOut { retry_after_s });
        }
        let user = self.with_accounts(|a| a.user(&name))?;
        let stored = user.as_ref().map(|u| u.password_hash.as_str());
        // The same work whether or not the account exists.
        let matches = password::verify(password, stored.unwrap_or(password::decoy_hash()));
        let role = user.as_ref().and_then(|u| u.role.parse::<Role>().ok());
        let usable = user.as_ref().is_some_and(|u| !u.disabled) && role.is_some();
        let (Some(role), true, true) = (role, matches, usable) else {
            return Err(self.fail(&name, now, user.is_some(), usable));
        };
        let cookie = random_hex(32);
        let session = SessionRow {
            id_hash: sha256_hex(&cookie),
            name: name.clone(),
            csrf: random_hex(32),
            created_ms: now,
            last_seen_ms: now,
        };
        let principal = session_principal(&session, role);
        let entry = principal.audit(now, action::SIGNED_IN, ("user", &name), "success");
        self.with_accounts(|a| a.start_session(&session, entry))?;
        Ok(SignedIn { cookie, principal })
    }

    /// Records a failed sign-in (and the lock-out it causes) and says so.
    fn fail(&self, name: &str, now: i64, known: bool, usable: bool) -> SignInError {
        let why = match (known, usable) {
            (false, _) => "refused: unknown name",
            (true, false) => "refused: account disabled",
            (true, true) => "refused: wrong password",
        };
        let since = self.config.window_start(now);
        let entry = failed(now, name, action::SIGN_IN_FAILED, why.to_string());
        let recorded = self.with_accounts(|a| {
            let count = a.record_failure(name, now, since, entry)?;
            if count == self.config.lockout_failures {
                let outcome = format!("locked out after {count} failed sign-ins");
                a.audit(failed(now, name, action::ACCOUNT_LOCKED, outcome))?;
            }
            Ok(())
        });
        match recorded {
            Ok(()) => SignInError::Wrong,
            Err(e) => SignInError::Store(e),
        }
    }

    /// Ends `principal`'s session (audited); false if it had ended already.
    pub fn sign_out(&self, principal: &Principal) -> Result<bool, StoreError> {
        let Credential::Session { id_hash, .. } = &principal.credential else {
            return Ok(false);
        };
        let entry = principal.audit(
            self.now(),
            action::SIGNED_OUT,
            ("user", &principal.name),
            "success",
        );
        self.with_accounts(|a| a.end_session(id_hash, Some(entry)))
    }

    /// The signed-in person behind a session cookie, if the session is live and the account
    /// enabled; notes the use (so the idle limit counts from it).
    pub fn by_cookie(&self, cookie: &str) -> Result<Option<Principal>, StoreError> {
        let now = self.now();
        let id_hash = sha256_hex(cookie);
        self.with_accounts(|a| {
            let Some(session) = a.session(&id_hash)? else {
                return Ok(None);
            };
            if !self.config.session_live(&session, now) {
                a.end_session(&id_hash, None)?;
                return Ok(None);
            }
            let user = a.user(&session.name)?.filter(|u| !u.disabled);
            let Some(role) = user.and_then(|u| u.role.parse::<Role>().ok()) else {
                return Ok(None);
            };
            if now - session.last_seen_ms >= TOUCH_EVERY_MS {
                a.touch_session(&id_hash, now)?;
            }
            Ok(Some(session_principal(&session, role)))
        })
    }

    /// Whether `principal`'s credential still stands: the session live (not signed out, idle or
    /// past its absolute limit; not renewed by this check) and its account enabled, or the token
    /// neither revoked nor expired.
    pub fn still_valid(&self, principal: &Principal) -> Result<bool, StoreError> {
        let now = self.now();
        self.with_accounts(|a| match &principal.credential {
            Credential::Session { id_hash, .. } => {
                let Some(session) = a.session(id_hash)? else {
                    return Ok(false);
                };
                let enabled = a.user(&session.name)?.is_some_and(|u| !u.disabled);
                Ok(enabled && self.config.session_live(&session, now))
            }
            Credential::Token { id } => Ok(a
                .token(id)?
                .is_some_and(|t| t.revoked_ms.is_none() && t.expires_ms.is_none_or(|at| now < at))),
        })
    }

    /// The program behind a bearer token, if it is neither revoked nor expired.
    pub fn by_bearer(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        let now = self.now();
        let Some(token) = self.with_accounts(|a| a.token_by_secret_hash(&sha256_hex(secret)))?
        else {
            return Ok(None);
        };
        let expired = token.expires_ms.is_some_and(|t| now >= t);
        if token.revoked_ms.is_some() || expired {
            return Ok(None);
        }
        let grants = parse_scopes(&token.scopes)
            .map_err(|e| StoreError::Corrupt(format!("token {}: {e}", token.id)))?;
        Ok(Some(Principal {
            name: token.name,
            role: None,
            grants,
            credential: Credential::Token { id: token.id },
        }))
    }
}

fn session_principal(session: &SessionRow, role: Role) -> Principal {
    Principal {
        name: session.name.clone(),
        role: Some(role),
        grants: role.grants(),
        credential: Credential::Session {
            id_hash: session.id_hash.clone(),
            csrf: session.csrf.clone(),
        },
    }
}

/// An audit row for a sign-in that did not succeed: the actor is the name tried.
fn failed(at_ms: i64, name: &str, action: &str, outcome: String) -> NewAudit {
    NewAudit {
        at_ms,
        actor: name.to_string(),
        account: None,
        action: action.to_string(),
        entity_type: "user".into(),
        entity: name.to_string(),
        outcome,
    }
}
