//! Fuzz target: what a person types as the hub's database (`--db`), a `.pgpass` file's lines,
//! and the SQL the store translates for PostgreSQL. Parsing never panics; a URL that parses
//! prints (without a password) as a URL that parses to the same target; a password is never
//! taken from the URL; the placeholder translation changes only `?` into `$`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store::db::{Location, PgTarget, dialect};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let url = format!("postgres://{first}");
    if let Ok(target) = PgTarget::parse_url(&url) {
        assert!(target.password().is_none(), "a password taken from {url:?}");
        let again = PgTarget::parse_url(&target.url())
            .unwrap_or_else(|e| panic!("{url:?} printed as {:?}: {e}", target.url()));
        assert_eq!(again.url(), target.url());
        let _ = target.password_in_pgpass(rest);
    }
    if let Ok(Location::Sqlite(path)) = Location::parse(first, None) {
        assert_eq!(path.to_str(), Some(first));
    }
    let translated = dialect::numbered_to_dollar(text);
    assert_eq!(translated.len(), text.len());
    assert!(
        translated
            .chars()
            .zip(text.chars())
            .all(|(a, b)| a == b || (b == '?' && a == '$'))
    );
    let _ = dialect::postgres_ddl(text);
});
