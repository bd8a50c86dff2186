//! Attachments in a conversation: the offer that carries the file key,
//! digest, name, type and size inside the ratchet (the relay and the store
//! only see padded ciphertext), and the states both sides show.
//!
//! The adapter encrypts and uploads (crypto::stream, `/api/v1/attachments`)
//! before calling [`Engine::send_attachment`], and downloads and decrypts
//! before calling [`Engine::set_file_state`].

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::content::{Content, MessageId};
use super::core::{Engine, EngineError};
use super::model::{Body, Message, Status};
use crate::crypto::codec::fixed;
use crate::protocol::attachments::valid_object_id;
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// Longest file name kept.
pub const MAX_NAME: usize = 255;

/// What the recipient needs to fetch, check and decrypt a file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    /// Relay object id.
    pub object: String,
    /// STREAM file key.
    pub key: [u8; 32],
    /// SHA-256 of the ciphertext.
    #[serde(with = "fixed")]
    pub digest: [u8; 32],
    /// File name (no path).
    pub name: String,
    /// MIME type as the sender's browser saw it.
    pub mime: String,
    /// Plaintext size, bytes.
    pub size: u64,
    /// When the relay deletes the object.
    pub expires_at: UnixMs,
    /// The sender asked to delete it as soon as it is downloaded.
    pub delete_after_download: bool,
    /// EXIF/XMP/GPS metadata was removed before encryption.
    pub metadata_removed: bool,
}

impl core::fmt::Debug for FileOffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileOffer")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Where a file is, as both sides show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileState {
    /// Uploaded and offered; waiting for the recipient.
    Offered,
    /// The recipient downloaded and verified it.
    Downloaded,
    /// The recipient declined it.
    Declined,
    /// Removed from storage (downloaded with delete-after-download, declined,
    /// cancelled or expired).
    Deleted,
}

impl FileState {
    /// Stable name (UI attribute, tests).
    pub fn name(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Downloaded => "downloaded",
            Self::Declined => "declined",
            Self::Deleted => "deleted",
        }
    }
}

/// A file in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMessage {
    /// The offer.
    pub offer: FileOffer,
    /// Its state.
    pub state: FileState,
}

fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base
        .chars()
        .filter(|c| super::content::shown_as_is(*c))
        .take(MAX_NAME)
        .collect();
    if name.trim().is_empty() {
        "file".into()
    } else {
        name
    }
}

impl Engine {
    /// Offers an uploaded file to `peer` (queued like a text).
    pub fn send_attachment<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        mut offer: FileOffer,
        now: UnixMs,
    ) -> Result<MessageId, EngineError> {
        let c = self.contact(peer).ok_or(EngineError::UnknownContact)?;
        if c.identity_changed {
            return Err(EngineError::IdentityChanged);
        }
        offer.name = clean_file_name(&offer.name);
        // Files disappear with the conversation's timer, like texts.
        let expire_secs = c.timer_secs;
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let msg = Message {
            id,
            seq: self.take_seq(),
            outgoing: true,
            body: Body::File(FileMessage {
                offer: offer.clone(),
                state: FileState::Offered,
            }),
            at: now,
            status: Status::Queued,
            expires_at: expire_secs.map(|s| now + Millis::from_secs(u64::from(s))),
        };
        self.insert_message(peer, msg, now);
        let sent = super::sync::SyncEvent::FileSent {
            conversation: *peer,
            id,
            offer: offer.clone(),
            sent_at: now,
            expire_secs,
        };
        let content = Content::File {
            id,
            offer,
            expire_secs,
        };
        self.send_content(rng, peer, content, Some(id))?;
        self.sync_own(rng, sent)?;
        Ok(id)
    }

    /// Records a file's new state here and tells the peer (e.g. the recipient
    /// downloaded or declined it).
    pub fn set_file_state<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        peer: &DeviceId,
        id: &MessageId,
        state: FileState,
    ) -> Result<(), EngineError> {
        self.update_file(peer, id, state, false);
        self.send_content(rng, peer, Content::FileState { id: *id, state }, None)?;
        self.commit();
        Ok(())
    }

    /// Applies a state if it moves forward: offered → downloaded, declined
    /// or deleted; downloaded → deleted. `by_peer`: the peer reported it,
    /// which it may only do for files we sent it, or to say it deleted one.
    pub(super) fn update_file(
        &mut self,
        peer: &DeviceId,
        id: &MessageId,
        state: FileState,
        by_peer: bool,
    ) {
        let Some(h) = self.history.get_mut(peer) else {
            return;
        };
        let forward = |from: FileState| {
            matches!(
                (from, state),
                (
                    FileState::Offered,
                    FileState::Downloaded | FileState::Declined | FileState::Deleted
                ) | (FileState::Downloaded, FileState::Deleted)
            )
        };
        if let Some(m) = h.iter_mut().find(|m| &m.id == id)
            && (!by_peer || m.outgoing || state == FileState::Deleted)
            && let Body::File(f) = &mut m.body
            && forward(f.state)
        {
            f.state = state;
            let m = m.clone();
            self.pending.push(super::core::put(
                super::model::key::message(peer, m.seq),
                &m,
            ));
            self.effects.push_back(super::core::Effect::Changed);
        }
    }

    /// Records an incoming offer; false for a duplicate or a malformed one.
    pub(super) fn receive_file(
        &mut self,
        from: &DeviceId,
        id: MessageId,
        mut offer: FileOffer,
        expire_secs: Option<u32>,
        now: UnixMs,
    ) -> bool {
        let seen = self
            .messages(from)
            .iter()
            .any(|m| !m.outgoing && m.id == id);
        if seen || !valid_object_id(&offer.object) {
            return false;
        }
        offer.name = clean_file_name(&offer.name);
        let m = Message {
            id,
            seq: self.take_seq(),
            outgoing: false,
            body: Body::File(FileMessage {
                offer,
                state: FileState::Offered,
            }),
            at: now,
            status: Status::Delivered,
            expires_at: expire_secs
                .filter(|s| *s > 0 && *s <= super::core::MAX_TIMER_SECS)
                .map(|s| now + Millis::from_secs(u64::from(s))),
        };
        self.insert_message(from, m, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\x\\photo\u{7}.jpg"), "photo.jpg");
        assert_eq!(clean_file_name("  "), "file");
        // Bidi overrides cannot disguise the extension.
        assert_eq!(clean_file_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_file_name("a\u{2067}b\u{2069}\u{200F}.js"), "ab.js");
        assert_eq!(
            super::super::content::clean_name("Eve\u{202E}nimda"),
            "Evenimda"
        );
        assert_eq!(clean_file_name(&"a".repeat(400)).len(), MAX_NAME);
    }
}
