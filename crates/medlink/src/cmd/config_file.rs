//! Loading a role's TOML configuration file, with defaults for everything it leaves out.

use anyhow::Context;
use serde::de::DeserializeOwned;
use std::path::Path;

pub fn load<T: DeserializeOwned + Default>(path: Option<&Path>) -> anyhow::Result<T> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration as JSON, to compare a parsed file with the defaults field by field.
    fn json(config: &impl serde::Serialize) -> serde_json::Value {
        serde_json::to_value(config).unwrap()
    }

    #[test]
    fn the_shipped_example_configs_parse_and_match_the_defaults() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let station: station::StationConfig = load(Some(&root.join("station.toml"))).unwrap();
        assert_eq!(station.supervisor, safety::SupervisorConfig::default());
        assert_eq!(json(&station), json(&station::StationConfig::default()));
        let console: console::ConsoleConfig = load(Some(&root.join("console.toml"))).unwrap();
        assert_eq!(json(&console), json(&console::ConsoleConfig::default()));
    }

    #[test]
    fn an_unknown_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:1\"\nsurvival = 3\n").unwrap();
        let err = load::<station::StationConfig>(Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("survival"), "{err:#}");
    }
}
