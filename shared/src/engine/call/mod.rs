//! Calls (docs/architecture.md): the signals two devices exchange
//! (`signal.rs`) and the rules that drive a call from them ([`CallMachine`]): ring
//! timeout, busy, glare, caller-only ICE restart, candidate buffering and
//! stale signals. The browser adapter only performs WebRTC operations and
//! feeds their results back.

mod machine;
mod signal;
mod types;

pub use machine::CallMachine;
pub use signal::*;
pub use types::*;
