//! One connection's WebSocket, on the TCP socket taken from actix-http at
//! the upgrade (ADR 0036). actix-http's codec parses the client's frames;
//! what this file adds is buffers that exist only while bytes are in
//! flight: an idle connection holds no read or write buffer, where
//! actix-http's dispatcher kept 8 KiB of each for the connection's life.

use std::cell::Cell;
use std::io::{ErrorKind, IoSlice};
use std::rc::Rc;
use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use actix_web::web::{Bytes, BytesMut};
use tokio::net::TcpStream;

/// Bytes asked of the socket per read when the buffer has no room left.
const READ_CHUNK: usize = 4096;
/// How long a closing connection waits for the client's Close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// RFC 6455 opcodes of the frames the relay sends.
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PONG: u8 = 0xA;

/// A whole message from the client (continuations already joined).
#[derive(Debug)]
pub(crate) enum Message {
    Binary(Bytes),
    /// A text message; the relay takes binary frames only.
    Text,
    Ping(Bytes),
    Pong,
    Close,
}

/// The socket is gone, or a send on it was abandoned half way.
#[derive(Debug)]
pub(crate) struct Closed;

struct Shared {
    io: TcpStream,
    /// One frame is written at a time: a connection's running send and
    /// its main loop both write.
    writing: tokio::sync::Mutex<()>,
    /// Set when a write failed or was dropped half way: the stream of
    /// frames is broken and nothing more may be written.
    broken: Cell<bool>,
}

/// The writing side, cloned into whatever sends on this connection.
#[derive(Clone)]
pub(crate) struct Session(Rc<Shared>);

/// The reading side: whole messages, in order.
pub(crate) struct Frames {
    shared: Rc<Shared>,
    buf: BytesMut,
    codec: Codec,
    max_size: usize,
    /// A fragmented message being joined: its bytes, and whether it is text.
    partial: Option<(BytesMut, bool)>,
}

/// Both sides of a socket whose handshake is done; `read` holds whatever
/// the client sent after its handshake in the same read.
pub(crate) fn open(io: TcpStream, read: BytesMut, max_size: usize) -> (Session, Frames) {
    let shared = Rc::new(Shared {
        io,
        writing: tokio::sync::Mutex::new(()),
        broken: Cell::new(false),
    });
    let frames = Frames {
        shared: shared.clone(),
        buf: read,
        codec: Codec::new().max_size(max_size),
        max_size,
        partial: None,
    };
    (Session(shared), frames)
}

impl Session {
    /// Sends one binary message.
    pub(crate) async fn binary(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), Closed> {
        self.0.write(OP_BINARY, bytes.as_ref()).await
    }

    /// Answers a ping.
    pub(crate) async fn pong(&mut self, payload: &[u8]) -> Result<(), Closed> {
        self.0.write(OP_PONG, payload).await
    }
}

/// Marks the socket broken unless disarmed: a write dropped half way leaves
/// part of a frame on the wire.
struct Unfinished<'a>(&'a Cell<bool>);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

