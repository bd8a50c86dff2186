//! Writing frames: straight to the socket when it takes them, the rest
//! pending in order, with no lock held across a wait (two writers share a
//! connection: its loop and its running send, polled by that loop).

use std::io::{ErrorKind, IoSlice};

use actix_web::web::{Buf, BytesMut};
use tokio::time::Instant;

use super::{Closed, Shared};

/// Pending bytes past which a writer waits for the socket (so a slow
/// reader holds at most this plus one frame).
const PENDING_MAX: usize = 128 * 1024;

impl Shared {
    /// Writes one frame after whatever is pending; waits only while
    /// [`PENDING_MAX`] or more bytes are pending.
    pub(super) async fn write(&self, op: u8, payload: &[u8]) -> Result<(), Closed> {
        let (head, head_len) = frame_head(op, payload.len());
        while !self.put(&head[..head_len], payload, false)? {
            self.wait_writable().await?;
        }
        Ok(())
    }

    /// Writes one frame without waiting, however much is pending: for the
    /// last frame before a close, which [`CLOSE_WAIT`](super::CLOSE_WAIT)
    /// bounds.
    pub(super) fn write_now(&self, op: u8, payload: &[u8]) -> Result<(), Closed> {
        let (head, head_len) = frame_head(op, payload.len());
        self.put(&head[..head_len], payload, true).map(|_| ())
    }

    /// Writes the frame as far as the socket takes it and keeps the rest;
    /// `false` when it must wait for room first.
    fn put(&self, head: &[u8], payload: &[u8], always: bool) -> Result<bool, Closed> {
        self.push_out()?;
        let pending = self.pending.borrow().len();
        if pending == 0 {
            let slices = [IoSlice::new(head), IoSlice::new(payload)];
            let written = match self.io.try_write_vectored(&slices) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                Err(_) => return Err(self.fail()),
            };
            self.stash(head, payload, written);
            return Ok(true);
        }
        // Any frame fits while less than the cap is pending, so a large one
        // is not starved by a stream of small ones.
        if always || pending < PENDING_MAX {
            self.stash(head, payload, 0);
            return Ok(true);
        }
        Ok(false)
    }

    /// Keeps what the socket did not take of a frame (`written` bytes of
    /// head and payload went out), whole and in order.
    fn stash(&self, head: &[u8], payload: &[u8], written: usize) {
        if written == head.len() + payload.len() {
            return;
        }
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() {
            // The client's time to take these bytes starts now.
            self.progress.set(Instant::now());
        }
        if written < head.len() {
            pending.extend_from_slice(&head[written..]);
            pending.extend_from_slice(payload);
        } else {
            pending.extend_from_slice(&payload[written - head.len()..]);
        }
        drop(pending);
        self.stashed.notify_one();
    }

    /// Writes pending bytes as far as the socket takes them now, and
    /// frees the buffer once they are all out.
    fn push_out(&self) -> Result<(), Closed> {
        if self.broken.get() {
            return Err(Closed);
        }
        let mut pending = self.pending.borrow_mut();
        while !pending.is_empty() {
            match self.io.try_write(&pending) {
                Ok(0) => {
                    drop(pending);
                    return Err(self.fail());
                }
                Ok(n) => {
                    pending.advance(n);
                    self.progress.set(Instant::now());
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(_) => {
                    drop(pending);
                    return Err(self.fail());
                }
            }
        }
        if pending.capacity() > 0 {
            *pending = BytesMut::new();
        }
        Ok(())
    }

    /// Waits until nothing is pending.
    pub(super) async fn flushed(&self) -> Result<(), Closed> {
        loop {
            self.push_out()?;
            if self.pending.borrow().is_empty() {
                return Ok(());
            }
            self.wait_writable().await?;
        }
    }

    /// Writes pending bytes whenever the socket takes them; returns only
    /// once the socket has failed. Cancel-safe.
    pub(super) async fn flushing(&self) -> Closed {
        loop {
            if let Err(closed) = self.flushed().await {
                return closed;
            }
            self.stashed.notified().await;
        }
    }

    /// Waits for room, up to the write-stall limit after the client last
    /// took bytes: however often the wait is started anew (the loop starts
    /// [`Shared::flushing`] again on every turn), a client that takes
    /// nothing is given up on time, and one that keeps taking bytes is kept
    /// however long its backlog lasts.
    async fn wait_writable(&self) -> Result<(), Closed> {
        let deadline = self.progress.get() + self.write_stall;
        match tokio::time::timeout_at(deadline, self.io.writable()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.fail()),
            Err(_) => {
                metrics::counter!("parley_ws_write_stalls_total").increment(1);
                Err(self.fail())
            }
        }
    }

    fn fail(&self) -> Closed {
        self.broken.set(true);
        *self.pending.borrow_mut() = BytesMut::new();
        Closed
    }
}

