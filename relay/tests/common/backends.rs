//! One named test per behaviour per database: a behaviour is a plain
//! function, and [`store_tests!`] / [`relay_tests!`] expand a list of them
//! into `mod sqlite { #[test] fn name() }` and `mod postgres { ... }`, so a
//! failure reads `postgres::tokens_expire`. The PostgreSQL tests skip without
//! the services of `make test`, and fail with `PARLEY_REQUIRE_SERVICES=1`
//! (see [`super::service_env`]).

use parley_relay::config::DatabaseTarget;
use parley_relay::db::Store;

use super::relay::RelayBuilder;

/// A migrated store on a fresh SQLite file in `dir`.
pub(crate) fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let target = DatabaseTarget::Sqlite(dir.path().join("relay.db"));
    migrated(Store::connect(&target, 4).unwrap())
}

/// A migrated store on a fresh PostgreSQL database, if the services run.
pub(crate) fn pg_store() -> Option<Store> {
    let url = super::fresh_pg_database()?;
    let store = migrated(Store::connect(&DatabaseTarget::parse(&url).unwrap(), 4).unwrap());
    assert_eq!(store.backend(), "postgres");
    Some(store)
}

fn migrated(store: Store) -> Store {
    assert!(
        !store.migrate().unwrap().is_empty(),
        "fresh database gets migrations"
    );
    store
}

/// A relay on SQLite (no database URL).
pub(crate) fn sqlite_relay() -> (RelayBuilder, Option<String>) {
    (RelayBuilder::new(), None)
}

/// A relay on a fresh PostgreSQL database, with its URL, if the services run.
pub(crate) fn postgres_relay() -> Option<(RelayBuilder, Option<String>)> {
    let url = super::fresh_pg_database()?;
    Some((
        RelayBuilder::new().env("DATABASE_URL", url.clone()),
        Some(url),
    ))
}

/// `store_tests! { a, b }` for behaviours `fn a(store: &Store)`.
#[allow(unused_macros)] // not every test file uses it
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(&crate::common::backends::sqlite_store(&dir));
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(store) = crate::common::backends::pg_store() else { return };
                    super::$name(&store);
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use store_tests;

/// `relay_tests! { a, b }` for behaviours
/// `async fn a(builder: RelayBuilder, pg: Option<String>)`, where `pg` is
/// the PostgreSQL URL the builder's relay uses (`None` on SQLite).
#[allow(unused_macros)] // not every test file uses it
macro_rules! relay_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (builder, pg) = crate::common::backends::sqlite_relay();
                    super::$name(builder, pg).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((builder, pg)) = crate::common::backends::postgres_relay() else {
                        return;
                    };
                    super::$name(builder, pg).await;
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use relay_tests;
