//! Device identity and prekeys (docs/architecture.md, Signal X3DH §2.2 / PQXDH §2.2).
//!
//! A device is its Ed25519 identity key. That key signs the device's X25519
//! identity DH key, its signed prekey and its ML-KEM-768 prekey, so a bundle
//! fetched through an untrusted relay can be checked against the identity
//! alone. Every public type here is verified when it is decoded: holding an
//! [`IdentityPublic`] or a [`PreKeyBundle`] means its signatures are valid.
#![deny(clippy::indexing_slicing)]

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use ml_kem::{Decapsulate as _, Encapsulate as _, KeyExport as _, MlKem768};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::codec::{self, DecodeError, bytes, fixed};
use super::primitives::Secret;
use crate::protocol::DeviceId;

/// Signature context for the identity DH key.
const CTX_IDENTITY_DH: &[u8] = b"Parley identity DH key v1";
/// Signature context for signed prekeys.
const CTX_SIGNED_PREKEY: &[u8] = b"Parley signed prekey v1";
/// Signature context for ML-KEM prekeys.
const CTX_PQ_PREKEY: &[u8] = b"Parley ML-KEM-768 prekey v1";

/// Length of an encoded ML-KEM-768 encapsulation key.
pub const MLKEM768_PUBLIC_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext.
pub const MLKEM768_CIPHERTEXT_LEN: usize = 1088;

const VERSION_IDENTITY_SECRET: u8 = 1;
const VERSION_PUBLIC: u8 = 1;
const VERSION_PREKEY_SECRET: u8 = 1;

/// Key errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A signature did not verify (strict Ed25519 verification).
    #[error("signature verification failed")]
    BadSignature,
    /// A public key is not a valid point or is of low order.
    #[error("invalid public key")]
    InvalidKey,
    /// A Diffie-Hellman result was all zeros (non-contributory peer key).
    #[error("non-contributory key agreement")]
    NonContributory,
    /// Bytes could not be decoded.
    #[error("cannot decode key material: {0}")]
    Decode(#[from] DecodeError),
}

fn verify(signing: &[u8; 32], ctx: &[u8], parts: &[&[u8]], sig: &[u8; 64]) -> Result<(), KeyError> {
    let vk = VerifyingKey::from_bytes(signing).map_err(|_| KeyError::InvalidKey)?;
    let mut msg = ctx.to_vec();
    for p in parts {
        msg.extend_from_slice(p);
    }
    vk.verify_strict(&msg, &Signature::from_bytes(sig))
        .map_err(|_| KeyError::BadSignature)
}

pub(crate) fn dh(secret: &StaticSecret, public: &[u8; 32]) -> Result<Secret<32>, KeyError> {
    let shared = secret.diffie_hellman(&PublicKey::from(*public));
    if !shared.was_contributory() {
        return Err(KeyError::NonContributory);
    }
    Ok(Secret::new(shared.to_bytes()))
}

/// A device's long-term identity (private). Zeroized on drop.
pub struct IdentityKeyPair {
    signing: SigningKey,
    dh: StaticSecret,
}

impl core::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("device_id", &self.device_id())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct IdentitySecretWire {
    signing: Secret<32>,
    dh: Secret<32>,
}

