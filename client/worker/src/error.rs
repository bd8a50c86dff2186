//! Why a file job failed. The worker sends these to the page as a stable
//! code (plus the storage status where there is one), and the page rebuilds
//! the same value, so both sides agree on what happened without parsing text.

use parley_shared::media::edit::EditError;

/// A failed job, with a message for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The page sent something the worker cannot read (a bug, or two builds
    /// of the app mixed).
    #[error("The file worker got a malformed request.")]
    Malformed,
    /// The browser refused to read the file.
    #[error("The file could not be read (was it moved or changed?).")]
    Unreadable,
    /// The file's size changed while it was being encrypted.
    #[error("The file changed while it was being encrypted; it was not sent.")]
    Changed,
    /// The browser could not build the result.
    #[error("The browser could not hold the file (out of memory or storage).")]
    NoRoom,
    /// The result could not be handed back to the page.
    #[error("The file worker could not hand the result back; the file was not processed.")]
    Unsendable,
    /// The storage did not answer.
    #[error("Storage is unreachable; try again later.")]
    Unreachable,
    /// The pre-signed link is no longer valid.
    #[error("The download link expired; try again.")]
    LinkExpired,
    /// The object was deleted (its lifetime ran out, or it was downloaded).
    #[error("The file is no longer in storage.")]
    Gone,
    /// Storage answered with another status.
    #[error("Storage answered {0}; try again later.")]
    Storage(u16),
    /// The download stopped half-way.
    #[error("The download was interrupted; try again.")]
    Interrupted,
    /// The ciphertext does not match what the sender sent.
    #[error("The file was altered in storage (it does not match what was sent); it was not saved.")]
    Tampered,
    /// The worker's helper thread stopped in the middle of a file.
    #[error("The file worker's second thread stopped; the file was not processed. Try again.")]
    HelperStopped,
    /// An edit could not be applied to the image (nothing is sent).
    #[error("{0}")]
    Edit(EditError),
}

impl From<EditError> for JobError {
    fn from(e: EditError) -> Self {
        Self::Edit(e)
    }
}

/// Every edit failure, for decoding by code.
const EDIT_ERRORS: [EditError; 5] = [
    EditError::Unsupported,
    EditError::Decode,
    EditError::TooLarge,
    EditError::BadEdit,
    EditError::Encode,
];

fn edit_code(e: EditError) -> &'static str {
    match e {
        EditError::Unsupported => "edit-unsupported",
        EditError::Decode => "edit-decode",
        EditError::TooLarge => "edit-too-large",
        EditError::BadEdit => "edit-bad",
        EditError::Encode => "edit-encode",
    }
}

impl JobError {
    /// Every error without data, for decoding by code.
    const PLAIN: [Self; 11] = [
        Self::Malformed,
        Self::Unreadable,
        Self::Changed,
        Self::NoRoom,
        Self::Unsendable,
        Self::Unreachable,
        Self::LinkExpired,
        Self::Gone,
        Self::Interrupted,
        Self::Tampered,
        Self::HelperStopped,
    ];

    /// The stable code sent across the worker boundary.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unreadable => "unreadable",
            Self::Changed => "changed",
            Self::NoRoom => "no-room",
            Self::Unsendable => "unsendable",
            Self::Unreachable => "unreachable",
            Self::LinkExpired => "link-expired",
            Self::Gone => "gone",
            Self::Storage(_) => "storage",
            Self::Interrupted => "interrupted",
            Self::Tampered => "tampered",
            Self::HelperStopped => "helper-stopped",
            Self::Edit(e) => edit_code(*e),
        }
    }

    /// The storage status carried by [`JobError::Storage`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Storage(s) => Some(*s),
            _ => None,
        }
    }

    /// Rebuilds an error from its code and status; `None` for a code this
    /// build does not know.
    pub fn from_code(code: &str, status: Option<u16>) -> Option<Self> {
        if code == "storage" {
            return status.map(Self::Storage);
        }
        Self::PLAIN
            .into_iter()
            .chain(EDIT_ERRORS.map(Self::Edit))
            .find(|e| e.code() == code)
    }

    /// What a storage answer other than 200 means. Object storage speaks
    /// plain HTTP (not the relay's error codes), so its status is the only
    /// signal there is.
    pub fn from_storage_status(status: u16) -> Self {
        match status {
            403 => Self::LinkExpired,
            404 => Self::Gone,
            0 => Self::Unreachable,
            s => Self::Storage(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{EDIT_ERRORS, JobError};

    fn all() -> Vec<JobError> {
        let mut all = JobError::PLAIN.to_vec();
        all.push(JobError::Storage(502));
        all.extend(EDIT_ERRORS.map(JobError::Edit));
        all
    }

    #[test]
    fn every_error_survives_the_boundary() {
        let all = all();
        assert_eq!(all.len(), 17);
        for e in all {
            assert_eq!(JobError::from_code(e.code(), e.status()), Some(e), "{e:?}");
        }
        assert_eq!(JobError::from_code("no-such-code", None), None);
        assert_eq!(JobError::from_code("storage", None), None);
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<_> = all().iter().map(JobError::code).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }
}
