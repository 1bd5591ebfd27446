//! One task per call that owns its `PeerConnection` and is the only place it gets closed.
//!
//! Why a task: webrtc 0.21 connections on the tokio runtime keep their driver running until
//! `close()` is awaited, even when every handle is dropped, so someone must always call it. The
//! supervisor does, once, for the first of: a close command, all handles dropped, a peer
//! hang-up or failure reported by the handler, or a [`Watchdog`] timeout. It then publishes
//! `CallStatus::Closed(reason)`.
//!
//! A peer's DTLS close_notify (what Chromium and aiortc send on `pc.close()`) raises no event we
//! can see: per the W3C state algorithm a closed DTLS transport over connected ICE still reads
//! "connected", and 0.21 does not act on RTCP BYE. So the supervisor polls the DTLS transport's
//! state twice a second; otherwise a hang-up would only be noticed when ICE consent expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::peer_connection::transport::RTCDtlsTransportState;
use tokio::sync::{mpsc, watch};
use webrtc::peer_connection::PeerConnection;
use webrtc::peer_connection::transport::DtlsTransport;

use super::CallStatus;
use super::handler::Signal;
use super::watchdog::{CloseReason, LinkState, Watchdog};

pub(crate) enum Command {
    Close,
}

/// How often to look for a peer's DTLS close_notify: hang-up latency versus a driver round trip.
const DTLS_POLL: Duration = Duration::from_millis(500);

pub(crate) async fn run(
    call_id: u64,
    pc: Arc<dyn PeerConnection>,
    dtls: Option<Arc<dyn DtlsTransport>>,
    mut watchdog: Watchdog,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    mut commands: mpsc::Receiver<Command>,
    status: watch::Sender<CallStatus>,
) {
    let started = Instant::now();
    let mut dtls_poll = tokio::time::interval(DTLS_POLL);
    dtls_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let reason = loop {
        // A far-off sleep stands in for "no deadline" so the select below stays uniform.
        let deadline = watchdog.deadline().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Close) => break CloseReason::Local,
                None => break CloseReason::Abandoned,
            },
            signal = signals.recv() => match signal {
                Some(Signal::Link(link)) => {
                    if link == LinkState::Connected {
                        tracing::info!(call = call_id, after_ms = started.elapsed().as_millis() as u64, "webrtc call connected");
                        // Only Connecting → Connected: an ICE restart's second "connected" is no news.
                        status.send_if_modified(|s| {
                            let first = *s == CallStatus::Connecting;
                            if first {
                                *s = CallStatus::Connected;
                            }
                            first
                        });
                    }
                    if let Some(reason) = watchdog.on_state(link, Instant::now()) {
                        break reason;
                    }
                }
                Some(Signal::TrackEnded) => break CloseReason::PeerHangup,
                // The handler lives inside `pc`, which we hold, so this cannot end first;
                // treat it as a failure if it somehow does.
                None => break CloseReason::Failed,
            },
            _ = dtls_poll.tick(), if dtls.is_some() => {
                let closed = match &dtls {
                    Some(t) => matches!(t.state().await, Ok(RTCDtlsTransportState::Closed)),
                    None => false,
                };
                if closed
                    && let Some(reason) = watchdog.on_state(LinkState::Closed, Instant::now())
                {
                    break reason;
                }
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                if let Some(reason) = watchdog.on_timeout(Instant::now()) {
                    break reason;
                }
            }
        }
    };
    if let Err(err) = pc.close().await {
        tracing::debug!(call = call_id, %err, "peer connection close reported an error");
    }
    tracing::info!(call = call_id, ?reason, lasted_ms = started.elapsed().as_millis() as u64, "webrtc call closed");
    status.send_replace(CallStatus::Closed(reason));
}
