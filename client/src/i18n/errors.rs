//! Errors as people read them, keyed by variant: the types' `Display` text
//! is for logs and tests, the screens show [`Localize::text`]. Text that
//! comes from outside (a relay's explanation, a browser's message, a
//! file name) is passed through as an argument.

use parley_shared::crypto::backup::BackupError;
use parley_shared::crypto::pairing::PairingError;
use parley_shared::crypto::safety::SafetyNumberError;
use parley_shared::engine::flow::BlobError;
use parley_shared::engine::link::LinkError;
use parley_shared::engine::pairing::{FlowError, InviteError, JoinError, PinError};
use parley_shared::engine::transfer::TransferError;
use parley_shared::engine::{AccountError, EngineError, RestoreError, ScanError};
use parley_shared::media::edit::EditError;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::api::Failure;
use parley_worker::JobError;

use crate::tr;

/// A translated message for people.
pub(crate) trait Localize {
    /// The text, in the language shown.
    fn text(&self) -> String;
}

fn code(c: ErrorCode) -> String {
    match c {
        ErrorCode::BadRequest => tr!("code-bad-request"),
        ErrorCode::Unauthorized => tr!("code-unauthorized"),
        ErrorCode::Forbidden => tr!("code-forbidden"),
        ErrorCode::NotFound => tr!("code-not-found"),
        ErrorCode::Conflict => tr!("code-conflict"),
        ErrorCode::TooLarge => tr!("code-too-large"),
        ErrorCode::LengthMismatch => tr!("code-length-mismatch"),
        ErrorCode::RateLimited => tr!("code-rate-limited"),
        ErrorCode::Unavailable => tr!("code-unavailable"),
        ErrorCode::Internal => tr!("code-internal"),
        ErrorCode::MethodNotAllowed => tr!("code-method-not-allowed"),
        ErrorCode::QuotaExceeded => tr!("code-quota-exceeded"),
        // A code newer than this build.
        _ => tr!("code-other"),
    }
}

impl Localize for Failure {
    fn text(&self) -> String {
        match self {
            Self::Unreachable => tr!("failure-unreachable"),
            // The relay's own explanation is specific (which limit, which
            // gate) but English: it follows the translated reason.
            Self::Refused { code: c, message } => {
                tr!(
                    "failure-refused",
                    reason = code(*c),
                    detail = message.clone()
                )
            }
            Self::Unexpected { status } => tr!("failure-unexpected", status = *status),
        }
    }
}

impl Localize for EngineError {
    fn text(&self) -> String {
        match self {
            Self::UnknownContact => tr!("engine-unknown-contact"),
            Self::BadText => tr!(
                "engine-bad-text",
                max = parley_shared::engine::content::MAX_TEXT
            ),
            Self::BadTimer => tr!("engine-bad-timer"),
            Self::Corrupt(_) => tr!("engine-corrupt"),
            Self::Session(_) => tr!("engine-session"),
            Self::BadBundle => tr!("engine-bad-bundle"),
            Self::IdentityChanged => tr!("engine-identity-changed"),
            Self::Offline => tr!("engine-offline"),
            Self::NoSession => tr!("engine-no-session"),
            Self::NotSettled => tr!("engine-not-settled"),
            Self::ResetPending => tr!("engine-reset-pending"),
            Self::NoAccount => tr!("engine-no-account"),
            Self::Account(_) => tr!("engine-account"),
            Self::NotListed => tr!("engine-not-listed"),
            Self::SafetyPending => tr!("safety-pending"),
            Self::UnknownRoom => tr!("engine-unknown-room"),
            Self::Room(_) => tr!("engine-room"),
            Self::RoomRefused(_) => tr!("engine-room-refused"),
        }
    }
}

impl Localize for AccountError {
    fn text(&self) -> String {
        match self {
            Self::Relay(f) => f.text(),
            Self::BadChallenge => tr!("account-bad-challenge"),
            Self::ResetUnanswered(f) => tr!("account-reset-unanswered", failure = f.text()),
            Self::Engine(e) => e.text(),
            Self::Busy => tr!("account-busy"),
        }
    }
}

impl Localize for PairingError {
    fn text(&self) -> String {
        match self {
            Self::InvalidInvite => tr!("pairing-invalid-invite"),
            Self::WrongCode => tr!("pairing-wrong-code"),
            Self::Authentication => tr!("pairing-authentication"),
            Self::BadSignature => tr!("pairing-bad-signature"),
            Self::IdentityMismatch => tr!("pairing-identity-mismatch"),
            Self::Malformed(_) => tr!("pairing-malformed"),
            Self::TooLarge => tr!("pairing-too-large"),
            Self::WrongPurpose => tr!("pairing-wrong-purpose"),
        }
    }
}

impl Localize for FlowError {
    fn text(&self) -> String {
        match self {
            Self::Pairing(e) => e.text(),
            Self::Expired => tr!("flow-expired"),
            Self::OtherRelay(relay) => tr!("flow-other-relay", relay = relay.clone()),
            Self::OwnInvite => tr!("flow-own-invite"),
            Self::NoPinSlot => tr!("flow-no-pin-slot"),
            Self::PinExists => tr!("flow-pin-exists"),
            Self::AttemptsUsed => tr!("flow-attempts-used"),
        }
    }
}

