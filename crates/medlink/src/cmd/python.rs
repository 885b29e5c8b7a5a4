//! The project's Python for the benchmarks' baselines: the venv scripts/setup-python.sh makes.

use std::path::{Path, PathBuf};

/// The repository root (where scripts/ and .venv live).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python (env MEDLINK_VENV, else <repo>/.venv), or python3 as a last resort.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("MEDLINK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    let candidate = venv.join("bin/python");
    if candidate.exists() {
        candidate
    } else {
        tracing::warn!(
            "no venv at {} (make it with scripts/setup-python.sh); using python3 from PATH",
            venv.display()
        );
        PathBuf::from("python3")
    }
}
