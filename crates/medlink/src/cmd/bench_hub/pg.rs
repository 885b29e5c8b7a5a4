//! The PostgreSQL half of `medlink bench hub --db postgres://...`: the same hub, the same load
//! and the same alert probes, with its store in a scratch database made on that server for the
//! run (`medlink_bench_<pid>_...`, dropped after), so every run starts empty as the SQLite one
//! does.

use super::{BenchHubArgs, HubFigures};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Runs the hub benchmark on a scratch database of the PostgreSQL server at `url`.
pub(super) async fn bench(
    args: &BenchHubArgs,
    url: &str,
    password_file: Option<&Path>,
) -> anyhow::Result<HubFigures> {
    let server = store::Location::parse(url, password_file)?;
    let store::Location::Postgres(target) = &server else {
        anyhow::bail!("--db {url}: expected a postgres:// URL (SQLite is always measured)");
    };
    let admin = store::db::Conn::open(&server, store::Durability::Normal)
        .with_context(|| format!("connecting to {}", target.url()))?;
    let scratch = store::testing::scratch_database(admin, target, "medlink_bench")
        .map_err(anyhow::Error::msg)?;
    let database = PathBuf::from(scratch.location().describe());
    let figures = super::bench_hub(args, database, password_file.map(Path::to_path_buf)).await;
    drop(scratch);
    figures
}