impl Shared {
    async fn write(&self, op: u8, payload: &[u8]) -> Result<(), Closed> {
        let _turn = self.writing.lock().await;
        if self.broken.get() {
            return Err(Closed);
        }
        let unfinished = Unfinished(&self.broken);
        let (head, head_len) = frame_head(op, payload.len());
        let mut slices = [IoSlice::new(&head[..head_len]), IoSlice::new(payload)];
        let mut left: &mut [IoSlice<'_>] = &mut slices;
        let mut todo = head_len + payload.len();
        while todo > 0 {
            match self.io.try_write_vectored(left) {
                Ok(0) => return Err(Closed),
                Ok(n) => {
                    todo -= n;
                    IoSlice::advance_slices(&mut left, n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.io.writable().await.map_err(|_| Closed)?;
                }
                Err(_) => return Err(Closed),
            }
        }
        std::mem::forget(unfinished);
        Ok(())
    }
}

/// The head of an unmasked, final server frame (RFC 6455 §5.2): actix-http's
/// encoder writes head and payload into one buffer; the relay writes both
/// from where they are, with one vectored write.
fn frame_head(op: u8, len: usize) -> ([u8; 10], usize) {
    let mut head = [0u8; 10];
    head[0] = 0x80 | op;
    let len64 = len as u64;
    if len < 126 {
        head[1] = len64 as u8;
        (head, 2)
    } else if let Ok(short) = u16::try_from(len) {
        head[1] = 126;
        head[2..4].copy_from_slice(&short.to_be_bytes());
        (head, 4)
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&len64.to_be_bytes());
        (head, 10)
    }
}

impl Frames {
    /// The next whole message; `None` once the socket is closed or failed.
    /// Cancel-safe: bytes read stay in the buffer until a message is whole.
    pub(crate) async fn recv(&mut self) -> Option<Result<Message, ProtocolError>> {
        loop {
            if let Some(next) = self.buffered() {
                return Some(next);
            }
            if self.buf.is_empty() {
                // Idle from here on, perhaps for hours: hold no buffer.
                self.buf = BytesMut::new();
            }
            self.shared.io.readable().await.ok()?;
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            match self.shared.io.try_read_buf(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
    }

    /// A message already whole in the buffer, if any.
    fn buffered(&mut self) -> Option<Result<Message, ProtocolError>> {
        while !self.buf.is_empty() {
            let frame = match self.codec.decode(&mut self.buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if self.buf.is_empty() {
                // The frame keeps what it uses; the rest goes now, not when
                // the next read comes.
                self.buf = BytesMut::new();
            }
            match self.join(frame) {
                Ok(Some(message)) => return Some(Ok(message)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }

    /// Joins fragments (the codec checks their order); control frames pass
    /// between them.
    fn join(&mut self, frame: Frame) -> Result<Option<Message>, ProtocolError> {
        Ok(Some(match frame {
            Frame::Binary(bytes) => Message::Binary(bytes),
            Frame::Text(_) => Message::Text,
            Frame::Ping(bytes) => Message::Ping(bytes),
            Frame::Pong(_) => Message::Pong,
            Frame::Close(_) => Message::Close,
            Frame::Continuation(Item::FirstText(bytes)) => return self.extend(bytes, Some(true)),
            Frame::Continuation(Item::FirstBinary(bytes)) => {
                return self.extend(bytes, Some(false));
            }
            Frame::Continuation(Item::Continue(bytes)) => return self.extend(bytes, None),
            Frame::Continuation(Item::Last(bytes)) => {
                self.extend(bytes, None)?;
                match self.partial.take() {
                    Some((_, true)) => Message::Text,
                    Some((joined, false)) => Message::Binary(joined.freeze()),
                    None => return Err(ProtocolError::ContinuationNotStarted),
                }
            }
        }))
    }

    /// Adds a fragment; `first` says whether it starts a text message.
    fn extend(
        &mut self,
        bytes: Bytes,
        first: Option<bool>,
    ) -> Result<Option<Message>, ProtocolError> {
        if let Some(text) = first {
            self.partial = Some((BytesMut::new(), text));
        }
        let Some((joined, _)) = self.partial.as_mut() else {
            return Err(ProtocolError::ContinuationNotStarted);
        };
        if joined.len() + bytes.len() > self.max_size {
            return Err(ProtocolError::Overflow);
        }
        joined.extend_from_slice(&bytes);
        Ok(None)
    }

    /// Ends the connection: sends a Close frame (with a code and reason when
    /// there is one) and waits a little for the client's, so that the TCP
    /// close comes after the client has read ours (RFC 6455 §7.1.1).
    pub(crate) async fn close(mut self, session: Session, why: Option<(u16, &str)>) {
        let mut payload = Vec::new();
        if let Some((code, reason)) = why {
            payload.extend_from_slice(&code.to_be_bytes());
            // Control frames carry at most 125 bytes.
            payload.extend_from_slice(&reason.as_bytes()[..reason.len().min(123)]);
        }
        if session.0.write(OP_CLOSE, &payload).await.is_err() {
            return;
        }
        drop(session);
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(message)) = self.recv().await {
                if matches!(message, Message::Close) {
                    break;
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use actix_codec::Decoder;
    use actix_http::ws::{Codec, Frame};
    use actix_web::web::BytesMut;

    use super::{OP_BINARY, frame_head};

    /// Every length form of the hand-written head, read back by
    /// actix-http's codec as a client would.
    #[test]
    fn frame_heads_parse_as_rfc_6455_frames() {
        for len in [0, 1, 125, 126, 127, 65_535, 65_536, 300_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (head, n) = frame_head(OP_BINARY, len);
            let mut wire = BytesMut::from(&head[..n]);
            wire.extend_from_slice(&payload);
            let mut client = Codec::new().client_mode().max_size(400_000);
            match client.decode(&mut wire) {
                Ok(Some(Frame::Binary(got))) => assert_eq!(&got[..], &payload[..], "length {len}"),
                other => panic!("length {len}: {other:?}"),
            }
            assert!(wire.is_empty(), "length {len}: bytes left over");
        }
    }
}
