//! A loopback TCP proxy in front of a real service. `cut()` drops every
//! connection and refuses new ones, exactly what a client sees when the
//! service stops; `restore()` brings it back on the same port.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub(crate) struct OutageProxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    listener_thread: Option<thread::JoinHandle<()>>,
}

impl OutageProxy {
    pub(crate) fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut p = Self {
            addr,
            target,
            up: Arc::new(AtomicBool::new(true)),
            conns: Arc::new(Mutex::new(Vec::new())),
            listener_thread: None,
        };
        p.spawn(listener);
        p
    }

    fn spawn(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (up, conns, target) = (self.up.clone(), self.conns.clone(), self.target);
        self.listener_thread = Some(thread::spawn(move || {
            while up.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(target) else {
                            continue;
                        };
                        let mut c = conns.lock().unwrap();
                        c.push(client.try_clone().unwrap());
                        c.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
            // listener dropped here: new connections are refused
        }));
    }

    /// The service "stops": open connections die, new ones are refused.
    pub(crate) fn cut(&mut self) {
        self.up.store(false, Ordering::SeqCst);
        if let Some(t) = self.listener_thread.take() {
            t.join().unwrap();
        }
        for s in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// The service is back on the same address.
    pub(crate) fn restore(&mut self) {
        self.up.store(true, Ordering::SeqCst);
        let listener = TcpListener::bind(self.addr).unwrap();
        self.spawn(listener);
    }
}

impl Drop for OutageProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
