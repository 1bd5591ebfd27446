//! When a call's peer connection should be torn down: the lifetime rules, apart from the clock.
//!
//! The WebRTC stack reports connection states; it does not decide that a caller who never
//! completed ICE, or who vanished without a goodbye, is gone. Left alone such a connection keeps
//! its socket and driver task until the consent checks finally fail (tens of seconds) or forever
//! (never connected). These rules end it sooner. Sans-IO: states and `now` come in, a reason to
//! close (or the next time to ask again) goes out; the supervisor task owns the clock.

use std::time::{Duration, Instant};

/// Why a call ended; delivered once through `CallHandle::closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// We called `close()`.
    Local,
    /// Every `CallHandle` and `RtpOutput` was dropped without `close()`.
    Abandoned,
    /// The peer ended the call: its DTLS close_notify (what browsers and aiortc send on
    /// `pc.close()`), or its audio track ended. (0.21 does not end tracks on RTCP BYE.)
    PeerHangup,
    /// ICE or DTLS failed (includes consent expiry after the peer vanished).
    Failed,
    /// The connection never became connected within `connect_timeout`.
    ConnectTimeout,
    /// The connection stayed disconnected (no ICE traffic from the peer) for
    /// `disconnected_timeout`.
    DisconnectTimeout,
}

/// The connection states that matter here, mapped from `RTCPeerConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// New or connecting: ICE checks or the DTLS handshake still running.
    Connecting,
    Connected,
    /// ICE lost the peer; it may come back (a network blip) or fail.
    Disconnected,
    Failed,
    /// The connection or its DTLS transport closed (the peer's close_notify, or our own close).
    Closed,
}

#[derive(Debug, Clone)]
pub struct Watchdog {
    connect_deadline: Option<Instant>,
    disconnected_timeout: Duration,
    /// Set while disconnected: when to give up.
    disconnect_deadline: Option<Instant>,
}

impl Watchdog {
    pub fn new(now: Instant, connect_timeout: Duration, disconnected_timeout: Duration) -> Self {
        Self { connect_deadline: Some(now + connect_timeout), disconnected_timeout, disconnect_deadline: None }
    }

    /// Feeds a state change; returns a reason when the call must end now.
    pub fn on_state(&mut self, state: LinkState, now: Instant) -> Option<CloseReason> {
        match state {
            LinkState::Connecting => None,
            LinkState::Connected => {
                self.connect_deadline = None;
                self.disconnect_deadline = None;
                None
            }
            LinkState::Disconnected => {
                self.disconnect_deadline.get_or_insert(now + self.disconnected_timeout);
                None
            }
            LinkState::Failed => Some(CloseReason::Failed),
            LinkState::Closed => Some(CloseReason::PeerHangup),
        }
    }

    /// The next instant at which `on_timeout` may end the call; None while nothing is pending.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.connect_deadline, self.disconnect_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Called when `deadline()` has passed (early calls are harmless).
    pub fn on_timeout(&mut self, now: Instant) -> Option<CloseReason> {
        if self.connect_deadline.is_some_and(|d| now >= d) {
            return Some(CloseReason::ConnectTimeout);
        }
        if self.disconnect_deadline.is_some_and(|d| now >= d) {
            return Some(CloseReason::DisconnectTimeout);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONNECT: Duration = Duration::from_secs(15);
    const DISCONNECT: Duration = Duration::from_secs(5);

    #[test]
    fn never_connecting_times_out() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(t0, CONNECT, DISCONNECT);
        assert_eq!(w.on_state(LinkState::Connecting, t0), None);
        assert_eq!(w.deadline(), Some(t0 + CONNECT));
        assert_eq!(w.on_timeout(t0 + CONNECT - Duration::from_millis(1)), None);
        assert_eq!(w.on_timeout(t0 + CONNECT), Some(CloseReason::ConnectTimeout));
    }

    #[test]
    fn connected_call_has_no_deadline_until_disconnected() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(t0, CONNECT, DISCONNECT);
        assert_eq!(w.on_state(LinkState::Connected, t0 + Duration::from_secs(1)), None);
        assert_eq!(w.deadline(), None);
        assert_eq!(w.on_timeout(t0 + Duration::from_secs(3600)), None);

        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(w.on_state(LinkState::Disconnected, t1), None);
        // A second Disconnected report does not push the deadline back.
        assert_eq!(w.on_state(LinkState::Disconnected, t1 + Duration::from_secs(2)), None);
        assert_eq!(w.deadline(), Some(t1 + DISCONNECT));
        assert_eq!(w.on_timeout(t1 + DISCONNECT), Some(CloseReason::DisconnectTimeout));
    }

    #[test]
    fn reconnecting_cancels_the_disconnect_deadline() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(t0, CONNECT, DISCONNECT);
        w.on_state(LinkState::Connected, t0);
        w.on_state(LinkState::Disconnected, t0 + Duration::from_secs(1));
        w.on_state(LinkState::Connected, t0 + Duration::from_secs(2));
        assert_eq!(w.deadline(), None);
        assert_eq!(w.on_timeout(t0 + Duration::from_secs(100)), None);
    }

    #[test]
    fn failure_and_close_end_the_call_at_once() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(t0, CONNECT, DISCONNECT);
        assert_eq!(w.on_state(LinkState::Failed, t0), Some(CloseReason::Failed));
        let mut w = Watchdog::new(t0, CONNECT, DISCONNECT);
        assert_eq!(w.on_state(LinkState::Closed, t0), Some(CloseReason::PeerHangup));
    }
}
