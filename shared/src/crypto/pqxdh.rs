//! PQXDH initial key agreement (Signal, "The PQXDH Key Agreement Protocol",
//! rev. 3, §3.3 sending / §3.4 receiving), with X25519, SHA-256 and ML-KEM-768.
//!
//! SK = HKDF(F || DH1 || DH2 || DH3 [|| DH4] || SS), F = 32 × 0xFF, salt = 32 × 0x00.
//! AD = "Parley AD v1" || IK_A || IK_B (each the 64-byte Ed25519 || X25519 pair),
//! binding both identities into every message of the session (§3.3).

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};

use super::codec::bytes;
use super::keys::{
    self, IdentityKeyPair, IdentityPublic, KeyError, MLKEM768_CIPHERTEXT_LEN, OneTimePreKey,
    PqPreKey, PreKeyBundle, SignedPreKey,
};
use super::primitives::{Secret, hkdf};

/// HKDF info string (§2.1 "info": application-specific).
pub const PQXDH_INFO: &[u8] = b"Parley_PQXDH_X25519_SHA-256_ML-KEM-768_v1";
const AD_PREFIX: &[u8] = b"Parley AD v1";

/// PQXDH errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PqxdhError {
    /// A key in the bundle or initial message is invalid.
    #[error("key agreement failed: {0}")]
    Key(#[from] KeyError),
    /// The initial message names prekeys other than the ones supplied.
    #[error("initial message refers to unknown prekeys")]
    PreKeyMismatch,
}

/// Sent by the initiator with its first messages (Signal's "initial message").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialHeader {
    /// Initiator's identity.
    pub identity: IdentityPublic,
    /// Initiator's ephemeral X25519 key EK_A.
    pub ephemeral: [u8; 32],
    /// ML-KEM ciphertext CT.
    #[serde(with = "bytes")]
    pub kem_ciphertext: Vec<u8>,
    /// Which signed prekey was used.
    pub signed_prekey_id: u32,
    /// Which ML-KEM prekey was used.
    pub pq_prekey_id: u32,
    /// Which one-time prekey was used, if any.
    pub one_time_prekey_id: Option<u32>,
}

/// Result of the agreement: the shared secret and the associated data.
pub struct Agreement {
    /// SK, the Double Ratchet's initial root key.
    pub shared_secret: Secret<32>,
    /// AD, authenticated with every message of the session.
    pub associated_data: Vec<u8>,
}

fn derive(dhs: &[&Secret<32>], ss: &Secret<32>) -> Secret<32> {
    let mut ikm = zeroize::Zeroizing::new(vec![0xFFu8; 32]);
    for dh in dhs {
        ikm.extend_from_slice(dh.expose());
    }
    ikm.extend_from_slice(ss.expose());
    hkdf(&[0u8; 32], &ikm, PQXDH_INFO)
}

/// `AD = prefix || IK_initiator || IK_responder`.
pub fn associated_data(initiator: &IdentityPublic, responder: &IdentityPublic) -> Vec<u8> {
    let mut ad = AD_PREFIX.to_vec();
    ad.extend_from_slice(&initiator.transcript_bytes());
    ad.extend_from_slice(&responder.transcript_bytes());
    ad
}

/// Initiator side (§3.3). The bundle was verified when it was decoded.
pub fn initiate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    ours: &IdentityKeyPair,
    bundle: &PreKeyBundle,
) -> Result<(InitialHeader, Agreement), PqxdhError> {
    let ek = StaticSecret::random_from_rng(rng);
    let spk = &bundle.signed_prekey().public;
    let (kem_ciphertext, ss) = keys::pq_encapsulate(rng, &bundle.pq_prekey().public)?;
    let dh1 = ours.dh(spk)?;
    let dh2 = keys::dh(&ek, bundle.identity().dh_key())?;
    let dh3 = keys::dh(&ek, spk)?;
    let dh4 = bundle
        .one_time_prekey()
        .map(|opk| keys::dh(&ek, &opk.public))
        .transpose()?;
    let mut dhs = vec![&dh1, &dh2, &dh3];
    if let Some(d) = &dh4 {
        dhs.push(d);
    }
    let header = InitialHeader {
        identity: ours.public(),
        ephemeral: PublicKey::from(&ek).to_bytes(),
        kem_ciphertext,
        signed_prekey_id: bundle.signed_prekey().id,
        pq_prekey_id: bundle.pq_prekey().id,
        one_time_prekey_id: bundle.one_time_prekey().map(|o| o.id),
    };
    let agreement = Agreement {
        shared_secret: derive(&dhs, &ss),
        associated_data: associated_data(&header.identity, bundle.identity()),
    };
    Ok((header, agreement))
}

/// Responder side (§3.4). The caller looks up the prekeys the header names
/// and must delete the one-time prekey once the first message decrypts.
pub fn respond(
    ours: &IdentityKeyPair,
    signed_prekey: &SignedPreKey,
    pq_prekey: &PqPreKey,
    one_time_prekey: Option<&OneTimePreKey>,
    header: &InitialHeader,
) -> Result<Agreement, PqxdhError> {
    if header.signed_prekey_id != signed_prekey.id
        || header.pq_prekey_id != pq_prekey.id
        || header.one_time_prekey_id != one_time_prekey.map(|o| o.id)
    {
        return Err(PqxdhError::PreKeyMismatch);
    }
    if header.kem_ciphertext.len() != MLKEM768_CIPHERTEXT_LEN {
        return Err(KeyError::InvalidKey.into());
    }
    let spk = signed_prekey.secret();
    let dh1 = keys::dh(&spk, header.identity.dh_key())?;
    let dh2 = ours.dh(&header.ephemeral)?;
    let dh3 = keys::dh(&spk, &header.ephemeral)?;
    let dh4 = one_time_prekey
        .map(|o| keys::dh(&o.secret(), &header.ephemeral))
        .transpose()?;
    let ss = keys::pq_decapsulate(pq_prekey.seed(), &header.kem_ciphertext)?;
    let mut dhs = vec![&dh1, &dh2, &dh3];
    if let Some(d) = &dh4 {
        dhs.push(d);
    }
    Ok(Agreement {
        shared_secret: derive(&dhs, &ss),
        associated_data: associated_data(&header.identity, &ours.public()),
    })
}