impl IdentityKeyPair {
    /// A fresh identity.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            signing: SigningKey::generate(rng),
            dh: StaticSecret::random_from_rng(rng),
        }
    }

    /// The device id: the Ed25519 public key.
    pub fn device_id(&self) -> DeviceId {
        DeviceId::new(self.signing.verifying_key().to_bytes())
    }

    /// The public half, with the DH key signed by the identity key.
    pub fn public(&self) -> IdentityPublic {
        let dh = PublicKey::from(&self.dh).to_bytes();
        IdentityPublic {
            signing: self.device_id().to_bytes(),
            dh,
            dh_signature: self.sign(CTX_IDENTITY_DH, &[&dh]),
        }
    }

    /// Signs `ctx || parts` (every signature in Parley has a context string).
    pub fn sign(&self, ctx: &[u8], parts: &[&[u8]]) -> [u8; 64] {
        let mut msg = ctx.to_vec();
        for p in parts {
            msg.extend_from_slice(p);
        }
        self.signing.sign(&msg).to_bytes()
    }

    pub(crate) fn dh(&self, public: &[u8; 32]) -> Result<Secret<32>, KeyError> {
        dh(&self.dh, public)
    }

    /// Versioned bytes for storage (secret: keep them encrypted at rest).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(codec::encode(
            VERSION_IDENTITY_SECRET,
            &IdentitySecretWire {
                signing: Secret::new(self.signing.to_bytes()),
                dh: Secret::new(self.dh.to_bytes()),
            },
        ))
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyError> {
        let w: IdentitySecretWire = codec::decode(VERSION_IDENTITY_SECRET, b)?;
        Ok(Self {
            signing: SigningKey::from_bytes(w.signing.expose()),
            dh: StaticSecret::from(*w.dh.expose()),
        })
    }

    /// Creates a signed prekey with this id.
    pub fn signed_prekey<R: CryptoRng + ?Sized>(&self, rng: &mut R, id: u32) -> SignedPreKey {
        let secret = Secret::<32>::random(rng);
        let public = PublicKey::from(&StaticSecret::from(*secret.expose())).to_bytes();
        SignedPreKey {
            id,
            secret,
            public,
            signature: self.sign(CTX_SIGNED_PREKEY, &[&id.to_be_bytes(), &public]),
        }
    }

    /// Creates a signed ML-KEM-768 prekey with this id.
    pub fn pq_prekey<R: CryptoRng + ?Sized>(&self, rng: &mut R, id: u32) -> PqPreKey {
        let seed = Secret::<64>::random(rng);
        let public = pq_public(&seed);
        PqPreKey {
            id,
            signature: self.sign(CTX_PQ_PREKEY, &[&id.to_be_bytes(), &public]),
            seed,
            public,
        }
    }
}

fn pq_decapsulation_key(seed: &Secret<64>) -> ml_kem::DecapsulationKey768 {
    ml_kem::DecapsulationKey768::from_seed((*seed.expose()).into())
}

fn pq_public(seed: &Secret<64>) -> Vec<u8> {
    pq_decapsulation_key(seed)
        .encapsulation_key()
        .to_bytes()
        .to_vec()
}

/// Encapsulates to an ML-KEM-768 public key: (ciphertext, shared secret).
pub(crate) fn pq_encapsulate<R: CryptoRng + ?Sized>(
    rng: &mut R,
    public: &[u8],
) -> Result<(Vec<u8>, Secret<32>), KeyError> {
    let key = ml_kem::Key::<ml_kem::EncapsulationKey768>::try_from(public)
        .map_err(|_| KeyError::InvalidKey)?;
    let ek = ml_kem::EncapsulationKey768::new(&key).map_err(|_| KeyError::InvalidKey)?;
    let (ct, ss) = ek.encapsulate_with_rng(rng);
    Ok((ct.to_vec(), Secret::new(ss.into())))
}

/// Decapsulates with a prekey's seed.
pub(crate) fn pq_decapsulate(seed: &Secret<64>, ciphertext: &[u8]) -> Result<Secret<32>, KeyError> {
    let ss = pq_decapsulation_key(seed)
        .decapsulate_slice(ciphertext)
        .map_err(|_| KeyError::InvalidKey)?;
    let _ = MlKem768; // parameter set named for readers: ML-KEM-768 (FIPS 203)
    Ok(Secret::new(ss.into()))
}

/// The public identity of a device: Ed25519 key plus its signed X25519 key.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "IdentityPublicWire")]
pub struct IdentityPublic {
    signing: [u8; 32],
    dh: [u8; 32],
    #[serde(with = "fixed")]
    dh_signature: [u8; 64],
}

#[derive(Deserialize)]
struct IdentityPublicWire {
    signing: [u8; 32],
    dh: [u8; 32],
    #[serde(with = "fixed")]
    dh_signature: [u8; 64],
}