/// The head of an unmasked, final server frame (RFC 6455 §5.2): actix-http's
/// encoder writes head and payload into one buffer; the relay writes both
/// from where they are, with one vectored write.
pub(super) fn frame_head(op: u8, len: usize) -> ([u8; 10], usize) {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_codec::Decoder;
    use actix_http::ws::{Codec, Frame};
    use actix_web::web::BytesMut;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket, TcpStream};
    use tokio::time::Instant;

    use super::super::{OP_BINARY, open};
    use super::frame_head;

    const STALL: Duration = Duration::from_secs(1);
    /// Frames the slow reader is sent: 768 KiB, about 2.4 s at its pace.
    const FRAMES: usize = 48;
    const FRAME: [u8; 16 * 1024] = [7; 16 * 1024];

    /// The relay's end with a small send buffer and the client's with a
    /// small receive buffer, so pending bytes stay pending while the
    /// client reads slowly (loopback buffers would take megabytes).
    async fn small_pair() -> (TcpStream, TcpStream) {
        let listener = TcpSocket::new_v4().unwrap();
        listener.set_recv_buffer_size(8 * 1024).unwrap();
        listener.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener: TcpListener = listener.listen(1).unwrap();
        let relay = TcpSocket::new_v4().unwrap();
        relay.set_send_buffer_size(8 * 1024).unwrap();
        let (relay, client) = tokio::join!(
            relay.connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        (relay.unwrap(), client.unwrap().0)
    }

    /// A client that takes 8 KiB every 25 ms gets 768 KiB over more than
    /// twice the limit, with bytes pending all along: its progress keeps it
    /// (it fails if only bytes becoming pending counted as progress).
    #[tokio::test]
    async fn a_slow_reader_that_keeps_taking_bytes_is_kept() {
        let (relay, mut client) = small_pair().await;
        let reader = tokio::spawn(async move {
            let (mut buf, mut total) = ([0u8; 8 * 1024], 0);
            loop {
                tokio::time::sleep(Duration::from_millis(25)).await;
                match client.read(&mut buf).await.unwrap() {
                    0 => return total,
                    n => total += n,
                }
            }
        });
        let (session, frames) = open(relay, BytesMut::new(), 1 << 20, STALL);
        let start = Instant::now();
        for i in 0..FRAMES {
            session
                .0
                .write(OP_BINARY, &FRAME)
                .await
                .unwrap_or_else(|_| panic!("given up at frame {i}"));
        }
        session.0.flushed().await.expect("given up while flushing");
        assert!(
            start.elapsed() > STALL * 3 / 2,
            "the reader was not slow: {:?}",
            start.elapsed()
        );
        drop((session, frames));
        assert_eq!(
            reader.await.unwrap(),
            FRAMES * (FRAME.len() + 4),
            "every byte arrived"
        );
    }

    /// A client that takes nothing is given up once the limit has passed
    /// since it last took bytes, and the writer learns it.
    #[tokio::test]
    async fn a_client_that_takes_nothing_is_given_up() {
        let (relay, _client) = small_pair().await;
        let (session, _frames) = open(relay, BytesMut::new(), 1 << 20, STALL);
        let start = Instant::now();
        let mut written = 0;
        let given_up = loop {
            if session.0.write(OP_BINARY, &FRAME).await.is_err() {
                break start.elapsed();
            }
            written += 1;
            assert!(written < 64, "1 MiB taken by a client that reads nothing");
        };
        assert!(given_up >= STALL, "given up after {given_up:?}");
        assert!(given_up < 10 * STALL, "given up only after {given_up:?}");
        assert!(
            session.0.write(OP_BINARY, b"more").await.is_err(),
            "nothing more is written"
        );
    }

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
