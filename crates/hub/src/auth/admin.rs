//! Managing accounts and tokens (what `medlink hub user` and `medlink hub token` do, and what
//! tests use to set up callers): each change is checked, written and audited in one transaction.

use super::password::{self, WeakPassword};
use super::roles::Role;
use super::scopes::{ScopeError, parse_scopes};
use super::secrets::{random_hex, sha256_hex};
use store::audit::action;
use store::{AccountStore, NewAudit, StoreError, TokenRow, UserRow};

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0:?} is not a valid name: 1-64 letters, digits, '.', '_' or '-'")]
    BadName(String),
    #[error("an account named {0:?} exists already")]
    UserExists(String),
    #[error("no account named {0:?}")]
    NoSuchUser(String),
    #[error("no token {0:?} that is not revoked already")]
    NoSuchToken(String),
    #[error("{0}")]
    WeakPassword(#[from] WeakPassword),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("a token lives 1 to 3650 days, not {0}")]
    BadLifetime(u32),
    #[error("{0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token as issued: its secret is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    /// What the program sends: `Authorization: Bearer <secret>`.
    pub secret: String,
    pub row: TokenRow,
}

/// Checks an account or token name.
pub fn check_name(name: &str) -> Result<(), AdminError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AdminError::BadName(name.chars().take(80).collect()))
    }
}

fn entry(by: &str, at_ms: i64, action: &str, entity: (&str, &str), outcome: &str) -> NewAudit {
    NewAudit {
        at_ms,
        actor: by.to_string(),
        account: None,
        action: action.to_string(),
        entity_type: entity.0.to_string(),
        entity: entity.1.to_string(),
        outcome: outcome.to_string(),
    }
}

/// Adds account `name` with `role`, `by` the one running the command.
pub fn add_user(
    accounts: &mut AccountStore,
    name: &str,
    role: Role,
    password: &str,
    by: &str,
    at_ms: i64,
) -> Result<(), AdminError> {
    check_name(name)?;
    password::check_strength(password, name)?;
    let user = UserRow {
        name: name.to_string(),
        role: role.as_str().to_string(),
        password_hash: password::hash(password).map_err(AdminError::Hashing)?,
        disabled: false,
        created_ms: at_ms,
    };
    let outcome = format!("success: role {role}");
    let audit = entry(by, at_ms, action::USER_ADDED, ("user", name), &outcome);
    if !accounts.add_user(&user, audit)? {
        return Err(AdminError::UserExists(name.to_string()));
    }
    Ok(())
}

/// Disables account `name` and ends its sessions.
pub fn disable_user(
    accounts: &mut AccountStore,
    name: &str,
    by: &str,
    at_ms: i64,
) -> Result<(), AdminError> {
    let audit = entry(by, at_ms, action::USER_DISABLED, ("user", name), "success");
    if !accounts.disable_user(name, audit)? {
        return Err(AdminError::NoSuchUser(name.to_string()));
    }
    Ok(())
}

/// Sets account `name`'s password and ends its sessions.
pub fn change_password(
    accounts: &mut AccountStore,
    name: &str,
    password: &str,
    by: &str,
    at_ms: i64,
) -> Result<(), AdminError> {
    password::check_strength(password, name)?;
    let hash = password::hash(password).map_err(AdminError::Hashing)?;
    let audit = entry(
        by,
        at_ms,
        action::PASSWORD_CHANGED,
        ("user", name),
        "success",
    );
    if !accounts.set_password(name, &hash, audit)? {
        return Err(AdminError::NoSuchUser(name.to_string()));
    }
    Ok(())
}

