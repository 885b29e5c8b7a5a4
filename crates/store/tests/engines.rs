//! The connection layer itself, on both engines: every kind of value goes in and comes back
//! the same; a PostgreSQL store works from inside a tokio runtime (where the hub's HTTP
//! handlers call it); a connection the server closed is opened again between transactions;
//! hubs starting together on one PostgreSQL database migrate it once.

mod common;

use common::{on_each_backend, postgres};
use store::db::{Conn, Engine, Value, dialect};
use store::{AlertStore, Durability, Store, values};

#[test]
fn every_kind_of_value_comes_back_as_it_went_in() {
    on_each_backend("values", |b| {
        let conn = b.raw(&b.location);
        let ddl = "CREATE TABLE kinds (n INTEGER, x REAL, t TEXT, flag INTEGER)";
        let ddl = match conn.engine() {
            Engine::Sqlite => ddl.to_string(),
            Engine::Postgres => dialect::postgres_ddl(ddl),
        };
        conn.execute_batch(&ddl).unwrap();
        let rows = [
            values![i64::MAX, 36.85, "Zoë's 'quoted' ?1 text", true],
            values![i64::MIN, -0.5, "", false],
            values![None::<i64>, None::<f64>, None::<&str>, None::<bool>],
        ];
        for row in &rows {
            let changed = conn
                .execute(
                    "INSERT INTO kinds (n, x, t, flag) VALUES (?1, ?2, ?3, ?4)",
                    row,
                )
                .unwrap();
            assert_eq!(changed, 1);
        }
        let back = conn
            .query("SELECT n, x, t, flag FROM kinds ORDER BY n NULLS LAST", &[])
            .unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].get::<i64>(0).unwrap(), i64::MIN, "{}", b.name);
        assert_eq!(back[1].get::<i64>(0).unwrap(), i64::MAX);
        assert_eq!(back[1].get::<f64>(1).unwrap(), 36.85);
        assert_eq!(back[1].get::<String>(2).unwrap(), "Zoë's 'quoted' ?1 text");
        assert!(back[1].get::<bool>(3).unwrap());
        assert_eq!(back[0].get::<String>(2).unwrap(), "");
        assert!(!back[0].get::<bool>(3).unwrap());
        for column in 0..4 {
            assert_eq!(back[2].get::<Option<i64>>(column).ok(), Some(None));
        }
        // An integer where the column is real is stored as a real; text where a number belongs
        // is refused (PostgreSQL) or read back as what it is (SQLite), never silently mangled.
        conn.execute("INSERT INTO kinds (x) VALUES (?1)", &values![7])
            .unwrap();
        let seven: f64 = conn
            .query_value("SELECT x FROM kinds WHERE x = ?1", &values![7.0])
            .unwrap();
        assert_eq!(seven, 7.0);
        if b.is_postgres() {
            let refused = conn.execute("INSERT INTO kinds (n) VALUES (?1)", &values!["x"]);
            assert!(refused.is_err(), "text bound to a BIGINT");
        }
        let count: i64 = conn.query_value("SELECT count(*) FROM kinds", &[]).unwrap();
        assert_eq!(count, 4);
        assert_eq!(
            conn.query_opt("SELECT n FROM kinds WHERE t = ?1", &values!["none"])
                .unwrap(),
            None
        );
        let _: &[Value] = &rows[0];
    })
}

#[test]
fn a_postgres_store_works_from_inside_a_tokio_runtime() {
    let Some(b) = postgres() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Opened, written and read inside async code, as the hub's handlers do (the sync
        // client would panic here if it ran on this thread).
        let mut store = Store::connect(&b.location, Durability::Normal).unwrap();
        store.put_patient("p-async", Some("Ada")).unwrap();
        let batch = store.begin_batch().unwrap();
        batch.ensure_patient("p-async").unwrap();
        batch.commit().unwrap();
        let shared = std::sync::Arc::new(std::sync::Mutex::new(store));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let store = shared.lock().unwrap();
                    store.patient("p-async").unwrap().unwrap().name
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().as_deref(), Some("Ada"));
        }
    });
}

#[test]
fn a_connection_the_server_closed_is_opened_again_between_transactions() {
    let Some(b) = postgres() else { return };
    let mut store = Store::connect(&b.location, Durability::Normal).unwrap();
    store.put_patient("p-1", None).unwrap();
    // The server ends every other session on this database (as a restart would).
    let killer = Conn::open(&b.location, Durability::Normal).unwrap();
    let killed: Vec<_> = killer
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert!(!killed.is_empty());
    std::thread::sleep(std::time::Duration::from_millis(200));
    // The first statement after may fail (the client learns of the close by trying) ...
    let _ = store.patient("p-1");
    // ... and the connection is opened again for the next one.
    assert!(store.patient("p-1").unwrap().is_some());
    let batch = store.begin_batch().unwrap();
    batch.ensure_patient("p-2").unwrap();
    batch.commit().unwrap();
    assert!(store.patient("p-2").unwrap().is_some());
}

#[test]
fn hubs_starting_together_migrate_one_postgres_database_once() {
    let Some(b) = postgres() else { return };
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let location = b.location.clone();
            std::thread::spawn(move || {
                let store = Store::connect(&location, Durability::Normal)?;
                let journal = AlertStore::connect(&location.journal(), Durability::Normal)?;
                Ok::<_, store::StoreError>((store, journal))
            })
        })
        .collect();
    for hub in opened {
        hub.join().unwrap().unwrap();
    }
    let conn = b.raw(&b.location);
    let versions = conn
        .query(
            "SELECT what, version FROM schema_versions ORDER BY what",
            &[],
        )
        .unwrap();
    let versions: Vec<(String, i64)> = versions
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[1].0, "database");
    assert_eq!(versions[1].1, 4);
}

#[test]
fn durability_maps_to_synchronous_commit_on_postgres() {
    let Some(b) = postgres() else { return };
    let setting = |durability| {
        let conn = Conn::open(&b.location, durability).unwrap();
        conn.query_value::<String>("SHOW synchronous_commit", &[])
            .unwrap()
    };
    assert_eq!(setting(Durability::Full), "on");
    assert_eq!(setting(Durability::Normal), "off", "--no-fsync");
}
