//! Verifying a contact by scanning the safety-number code on their screen:
//! a match marks the contact verified; anything else changes nothing.

use super::core::{Engine, EngineError};
use crate::crypto::safety::SafetyNumberError;
use crate::protocol::auth::decode_b64;
use crate::protocol::ws::DeviceId;

/// Why a scanned code did not verify the contact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The code does not confirm the safety number.
    #[error(transparent)]
    Code(#[from] SafetyNumberError),
    /// The contact is gone.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Checks the text of a QR code scanned from `peer`'s safety-number panel
    /// and, if it confirms the number, marks `peer` verified.
    pub fn verify_scanned(&mut self, peer: &DeviceId, scanned: &str) -> Result<(), ScanError> {
        self.contact(peer).ok_or(EngineError::UnknownContact)?;
        let sn = self.safety_number(peer).ok_or(EngineError::SafetyPending)?;
        let payload = decode_b64(scanned.trim()).ok_or(SafetyNumberError::Unsupported)?;
        sn.verify_scanned(&payload)?;
        self.set_verified(peer, true)?;
        Ok(())
    }
}
