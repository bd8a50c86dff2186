//! The relay's REST surface as types (docs/architecture.md, "Typed routes").
//!
//! Each route is one [`Endpoint`]: its method, its route template (which the
//! relay registers), its path (which the client requests), whether it needs
//! the device token, and its body and answer types. The relay and every
//! client build paths and read answers only through these, so a route or a
//! body changes in one place. [`Request`] is the adapter-neutral form the
//! engine emits as an effect; [`Endpoint::decode`] turns the adapter's
//! `(status, bytes)` back into a typed answer or a typed [`Failure`].

mod routes;

pub use routes::*;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{API_PREFIX, ApiError, ErrorCode};

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// A request body on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`.
    Json(Vec<u8>),
    /// `application/octet-stream` (pairing messages).
    Bytes(Vec<u8>),
}

impl Body {
    /// The `content-type` header, if any.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Self::Empty => None,
            Self::Json(_) => Some("application/json"),
            Self::Bytes(_) => Some("application/octet-stream"),
        }
    }

    /// The bytes to send (empty for [`Body::Empty`]).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Empty => &[],
            Self::Json(b) | Self::Bytes(b) => b,
        }
    }
}

/// One request, ready for any HTTP client: what the engine emits and the
/// adapter performs (adding `Authorization: Bearer` when `auth` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute path, with [`API_PREFIX`].
    pub path: String,
    /// Whether the device's bearer token goes with it.
    pub auth: bool,
    /// Body.
    pub body: Body,
}

/// Why a call did not give the answer it asked for. Branch on these, never on
/// raw status numbers or message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// No answer at all (network down, relay stopped, a proxy's 5xx page).
    #[error("The relay cannot be reached. Check your connection; Parley retries by itself.")]
    Unreachable,
    /// The relay refused, with its stable code and an explanation for people.
    #[error("{message}")]
    Refused {
        /// Machine-readable code.
        code: ErrorCode,
        /// Explanation, safe to show.
        message: String,
    },
    /// An answer that is not what the route promises (a foreign server, a
    /// proxy page, a newer relay).
    #[error("The relay sent an unexpected answer ({status}).")]
    Unexpected {
        /// The HTTP status it came with.
        status: u16,
    },
}

impl Failure {
    /// The relay's code, when it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the relay refused with `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == Some(code)
    }

    /// Worth retrying unchanged later: no answer, or the relay asked to wait.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable)
            || matches!(
                self.code(),
                Some(ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal)
            )
    }
}

/// How an answer's body is read.
pub trait Answer: Sized {
    /// Reads a 2xx answer.
    fn read(status: u16, body: &[u8]) -> Option<Self>;
}

/// A JSON answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> Answer for Json<T> {
    fn read(status: u16, body: &[u8]) -> Option<Self> {
        if status == 204 {
            return None;
        }
        serde_json::from_slice(body).ok().map(Json)
    }
}

/// `204 No Content`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoContent;

impl Answer for NoContent {
    fn read(status: u16, _: &[u8]) -> Option<Self> {
        (status == 204 || status == 200).then_some(NoContent)
    }
}

/// Opaque bytes, or nothing yet (`204`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeBytes(pub Option<Vec<u8>>);

impl Answer for MaybeBytes {
    fn read(status: u16, body: &[u8]) -> Option<Self> {
        Some(MaybeBytes((status != 204).then(|| body.to_vec())))
    }
}

/// Opaque bytes (a signed device list).
impl Answer for Bytes {
    fn read(status: u16, body: &[u8]) -> Option<Self> {
        (status != 204).then(|| Bytes(body.to_vec()))
    }
}

/// A request body's encoding.
pub trait Payload {
    /// The wire form.
    fn body(&self) -> Body;
}

/// No body.
impl Payload for () {
    fn body(&self) -> Body {
        Body::Empty
    }
}

/// Opaque bytes (pairing messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Payload for Bytes {
    fn body(&self) -> Body {
        Body::Bytes(self.0.clone())
    }
}

impl<T: Serialize> Payload for Json<T> {
    fn body(&self) -> Body {
        // Serializing these plain structs into a Vec cannot fail.
        Body::Json(serde_json::to_vec(&self.0).unwrap_or_default())
    }
}

/// One route of the relay's API.
pub trait Endpoint {
    /// Method.
    const METHOD: Method;
    /// Template under [`API_PREFIX`], in the relay router's syntax
    /// (`/devices/{id}/bundle`).
    const ROUTE: &'static str;
    /// Whether the device token is required.
    const AUTH: bool = true;
    /// Body sent.
    type Body: Payload;
    /// Answer on success.
    type Answer: Answer;

    /// The route with its parameters, under [`API_PREFIX`].
    fn path(&self) -> String {
        format!("{API_PREFIX}{}", Self::ROUTE)
    }

    /// The request to perform.
    fn request(&self, body: &Self::Body) -> Request {
        Request {
            method: Self::METHOD,
            path: self.path(),
            auth: Self::AUTH,
            body: body.body(),
        }
    }

    /// Reads the adapter's answer: a typed success or a typed failure.
    fn decode(status: u16, body: &[u8]) -> Result<Self::Answer, Failure> {
        decode_answer(status, body)
    }
}

/// [`Endpoint::decode`] for any answer type.
pub fn decode_answer<A: Answer>(status: u16, body: &[u8]) -> Result<A, Failure> {
    if (200..300).contains(&status) {
        return A::read(status, body).ok_or(Failure::Unexpected { status });
    }
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => Err(Failure::Refused {
            code: e.code,
            message: e.message,
        }),
        // A proxy's page, or a stopped relay behind one.
        Err(_) if status >= 500 || status == 0 => Err(Failure::Unreachable),
        Err(_) => Err(Failure::Unexpected { status }),
    }
}

#[cfg(test)]
mod tests;
