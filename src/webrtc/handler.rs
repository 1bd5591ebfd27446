//! The bridge from the WebRTC stack's callbacks to channels the call's tasks own.
//!
//! webrtc 0.21 runs `PeerConnectionEventHandler` methods on the connection's driver task: while
//! one runs, no packet moves. So every method here only records or forwards and returns; the
//! one long-running job, reading the caller's track, is spawned onto its own task.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceConnectionState, RTCIceGatheringState, RTCPeerConnectionState,
};

use super::IncomingRtp;
use super::watchdog::LinkState;

/// What the handler tells the call's supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Link(LinkState),
    /// The caller's audio track ended (RTCP BYE or the transceiver stopped): a hang-up.
    TrackEnded,
}

pub(crate) struct CallEvents {
    /// Call id, for log lines only.
    pub call_id: u64,
    /// Flips to true once ICE gathering completes: the answer then holds every candidate.
    pub gathered: watch::Sender<bool>,
    pub signals: mpsc::UnboundedSender<Signal>,
    /// Taken by the first audio track; a second audio track (not something a voice caller
    /// sends) is ignored, so the receiver closes when that first track ends.
    pub incoming: Mutex<Option<mpsc::Sender<IncomingRtp>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for CallEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        // The peer-connection state below drives decisions; this is for diagnosing ICE.
        tracing::debug!(call = self.call_id, ?state, "ice connection state");
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(call = self.call_id, ?state, "peer connection state");
        let link = match state {
            RTCPeerConnectionState::Connected => LinkState::Connected,
            RTCPeerConnectionState::Disconnected => LinkState::Disconnected,
            RTCPeerConnectionState::Failed => LinkState::Failed,
            RTCPeerConnectionState::Closed => LinkState::Closed,
            // New, Connecting, Unspecified.
            _ => LinkState::Connecting,
        };
        // A send error means the supervisor is gone, i.e. the call is already over.
        let _ = self.signals.send(Signal::Link(link));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if track.kind().await != RtpCodecKind::Audio {
            return;
        }
        let taken = self.incoming.lock().map(|mut slot| slot.take()).unwrap_or(None);
        let Some(incoming) = taken else {
            tracing::warn!(call = self.call_id, "ignoring a second audio track");
            return;
        };
        tokio::spawn(forward_track(self.call_id, track, incoming, self.signals.clone()));
    }
}

/// Moves the caller's RTP from the stack's track queue to the call's receiver until the track
/// ends or the call's owner drops the receiver.
async fn forward_track(
    call_id: u64,
    track: Arc<dyn TrackRemote>,
    incoming: mpsc::Sender<IncomingRtp>,
    signals: mpsc::UnboundedSender<Signal>,
) {
    let mut ended_by_peer = false;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let h = &packet.header;
                let rtp = IncomingRtp {
                    sequence: h.sequence_number,
                    timestamp: h.timestamp,
                    marker: h.marker,
                    payload_type: h.payload_type,
                    ssrc: h.ssrc,
                    payload: packet.payload,
                    arrival: Instant::now(),
                };
                // Waiting here when the consumer lags is safe: the stack's own queue in front of
                // us then fills and it drops packets, which is what UDP would do anyway.
                if incoming.send(rtp).await.is_err() {
                    return;
                }
            }
            TrackRemoteEvent::OnEnded => {
                ended_by_peer = true;
                break;
            }
            _ => {}
        }
    }
    tracing::debug!(call = call_id, ended_by_peer, "caller audio track finished");
    if ended_by_peer {
        let _ = signals.send(Signal::TrackEnded);
    }
}
