//! SIP user-agent server (RFC 3261) over UDP and TCP, sans-IO.
//!
//! - [`uas`]: the state machine the server drives: transactions, dialogs, timers, the call life
//!   cycle (offer, accept/reject, answer, re-INVITE, hang-up from either side).
//! - [`framing`]: cuts a TCP byte stream into whole SIP messages (RFC 3261 §18.3) and spots
//!   RFC 5626 keep-alive pings.
//! - [`message`]: one message in, a validated request or response out; the response writer.
//! - [`dialog`]: what an INVITE tells us about its dialog (remote target, route set, parties),
//!   and the in-dialog requests we send (BYE).
//! - [`sdp`]: RFC 3264 offer/answer for one audio stream (PCMU, PCMA, Opus, telephone-event).
//!
//! Consumes: message bytes with their source (a UDP address, or a driver-assigned connection),
//! the current `Instant`, and the driver's decisions (accept, reject, hang up).
//! Emits: [`Transmit`]s, [`uas::UasEvent`]s and the next deadline for `Uas::handle_timeout`.
//! Invariants: never panics on network input; never reads the clock, a random source or a socket
//! (identifiers come from a seed the driver passes in); every request except ACK gets exactly
//! one final response per transaction, and a retransmitted request gets the cached response.

pub mod dialog;
pub mod framing;
mod ids;
pub mod message;
pub mod sdp;
pub mod uas;

use std::net::SocketAddr;

/// A TCP connection, numbered by the driver. The UAS never opens or closes one: it only names
/// the connection a message came on, and is told (`Uas::connection_closed`) when it is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// Reliable transports have no retransmissions and zero-length Timers I/J/K (RFC 3261 §17).
    pub fn is_reliable(self) -> bool {
        self == Transport::Tcp
    }

    /// The token in a Via header (`SIP/2.0/UDP`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where a [`Transmit`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    Udp(SocketAddr),
    Tcp(ConnectionId),
}

impl Destination {
    pub fn transport(self) -> Transport {
        match self {
            Destination::Udp(_) => Transport::Udp,
            Destination::Tcp(_) => Transport::Tcp,
        }
    }
}

/// One whole SIP message for the driver to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub to: Destination,
    pub data: Vec<u8>,
}
