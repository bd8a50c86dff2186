//! One connection's WebSocket, on the TCP socket taken from actix-http at
//! the upgrade (ADR 0036). actix-http's codec parses the client's frames;
//! what this file adds is buffers that exist only while bytes are in
//! flight: an idle connection holds no read or write buffer, where
//! actix-http's dispatcher kept 8 KiB of each for the connection's life.

use std::cell::{Cell, RefCell};
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use actix_web::web::{Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::Notify;

mod writer;

/// Bytes asked of the socket per read when the buffer has no room left.
const READ_CHUNK: usize = 4096;
/// Longest frame head a client sends (with its mask).
const MAX_HEAD: usize = 14;
/// How long closing may take: writing the Close frame and waiting for the
/// client's.
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

/// The socket is gone, or the client stopped reading for too long.
#[derive(Debug)]
pub(crate) struct Closed;

struct Shared {
    io: TcpStream,
    /// Bytes of whole frames the socket has not taken yet, in order. A
    /// frame goes in whole, in one synchronous step, so frames of the
    /// connection's loop and of its running send never interleave, and no
    /// writer holds anything across a wait.
    pending: RefCell<BytesMut>,
    /// Wakes [`Session::flushing`] when bytes are left pending.
    stashed: Notify,
    /// Set when the socket failed: nothing more is written.
    broken: Cell<bool>,
    /// When the client last took bytes, or bytes became pending: the
    /// client's time to take them counts from here.
    progress: Cell<tokio::time::Instant>,
    /// How long the client may take nothing while bytes wait for it.
    write_stall: Duration,
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
    /// The client sent its Close, or its side of the socket ended.
    peer_closed: bool,
}

/// Both sides of a socket whose handshake is done; `read` holds whatever
/// the client sent after its handshake in the same read.
pub(crate) fn open(
    io: TcpStream,
    read: BytesMut,
    max_size: usize,
    write_stall: Duration,
) -> (Session, Frames) {
    let shared = Rc::new(Shared {
        io,
        pending: RefCell::new(BytesMut::new()),
        stashed: Notify::new(),
        broken: Cell::new(false),
        progress: Cell::new(tokio::time::Instant::now()),
        write_stall,
    });
    let frames = Frames {
        shared: shared.clone(),
        buf: read,
        codec: Codec::new().max_size(max_size),
        max_size,
        partial: None,
        peer_closed: false,
    };
    (Session(shared), frames)
}

impl Session {
    /// Sends one binary message: written now as far as the socket takes
    /// it, the rest left pending; waits only while too much is pending.
    pub(crate) async fn binary(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), Closed> {
        self.0.write(OP_BINARY, bytes.as_ref()).await
    }

    /// Sends the last binary message before a close without waiting for
    /// room (the close's time limit bounds it).
    pub(crate) fn binary_last(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), Closed> {
        self.0.write_now(OP_BINARY, bytes.as_ref())
    }

    /// Answers a ping.
    pub(crate) async fn pong(&mut self, payload: &[u8]) -> Result<(), Closed> {
        self.0.write(OP_PONG, payload).await
    }

    /// Writes pending bytes whenever the socket takes them; returns only
    /// when the socket has failed. The connection's loop polls it beside
    /// everything else, so a client that reads slowly holds up no one.
    pub(crate) async fn flushing(&self) -> Closed {
        self.0.flushing().await
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
            if self.buf.len() > self.max_size + MAX_HEAD {
                // The codec waits for a whole frame before it checks its
                // length: a frame that cannot fit is refused here.
                return Some(Err(ProtocolError::Overflow));
            }
            self.shared.io.readable().await.ok()?;
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            match self.shared.io.try_read_buf(&mut self.buf) {
                Ok(0) => {
                    self.peer_closed = true;
                    return None;
                }
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

    /// Reads and drops whatever the client sends until its side ends.
    async fn discard(&mut self) {
        self.buf = BytesMut::new();
        let mut sink = [0u8; 1024];
        loop {
            if self.shared.io.readable().await.is_err() {
                return;
            }
            match self.shared.io.try_read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }

    /// Joins fragments (the codec checks their order); control frames pass
    /// between them.
    fn join(&mut self, frame: Frame) -> Result<Option<Message>, ProtocolError> {
        Ok(Some(match frame {
            Frame::Binary(bytes) => Message::Binary(bytes),
            Frame::Text(_) => Message::Text,
            Frame::Ping(bytes) => Message::Ping(bytes),
            Frame::Pong(_) => Message::Pong,
            Frame::Close(_) => {
                self.peer_closed = true;
                Message::Close
            }
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
    /// there is one) after whatever is pending and, unless the client has
    /// closed already, waits for the client's Close, so that the TCP close
    /// comes after the client has read ours (RFC 6455 §7.1.1). All of it
    /// within [`CLOSE_WAIT`]; then the socket is dropped.
    pub(crate) async fn close(mut self, session: Session, why: Option<(u16, &str)>) {
        let mut payload = Vec::new();
        if let Some((code, reason)) = why {
            payload.extend_from_slice(&code.to_be_bytes());
            // Control frames carry at most 125 bytes.
            payload.extend_from_slice(&reason.as_bytes()[..reason.len().min(123)]);
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            if session.0.write(OP_CLOSE, &payload).await.is_err() {
                return;
            }
            if !matches!(session.0.flushed().await, Ok(())) || self.peer_closed {
                return;
            }
            while let Some(message) = self.recv().await {
                match message {
                    Ok(Message::Close) => break,
                    Ok(_) => {}
                    // What cannot be read as frames is read and dropped: a
                    // socket closed with unread bytes is reset, and the
                    // client could lose our Close with it.
                    Err(_) => return self.discard().await,
                }
            }
        })
        .await;
    }
}