impl TryFrom<IdentityPublicWire> for IdentityPublic {
    type Error = KeyError;
    fn try_from(w: IdentityPublicWire) -> Result<Self, KeyError> {
        verify(&w.signing, CTX_IDENTITY_DH, &[&w.dh], &w.dh_signature)?;
        Ok(Self {
            signing: w.signing,
            dh: w.dh,
            dh_signature: w.dh_signature,
        })
    }
}

impl core::fmt::Debug for IdentityPublic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "IdentityPublic({})", hex(&self.signing))
    }
}

impl IdentityPublic {
    /// The device id (Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        DeviceId::new(self.signing)
    }

    /// The X25519 identity key.
    pub fn dh_key(&self) -> &[u8; 32] {
        &self.dh
    }

    /// Verifies a signature by this identity over `ctx || parts`.
    pub fn verify(&self, ctx: &[u8], parts: &[&[u8]], sig: &[u8; 64]) -> Result<(), KeyError> {
        verify(&self.signing, ctx, parts, sig)
    }

    /// The 64 bytes that identify this device in transcripts and associated data.
    pub fn transcript_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.signing);
        out[32..].copy_from_slice(&self.dh);
        out
    }

    /// Versioned encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_PUBLIC, self)
    }

    /// Decodes and verifies.
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyError> {
        Ok(codec::decode(VERSION_PUBLIC, b)?)
    }
}

/// Versioned storage encoding for private prekeys (secret bytes: keep them
/// encrypted at rest).
macro_rules! stored_prekey {
    ($($t:ty),*) => {$(
        impl $t {
            /// Versioned bytes for storage.
            pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
                Zeroizing::new(codec::encode(VERSION_PREKEY_SECRET, self))
            }

            /// Restores from [`Self::to_bytes`].
            pub fn from_bytes(b: &[u8]) -> Result<Self, KeyError> {
                Ok(codec::decode(VERSION_PREKEY_SECRET, b)?)
            }
        }
    )*};
}

stored_prekey!(SignedPreKey, PqPreKey, OneTimePreKey);

/// A signed X25519 prekey (private).
#[derive(Clone, Serialize, Deserialize)]
pub struct SignedPreKey {
    /// Id the bundle refers to.
    pub id: u32,
    secret: Secret<32>,
    public: [u8; 32],
    #[serde(with = "fixed")]
    signature: [u8; 64],
}

impl core::fmt::Debug for SignedPreKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SignedPreKey(id {})", self.id)
    }
}

impl SignedPreKey {
    /// Public half for the bundle.
    pub fn public(&self) -> SignedPreKeyPublic {
        SignedPreKeyPublic {
            id: self.id,
            public: self.public,
            signature: self.signature,
        }
    }

    pub(crate) fn secret(&self) -> StaticSecret {
        StaticSecret::from(*self.secret.expose())
    }
}

/// A signed ML-KEM-768 prekey (private; the 64-byte FIPS 203 seed).
#[derive(Clone, Serialize, Deserialize)]
pub struct PqPreKey {
    /// Id the bundle refers to.
    pub id: u32,
    seed: Secret<64>,
    #[serde(with = "bytes")]
    public: Vec<u8>,
    #[serde(with = "fixed")]
    signature: [u8; 64],
}

impl core::fmt::Debug for PqPreKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PqPreKey(id {})", self.id)
    }
}

impl PqPreKey {
    /// Public half for the bundle.
    pub fn public(&self) -> PqPreKeyPublic {
        PqPreKeyPublic {
            id: self.id,
            public: self.public.clone(),
            signature: self.signature,
        }
    }

    pub(crate) fn seed(&self) -> &Secret<64> {
        &self.seed
    }
}

/// A one-time X25519 prekey (private). Used at most once, then deleted.
#[derive(Clone, Serialize, Deserialize)]
pub struct OneTimePreKey {
    /// Id the bundle refers to.
    pub id: u32,
    secret: Secret<32>,
}

impl core::fmt::Debug for OneTimePreKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OneTimePreKey(id {})", self.id)
    }
}

