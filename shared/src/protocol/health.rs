//! Body of `/readyz`: which dependency is down, so an operator (and the PWA's
//! status badge) can say why the relay is not ready.

use serde::{Deserialize, Serialize};

/// State of one dependency check.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CheckState {
    /// The dependency answered.
    Ok,
    /// The dependency did not answer; `reason` says what failed.
    Failed {
        /// Operator-facing reason (no secrets).
        reason: String,
    },
}

impl CheckState {
    /// True when the dependency answered.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }
}

/// Per-dependency results.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessChecks {
    /// The relational database (PostgreSQL or SQLite).
    pub database: CheckState,
    /// The blob store (S3-compatible or local disk).
    pub blob_store: CheckState,
}

/// `/readyz` body. `ready` is true only when every check is ok.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Whether the relay can serve requests that touch its dependencies.
    pub ready: bool,
    /// Individual results.
    pub checks: ReadinessChecks,
    /// Relay version (crate version), for support.
    pub version: String,
}

impl Readiness {
    /// Builds the body, deriving `ready` from the checks so the two can never disagree.
    pub fn from_checks(checks: ReadinessChecks, version: impl Into<String>) -> Self {
        Self {
            ready: checks.database.is_ok() && checks.blob_store.is_ok(),
            checks,
            version: version.into(),
        }
    }

    /// One line naming every failed dependency, e.g. `database: connection refused`.
    pub fn reason(&self) -> Option<String> {
        let mut parts = Vec::new();
        for (name, state) in [
            ("database", &self.checks.database),
            ("blob_store", &self.checks.blob_store),
        ] {
            if let CheckState::Failed { reason } = state {
                parts.push(format!("{name}: {reason}"));
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_all_checks_pass() {
        let ok = Readiness::from_checks(
            ReadinessChecks {
                database: CheckState::Ok,
                blob_store: CheckState::Ok,
            },
            "0",
        );
        assert!(ok.ready);
        assert_eq!(ok.reason(), None);

        let down = Readiness::from_checks(
            ReadinessChecks {
                database: CheckState::Failed {
                    reason: "refused".into(),
                },
                blob_store: CheckState::Ok,
            },
            "0",
        );
        assert!(!down.ready);
        assert_eq!(down.reason().as_deref(), Some("database: refused"));
    }

    #[test]
    fn wire_format_is_stable() {
        let r = Readiness::from_checks(
            ReadinessChecks {
                database: CheckState::Ok,
                blob_store: CheckState::Failed {
                    reason: "gone".into(),
                },
            },
            "1.2.3",
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"ready":false,"checks":{"database":{"state":"ok"},"blob_store":{"state":"failed","reason":"gone"}},"version":"1.2.3"}"#
        );
    }
}
