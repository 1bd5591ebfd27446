//! WebRTC callers: an SDP offer becomes a call. The transport ([`crate::webrtc`]) hands us the
//! caller's RTP and takes ours; this glue turns that into the same [`MediaLink`] a SIP call
//! has (RTP datagrams both ways), so the call runs through the one media pipeline.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::calls::CallHub;
use crate::call::Channel;
use crate::call::driver::{CallControl, MediaLink};
use crate::call::pipeline::MediaFormat;
use crate::call::registry::CallInfo;
use crate::lang::Lang;
use crate::media::codec::Codec;
use crate::rtp::packet::{RtpHeader, RtpPacket};
use crate::webrtc::{OutgoingRtp, WebRtcConfig, WebRtcError, accept_offer};

/// Packets queued between the transport and the call's driver.
const RTP_QUEUE: usize = 64;

/// Answers `offer` and starts the call. Returns the SDP answer and the call's id.
pub async fn answer_offer(
    hub: &Arc<CallHub>,
    cfg: &WebRtcConfig,
    offer: &str,
    lang: Option<Lang>,
    callee: Option<String>,
    seed: u64,
) -> Result<(String, String), WebRtcError> {
    let (answer, call) = accept_offer(offer, cfg).await?;
    let id = format!("webrtc-{seed:016x}");
    let format = MediaFormat { codec: Codec::Opus, payload_type: call.payload_type, dtmf_payload_type: None };
    let (in_tx, in_rx) = mpsc::channel(RTP_QUEUE);
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(RTP_QUEUE);
    let mut incoming = call.incoming;
    tokio::spawn(async move {
        while let Some(p) = incoming.recv().await {
            let header = RtpHeader {
                marker: p.marker,
                payload_type: p.payload_type,
                sequence: p.sequence,
                timestamp: p.timestamp,
                ssrc: p.ssrc,
                ..RtpHeader::default()
            };
            let mut datagram = Vec::with_capacity(12 + p.payload.len());
            if header.write(&mut datagram).is_err() {
                continue;
            }
            datagram.extend_from_slice(&p.payload);
            if in_tx.try_send(datagram).is_err() && in_tx.is_closed() {
                return;
            }
        }
    });
    let output = call.outgoing;
    let control = call.control;
    let observer = control.observer();
    tokio::spawn(async move {
        // Packets before the DTLS handshake completes cannot be sent; the greeting waits.
        if observer.connected().await.is_err() {
            return;
        }
        while let Some(datagram) = out_rx.recv().await {
            let Ok(p) = RtpPacket::parse(&datagram) else { continue };
            let packet = OutgoingRtp {
                sequence: p.header.sequence,
                timestamp: p.header.timestamp,
                marker: p.header.marker,
                payload: Bytes::copy_from_slice(p.payload),
            };
            if output.send(packet).await.is_err() {
                return;
            }
        }
    });
    let info = CallInfo {
        id: id.clone(),
        channel: Channel::Webrtc,
        caller: "web caller".into(),
        lang: lang.unwrap_or(hub.services().routes.route(callee.as_deref().unwrap_or("")).plan.default_lang),
        callee: callee.unwrap_or_else(|| "web".into()),
    };
    let link = MediaLink { format, inbound: in_rx, outbound: out_tx, rtcp: false };
    let (ended_tx, ended_rx) = oneshot::channel();
    let calls = hub.start(info, link, seed, move |_| {
        let _ = ended_tx.send(());
    });
    // The call and the peer connection end together, whichever goes first.
    tokio::spawn(async move {
        tokio::select! {
            reason = control.closed() => {
                let _ = calls.send(CallControl::RemoteHangup { reason: format!("the caller hung up ({reason:?})") }).await;
            }
            _ = ended_rx => control.close().await,
        }
    });
    Ok((answer, id))
}
