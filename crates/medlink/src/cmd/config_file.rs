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
