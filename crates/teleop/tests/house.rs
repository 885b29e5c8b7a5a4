//! The house plan's arrows, checked on the manifests: the session core imports no edge crate,
//! the transport does not know the arm, and the console does not know the station.

use std::path::Path;

/// The workspace crates a crate's manifest depends on (normal dependencies only).
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && line.contains("path = \"../") {
            names.push(line.split_whitespace().next().unwrap().to_string());
        }
    }
    names
}

const EDGES_AND_ROLES: [&str; 7] = [
    "link", "store", "recorder", "station", "console", "hub", "medlink",
];

#[test]
fn the_session_core_imports_only_cores() {
    let deps = dependencies("teleop");
    assert!(deps.contains(&"safety".to_string()), "{deps:?}");
    for edge in EDGES_AND_ROLES {
        assert!(!deps.iter().any(|d| d == edge), "teleop imports {edge}");
    }
}

#[test]
fn the_transport_carries_bytes_and_the_console_does_not_know_the_station() {
    assert!(!dependencies("link").iter().any(|d| d == "robot"));
    assert!(!dependencies("console").iter().any(|d| d == "station"));
    for core in ["proto", "safety", "robot", "netem"] {
        let deps = dependencies(core);
        for edge in EDGES_AND_ROLES.iter().chain(&["teleop"]) {
            assert!(!deps.iter().any(|d| d == edge), "{core} imports {edge}");
        }
    }
}