impl OneTimePreKey {
    /// A batch of `count` fresh one-time prekeys with ids `first..first+count`.
    pub fn batch<R: CryptoRng + ?Sized>(rng: &mut R, first: u32, count: u32) -> Vec<Self> {
        (0..count)
            .map(|i| Self {
                id: first.wrapping_add(i),
                secret: Secret::random(rng),
            })
            .collect()
    }

    /// Public half for upload.
    pub fn public(&self) -> OneTimePreKeyPublic {
        OneTimePreKeyPublic {
            id: self.id,
            public: PublicKey::from(&self.secret()).to_bytes(),
        }
    }

    pub(crate) fn secret(&self) -> StaticSecret {
        StaticSecret::from(*self.secret.expose())
    }
}

/// Public signed prekey.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPreKeyPublic {
    /// Id.
    pub id: u32,
    /// X25519 public key.
    pub public: [u8; 32],
    /// Identity signature over context, id and key.
    #[serde(with = "fixed")]
    pub signature: [u8; 64],
}

/// Public ML-KEM-768 prekey.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PqPreKeyPublic {
    /// Id.
    pub id: u32,
    /// Encapsulation key (1184 bytes).
    #[serde(with = "bytes")]
    pub public: Vec<u8>,
    /// Identity signature over context, id and key.
    #[serde(with = "fixed")]
    pub signature: [u8; 64],
}

/// Public one-time prekey.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimePreKeyPublic {
    /// Id.
    pub id: u32,
    /// X25519 public key.
    pub public: [u8; 32],
}

/// What an initiator fetches to start a session with an offline device.
/// Decoding verifies every signature against the identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PreKeyBundleWire")]
pub struct PreKeyBundle {
    identity: IdentityPublic,
    signed_prekey: SignedPreKeyPublic,
    pq_prekey: PqPreKeyPublic,
    one_time_prekey: Option<OneTimePreKeyPublic>,
}

#[derive(Deserialize)]
struct PreKeyBundleWire {
    identity: IdentityPublic,
    signed_prekey: SignedPreKeyPublic,
    pq_prekey: PqPreKeyPublic,
    one_time_prekey: Option<OneTimePreKeyPublic>,
}

impl TryFrom<PreKeyBundleWire> for PreKeyBundle {
    type Error = KeyError;
    fn try_from(w: PreKeyBundleWire) -> Result<Self, KeyError> {
        Self::new(w.identity, w.signed_prekey, w.pq_prekey, w.one_time_prekey)
    }
}

impl PreKeyBundle {
    /// Assembles a bundle, verifying both prekey signatures.
    pub fn new(
        identity: IdentityPublic,
        signed_prekey: SignedPreKeyPublic,
        pq_prekey: PqPreKeyPublic,
        one_time_prekey: Option<OneTimePreKeyPublic>,
    ) -> Result<Self, KeyError> {
        identity.verify(
            CTX_SIGNED_PREKEY,
            &[&signed_prekey.id.to_be_bytes(), &signed_prekey.public],
            &signed_prekey.signature,
        )?;
        if pq_prekey.public.len() != MLKEM768_PUBLIC_LEN {
            return Err(KeyError::InvalidKey);
        }
        identity.verify(
            CTX_PQ_PREKEY,
            &[&pq_prekey.id.to_be_bytes(), &pq_prekey.public],
            &pq_prekey.signature,
        )?;
        Ok(Self {
            identity,
            signed_prekey,
            pq_prekey,
            one_time_prekey,
        })
    }

    /// The device this bundle belongs to.
    pub fn identity(&self) -> &IdentityPublic {
        &self.identity
    }

    /// Signed prekey.
    pub fn signed_prekey(&self) -> &SignedPreKeyPublic {
        &self.signed_prekey
    }

    /// ML-KEM prekey.
    pub fn pq_prekey(&self) -> &PqPreKeyPublic {
        &self.pq_prekey
    }

    /// One-time prekey, if the relay still had one.
    pub fn one_time_prekey(&self) -> Option<&OneTimePreKeyPublic> {
        self.one_time_prekey.as_ref()
    }

    /// Versioned encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(VERSION_PUBLIC, self)
    }

    /// Decodes and verifies.
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyError> {
        Ok(codec::decode(VERSION_PUBLIC, b)?)
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