/// Issues a token named `name` granting `scopes` (space-separated), living `days` (forever if
/// none).
pub fn issue_token(
    accounts: &mut AccountStore,
    name: &str,
    scopes: &str,
    days: Option<u32>,
    by: &str,
    at_ms: i64,
) -> Result<IssuedToken, AdminError> {
    check_name(name)?;
    let parsed = parse_scopes(scopes)?;
    if let Some(days) = days.filter(|d| !(1..=3650).contains(d)) {
        return Err(AdminError::BadLifetime(days));
    }
    let scopes: Vec<String> = parsed.iter().map(|s| s.to_string()).collect();
    loop {
        let id = random_hex(4);
        let secret = format!("mlt_{id}_{}", random_hex(32));
        let row = TokenRow {
            id: id.clone(),
            name: name.to_string(),
            scopes: scopes.join(" "),
            secret_hash: sha256_hex(&secret),
            created_ms: at_ms,
            expires_ms: days.map(|d| at_ms + i64::from(d) * 86_400_000),
            revoked_ms: None,
        };
        let outcome = format!("success: {name}: {}", row.scopes);
        let audit = entry(by, at_ms, action::TOKEN_ISSUED, ("token", &id), &outcome);
        if accounts.add_token(&row, audit)? {
            return Ok(IssuedToken { id, secret, row });
        }
    }
}

/// Revokes token `id`.
pub fn revoke_token(
    accounts: &mut AccountStore,
    id: &str,
    by: &str,
    at_ms: i64,
) -> Result<(), AdminError> {
    let audit = entry(by, at_ms, action::TOKEN_REVOKED, ("token", id), "success");
    if !accounts.revoke_token(id, at_ms, audit)? {
        return Err(AdminError::NoSuchToken(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_checked_and_audited() {
        let mut accounts = AccountStore::open_in_memory().unwrap();
        let strong = "ward 7 night shift";
        add_user(&mut accounts, "ann", Role::Nurse, strong, "cli:root", 1).unwrap();
        assert!(matches!(
            add_user(&mut accounts, "ann", Role::Doctor, strong, "cli:root", 2),
            Err(AdminError::UserExists(_))
        ));
        assert!(matches!(
            add_user(&mut accounts, "bob", Role::Nurse, "short", "cli:root", 2),
            Err(AdminError::WeakPassword(WeakPassword::TooShort(5)))
        ));
        assert!(matches!(
            add_user(&mut accounts, "b b", Role::Nurse, strong, "cli:root", 2),
            Err(AdminError::BadName(_))
        ));
        let user = accounts.user("ann").unwrap().unwrap();
        assert_eq!(user.role, "nurse");
        assert!(password::verify(strong, &user.password_hash));
        change_password(&mut accounts, "ann", "another long phrase", "cli:root", 3).unwrap();
        disable_user(&mut accounts, "ann", "cli:root", 4).unwrap();
        assert!(accounts.user("ann").unwrap().unwrap().disabled);
        assert!(matches!(
            disable_user(&mut accounts, "zed", "cli:root", 5),
            Err(AdminError::NoSuchUser(_))
        ));

        let token = issue_token(
            &mut accounts,
            "etl",
            "user/Observation.read",
            Some(30),
            "cli:root",
            6,
        )
        .unwrap();
        assert!(token.secret.starts_with(&format!("mlt_{}_", token.id)));
        let stored = accounts
            .token_by_secret_hash(&sha256_hex(&token.secret))
            .unwrap()
            .unwrap();
        assert_eq!(stored.expires_ms, Some(6 + 30 * 86_400_000));
        assert!(matches!(
            issue_token(
                &mut accounts,
                "etl",
                "user/Nothing.read",
                None,
                "cli:root",
                7
            ),
            Err(AdminError::Scope(_))
        ));
        revoke_token(&mut accounts, &token.id, "cli:root", 8).unwrap();
        assert!(revoke_token(&mut accounts, &token.id, "cli:root", 9).is_err());

        let trail = accounts.audit_trail().unwrap();
        let actions: Vec<&str> = trail.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                action::USER_ADDED,
                action::PASSWORD_CHANGED,
                action::USER_DISABLED,
                action::TOKEN_ISSUED,
                action::TOKEN_REVOKED
            ]
        );
        assert_eq!(store::audit::verify(&trail), Ok(5));
        assert!(trail.iter().all(|r| !r.outcome.contains(&token.secret)));
    }
}
