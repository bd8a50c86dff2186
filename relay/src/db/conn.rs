//! One connection type for both backends, a pool manager that reports the real
//! connection error, and the embedded migrations.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseTarget;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// A connection to whichever backend `DATABASE_URL` names; queries are written
/// once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (production).
    Pg(PgConnection),
    /// SQLite (embedded default).
    Sqlite(SqliteConnection),
}

/// SQLite settings applied to every new connection. WAL lets readers run while
/// the writer commits; `synchronous=FULL` makes a commit survive power loss,
/// which is what "acknowledged means durable" needs. `busy_timeout` comes
/// first: after a crash, switching to WAL must wait for the recovering
/// connection instead of failing at once with "database is locked".
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;";

/// r2d2 manager that picks the backend from the URL scheme. diesel's derived
/// `establish` tries every backend and hides the real error; this one keeps it.
#[derive(Debug, Clone)]
pub struct Manager {
    target: DatabaseTarget,
}

impl Manager {
    /// A manager for `target`.
    pub fn new(target: DatabaseTarget) -> Self {
        Self { target }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseTarget::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Applies every pending migration of the connection's backend and returns the
/// names of those applied.
/// Key of the PostgreSQL advisory lock held while migrating ("PARLEYMG").
const MIGRATION_LOCK: i64 = 0x5041_524c_4559_4d47;

pub(super) fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let names = |m: Vec<diesel::migration::MigrationVersion<'_>>| {
        m.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    match conn {
        DbConnection::Pg(c) => {
            // Several relay nodes may start at once: one migrates, the others
            // wait on this lock and then find nothing left to apply.
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string())?;
            let applied = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(names)
                .map_err(|e| e.to_string());
            // Also released when the connection closes.
            let _ = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            applied
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(names)
            .map_err(|e| e.to_string()),
    }
}

/// Names of the migrations embedded for each backend, so a test can prove the
/// two sets stay in step.
pub fn embedded_migration_names() -> (Vec<String>, Vec<String>) {
    fn names(set: &EmbeddedMigrations) -> Vec<String> {
        use diesel::migration::MigrationSource;
        MigrationSource::<diesel::pg::Pg>::migrations(set)
            .map(|ms| ms.iter().map(|m| m.name().to_string()).collect())
            .unwrap_or_default()
    }
    (names(&PG_MIGRATIONS), names(&SQLITE_MIGRATIONS))
}