impl Localize for InviteError {
    fn text(&self) -> String {
        match self {
            Self::TooMany => tr!(
                "invite-too-many",
                max = parley_shared::protocol::rendezvous::MAX_OPEN_SLOTS
            ),
            Self::Cancelled => tr!("invite-cancelled"),
            Self::Expired => tr!("invite-expired"),
            Self::Gone => tr!("invite-gone"),
            Self::PinSetup(f) => tr!("invite-pin-setup", failure = f.text()),
            Self::Void(e) => tr!("invite-void", reason = e.text()),
            Self::Flow(e) => e.text(),
            Self::Relay(f) => f.text(),
        }
    }
}

impl Localize for PinError {
    fn text(&self) -> String {
        match self {
            Self::RateLimited => tr!("pin-rate-limited"),
            Self::Relay(f) => f.text(),
        }
    }
}

impl Localize for JoinError {
    fn text(&self) -> String {
        match self {
            Self::BadCode => tr!("join-bad-code"),
            Self::NoSuchCode => tr!("join-no-such-code"),
            Self::TooManyCodes => tr!("join-too-many-codes"),
            Self::NotReady => tr!("join-not-ready"),
            Self::InviteGone => tr!("join-invite-gone"),
            Self::Busy => tr!("join-busy"),
            Self::NoAnswer => tr!("join-no-answer"),
            Self::WrongPin => tr!("join-wrong-pin"),
            Self::LinkRejected => tr!("join-link-rejected"),
            Self::Closed => tr!("join-closed"),
            Self::Flow(e) => e.text(),
            Self::Link(e) => e.text(),
            Self::Relay(f) => f.text(),
        }
    }
}

impl Localize for LinkError {
    fn text(&self) -> String {
        match self {
            Self::NoAccount => tr!("link-no-account"),
            Self::NotNew => tr!("link-not-new"),
            Self::Pairing(e) => e.text(),
            Self::Consent(_) => tr!("link-consent"),
            Self::NotListed => tr!("link-not-listed"),
            Self::WrongAccount => tr!("link-wrong-account"),
            Self::Damaged(_) => tr!("link-damaged"),
            Self::Gone => tr!("link-gone"),
            Self::Blob(e) => e.text(),
            Self::Relay(f) => f.text(),
            Self::Restore(e) => e.text(),
            Self::Engine(e) => e.text(),
        }
    }
}

impl Localize for SafetyNumberError {
    fn text(&self) -> String {
        match self {
            Self::Unsupported => tr!("safety-unsupported"),
            Self::Mismatch => tr!("safety-mismatch"),
        }
    }
}

impl Localize for ScanError {
    fn text(&self) -> String {
        match self {
            Self::Code(e) => e.text(),
            Self::Engine(e) => e.text(),
        }
    }
}

impl Localize for BlobError {
    fn text(&self) -> String {
        match self {
            Self::Unreachable => tr!("blob-unreachable"),
            Self::Refused => tr!("blob-refused"),
            Self::Failed(status) => tr!("blob-failed", status = *status),
            // The adapter's own message (already translated by it).
            Self::Local(why) => why.clone(),
        }
    }
}

impl Localize for TransferError {
    fn text(&self) -> String {
        match self {
            Self::TooLarge { name, failure } => {
                tr!(
                    "transfer-too-large",
                    name = name.clone(),
                    failure = failure.text()
                )
            }
            Self::Gone => tr!("transfer-gone"),
            Self::Blob(e) => tr!("transfer-blob", reason = e.text()),
            Self::Relay(f) => f.text(),
            Self::Engine(e) => e.text(),
        }
    }
}

impl Localize for JobError {
    fn text(&self) -> String {
        match self {
            Self::Malformed => tr!("job-malformed"),
            Self::Unreadable => tr!("job-unreadable"),
            Self::Changed => tr!("job-changed"),
            Self::NoRoom => tr!("job-no-room"),
            Self::Unsendable => tr!("job-unsendable"),
            Self::Unreachable => tr!("job-unreachable"),
            Self::LinkExpired => tr!("job-link-expired"),
            Self::Gone => tr!("job-gone"),
            Self::Storage(status) => tr!("job-storage", status = *status),
            Self::Interrupted => tr!("job-interrupted"),
            Self::Tampered => tr!("job-tampered"),
            Self::HelperStopped => tr!("job-helper-stopped"),
            Self::Edit(e) => match e {
                EditError::Unsupported => tr!("job-edit-unsupported"),
                EditError::Decode => tr!("job-edit-decode"),
                EditError::TooLarge => tr!("job-edit-too-large"),
                EditError::BadEdit => tr!("job-edit-bad"),
                EditError::Encode => tr!("job-edit-encode"),
            },
        }
    }
}

impl Localize for BackupError {
    fn text(&self) -> String {
        match self {
            Self::WrongKey => tr!("backup-wrong-key"),
            Self::NotABackup => tr!("backup-not-a-backup"),
            Self::BadParameters => tr!("backup-bad-parameters"),
            Self::RecoveryKeyTypo => tr!("backup-key-typo"),
            Self::Malformed(_) => tr!("backup-damaged"),
        }
    }
}

impl Localize for RestoreError {
    fn text(&self) -> String {
        match self {
            Self::NotReady => tr!("restore-not-ready"),
            Self::Busy => tr!("restore-busy"),
            Self::Damaged(_) => tr!("backup-damaged"),
            Self::Relay(f) => f.text(),
            Self::ForeignList => tr!("restore-foreign-list"),
            Self::Rollback { backup, relay } => {
                tr!("restore-rollback", backup = *backup, relay = *relay)
            }
            Self::Equivocation(_) => tr!("restore-equivocation"),
            Self::Account(_) => tr!("restore-account"),
        }
    }
}
