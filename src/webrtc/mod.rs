//! WebRTC audio transport: one caller's SDP offer in, an answer and a live call out.
//!
//! [`accept_offer`] answers a browser's (or any WebRTC peer's) offer non-trickle: it waits for ICE
//! gathering to finish so the answer carries every candidate, which lets a plain
//! `POST /offer → answer` exchange work with no signalling channel. The returned [`WebRtcCall`]
//! carries:
//! - `incoming`: the caller's audio RTP (Opus payloads, as sent; no jitter buffer, no decoding),
//! - `outgoing`: an [`RtpOutput`] for our RTP; we packetize (sequence, timestamp, marker) and it
//!   adds the SSRC and the negotiated Opus payload type,
//! - `control`: a [`CallHandle`] to wait for connection and hang-up, or to hang up.
//!
//! Invariants: audio only (video and data sections are rejected in the answer); every call owns
//! its own `PeerConnection`, UDP socket and tasks, so calls fail independently; sockets bind only
//! to the configured addresses (127.0.0.1 by default), with mDNS off and no STUN/TURN servers,
//! so no candidate ever names another interface. Every call is closed exactly once, by its
//! supervisor task: on `close()`, when all handles are dropped, on peer hang-up, on failure, or
//! when the [`watchdog`] rules time it out. Bad SDP from the peer is an error, never a panic.

mod handler;
pub mod offer;
mod supervisor;
pub mod watchdog;

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::peer_connection::transport::DtlsTransport;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCSessionDescription, Registry,
    SettingEngineBuilder, configure_rtcp_reports,
};

use handler::CallEvents;
pub use offer::{OfferError, OfferSummary};
pub use watchdog::CloseReason;

/// The MIME type the stack uses for Opus; compared case-insensitively (RFC 4855).
const OPUS_MIME: &str = "audio/opus";

#[derive(Debug, Clone)]
pub struct WebRtcConfig {
    /// Local addresses to bind one UDP socket each (port 0 = ephemeral). Each becomes a host
    /// candidate. A wildcard (0.0.0.0) would expand to every non-loopback interface, which is
    /// exactly what a loopback-only deployment must avoid.
    pub udp_addrs: Vec<SocketAddr>,
    /// How long to wait for ICE gathering before answering. Host-only gathering takes
    /// milliseconds; this bounds a stuck stack.
    pub gather_timeout: Duration,
    /// A caller that has not connected this long after the answer is given up on.
    pub connect_timeout: Duration,
    /// A connected caller whose ICE stays disconnected this long is taken as gone; browsers and
    /// the stack notice silence after ~5 s of missing consent checks.
    pub disconnected_timeout: Duration,
    /// Incoming packets buffered for a slow consumer (50 per second of audio) before the stack
    /// starts dropping.
    pub incoming_capacity: usize,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        Self {
            udp_addrs: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            gather_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(15),
            disconnected_timeout: Duration::from_secs(5),
            incoming_capacity: 256,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebRtcError {
    /// The offer failed our own checks; the message is meant for the caller's developer.
    #[error("invalid offer: {0}")]
    InvalidOffer(#[from] OfferError),
    /// The WebRTC stack refused the offer (e.g. SDP it cannot parse or negotiate).
    #[error("offer rejected while {stage}: {source}")]
    Negotiation {
        stage: &'static str,
        #[source]
        source: webrtc::error::Error,
    },
    /// A local failure setting up the call (binding sockets, building the connection).
    #[error("call setup failed while {stage}: {source}")]
    Setup {
        stage: &'static str,
        #[source]
        source: webrtc::error::Error,
    },
    #[error("ICE gathering did not complete within {0:?}")]
    GatheringTimeout(Duration),
    #[error("no Opus codec was negotiated for our audio")]
    NoOpusNegotiated,
    /// The stack answered the audio section with port 0 (rejected it) despite our checks.
    #[error("the answer rejects the audio section (m=audio 0)")]
    AudioRejected,
    #[error("configuration: {0}")]
    Config(&'static str),
    /// The call is over; `reason` says how it ended.
    #[error("call closed ({0:?})")]
    Closed(CloseReason),
    /// Sending failed inside the stack (typically: DTLS not finished yet).
    #[error("sending RTP failed: {0}")]
    Send(#[source] webrtc::error::Error),
}

/// One RTP packet of the caller's audio, as received (SRTP already removed).
#[derive(Debug, Clone)]
pub struct IncomingRtp {
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    /// Normally the negotiated Opus payload type; check it before decoding.
    pub payload_type: u8,
    pub ssrc: u32,
    pub payload: Bytes,
    /// When our task took it from the stack: what a jitter buffer wants as arrival time.
    pub arrival: Instant,
}

/// One RTP packet of ours. The caller keeps sequence numbers and timestamps (48 kHz clock for
/// Opus: +960 per 20 ms frame); SSRC and payload type are the call's.
#[derive(Debug, Clone)]
pub struct OutgoingRtp {
    pub sequence: u16,
    pub timestamp: u32,
    /// Set on the first packet of a talk-spurt (RFC 3551 §4.1).
    pub marker: bool,
    pub payload: Bytes,
}

/// A live call, split into parts that can move to different tasks.
pub struct WebRtcCall {
    pub incoming: mpsc::Receiver<IncomingRtp>,
    pub outgoing: RtpOutput,
    pub control: CallHandle,
    /// Payload type the answer assigned to Opus (the offerer's: 111 from Chrome, 96 from aiortc).
    pub payload_type: u8,
    /// What the offer contained, for logs.
    pub offer: OfferSummary,
}

/// Sends our RTP to the caller. Cheap to clone; the call lives while any clone or any
/// [`CallHandle`] exists.
#[derive(Clone)]
pub struct RtpOutput {
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    status: watch::Receiver<CallStatus>,
    _lifeline: mpsc::Sender<supervisor::Command>,
}

impl RtpOutput {
    /// Queues one packet for sending. Fails with `Closed` once the call is over, and with
    /// `Send` before the DTLS handshake is done (wait for [`CallHandle::connected`] first).
    pub async fn send(&self, packet: OutgoingRtp) -> Result<(), WebRtcError> {
        if let CallStatus::Closed(reason) = *self.status.borrow() {
            return Err(WebRtcError::Closed(reason));
        }
        let header = rtp::header::Header {
            version: 2,
            marker: packet.marker,
            payload_type: self.payload_type,
            sequence_number: packet.sequence,
            timestamp: packet.timestamp,
            ssrc: self.ssrc,
            ..Default::default()
        };
        let rtp = rtp::Packet { header, payload: packet.payload };
        self.track.write_rtp(rtp).await.map_err(WebRtcError::Send)
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Answered; ICE/DTLS in progress.
    Connecting,
    /// Media can flow both ways.
    Connected,
    Closed(CloseReason),
}

/// Watches a call without keeping it alive: for logs, dashboards and tests. Cheap to clone.
#[derive(Clone)]
pub struct CallObserver {
    id: u64,
    status: watch::Receiver<CallStatus>,
}

impl CallObserver {
    /// Process-unique call number, for logs.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn status(&self) -> CallStatus {
        *self.status.borrow()
    }

    /// Resolves once media can flow, or with the reason if the call ended first.
    pub async fn connected(&self) -> Result<(), WebRtcError> {
        let mut status = self.status.clone();
        let seen = status.wait_for(|s| *s != CallStatus::Connecting).await.map(|s| *s);
        match seen {
            Ok(CallStatus::Closed(reason)) => Err(WebRtcError::Closed(reason)),
            Ok(_) => Ok(()),
            // The supervisor is gone, which only happens after it published Closed.
            Err(_) => Err(WebRtcError::Closed(CloseReason::Abandoned)),
        }
    }

    /// Resolves when the call ends, with why.
    pub async fn closed(&self) -> CloseReason {
        let mut status = self.status.clone();
        match status.wait_for(|s| matches!(s, CallStatus::Closed(_))).await.map(|s| *s) {
            Ok(CallStatus::Closed(reason)) => reason,
            _ => CloseReason::Abandoned,
        }
    }
}

/// Watches and ends a call; the call lives while any `CallHandle` or [`RtpOutput`] exists.
/// Cheap to clone.
#[derive(Clone)]
pub struct CallHandle {
    observer: CallObserver,
    commands: mpsc::Sender<supervisor::Command>,
}

impl CallHandle {
    pub fn id(&self) -> u64 {
        self.observer.id
    }

    pub fn status(&self) -> CallStatus {
        self.observer.status()
    }

    pub async fn connected(&self) -> Result<(), WebRtcError> {
        self.observer.connected().await
    }

    pub async fn closed(&self) -> CloseReason {
        self.observer.closed().await
    }

    /// A watcher that does not keep the call alive.
    pub fn observer(&self) -> CallObserver {
        self.observer.clone()
    }

    /// Hangs up and waits until the connection is torn down. Idempotent.
    pub async fn close(&self) {
        // An error means the supervisor already finished, i.e. the call is closed.
        let _ = self.commands.send(supervisor::Command::Close).await;
        self.observer.closed().await;
    }
}

static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

/// Answers `offer_sdp` and starts the call. Returns the answer SDP (with candidates) and the
/// call; on error nothing is left running.
pub async fn accept_offer(offer_sdp: &str, cfg: &WebRtcConfig) -> Result<(String, WebRtcCall), WebRtcError> {
    let summary = offer::inspect_offer(offer_sdp)?;
    if cfg.udp_addrs.is_empty() {
        return Err(WebRtcError::Config("udp_addrs is empty: the call would have no candidates"));
    }
    let call_id = NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed);
    let offer = RTCSessionDescription::offer(offer_sdp.to_owned())
        .map_err(|source| WebRtcError::Negotiation { stage: "parsing the offer", source })?;

    let (gathered_tx, mut gathered_rx) = watch::channel(false);
    let (signals_tx, signals_rx) = mpsc::unbounded_channel();
    let (incoming_tx, incoming_rx) = mpsc::channel(cfg.incoming_capacity.max(1));
    let events = Arc::new(CallEvents {
        call_id,
        gathered: gathered_tx,
        signals: signals_tx,
        incoming: Mutex::new(Some(incoming_tx)),
    });

    let pc = build_peer_connection(cfg, events).await?;
    // From here on an error must close `pc`: an unclosed connection's driver runs forever.
    match negotiate(&*pc, offer, cfg, &mut gathered_rx).await {
        Ok(Negotiated { answer, track, ssrc, payload_type, dtls }) => {
            let (status_tx, status_rx) = watch::channel(CallStatus::Connecting);
            let (commands_tx, commands_rx) = mpsc::channel(4);
            let watchdog = watchdog::Watchdog::new(Instant::now(), cfg.connect_timeout, cfg.disconnected_timeout);
            tokio::spawn(supervisor::run(call_id, pc, dtls, watchdog, signals_rx, commands_rx, status_tx));
            tracing::info!(call = call_id, payload_type, ssrc, offered = ?summary.candidates, "webrtc call answered");
            tracing::debug!(call = call_id, %answer, "answer sdp");
            let call = WebRtcCall {
                incoming: incoming_rx,
                outgoing: RtpOutput {
                    track,
                    ssrc,
                    payload_type,
                    status: status_rx.clone(),
                    _lifeline: commands_tx.clone(),
                },
                control: CallHandle {
                    observer: CallObserver { id: call_id, status: status_rx },
                    commands: commands_tx,
                },
                payload_type,
                offer: summary,
            };
            Ok((answer, call))
        }
        Err(err) => {
            if let Err(close_err) = pc.close().await {
                tracing::debug!(call = call_id, %close_err, "closing a call that failed to set up");
            }
            Err(err)
        }
    }
}

async fn build_peer_connection(
    cfg: &WebRtcConfig,
    events: Arc<CallEvents>,
) -> Result<Arc<dyn PeerConnection>, WebRtcError> {
    let setup = |stage| move |source| WebRtcError::Setup { stage, source };
    // Opus only: the bot speaks and hears nothing else on WebRTC, and a single codec makes the
    // answer's payload type unambiguous. The fmtp tells the caller we decode its in-band FEC.
    let mut media = MediaEngine::default();
    media
        .register_codec(RTCRtpCodecParameters { rtp_codec: opus_codec(), payload_type: 111 }, RtpCodecKind::Audio)
        .map_err(setup("registering Opus"))?;
    // Sender/receiver reports only: NACK and TWCC are for video; RTCP SR lets the caller map
    // our timestamps to wall-clock time.
    let registry = configure_rtcp_reports(Registry::new());
    let settings = SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled).build();
    // No ICE servers: loopback/LAN host candidates only (the upstream examples' public STUN server
    // would leak a request off the machine).
    let config = RTCConfigurationBuilder::new().build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(events)
        .with_udp_addrs(cfg.udp_addrs.clone())
        .build()
        .await
        .map_err(setup("building the peer connection"))?;
    Ok(Arc::new(pc))
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: OPUS_MIME.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

struct Negotiated {
    answer: String,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    /// Watched for the peer's close_notify; None if the stack has no transport for our sender.
    dtls: Option<Arc<dyn DtlsTransport>>,
}

/// Offer in, answer out (after gathering), with our audio track attached.
async fn negotiate(
    pc: &dyn PeerConnection,
    offer: RTCSessionDescription,
    cfg: &WebRtcConfig,
    gathered: &mut watch::Receiver<bool>,
) -> Result<Negotiated, WebRtcError> {
    let rejected = |stage| move |source| WebRtcError::Negotiation { stage, source };
    pc.set_remote_description(offer).await.map_err(rejected("applying the offer"))?;

    // Added after the offer so it reuses the transceiver the offer created (one m=audio line,
    // sendrecv) instead of asking for a second one.
    let ssrc = random_ssrc();
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "callbot".to_owned(),
        "callbot-audio".to_owned(),
        "callbot-audio".to_owned(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec: opus_codec(),
            ..Default::default()
        }],
    )));
    let local: Arc<dyn TrackLocal> = track.clone();
    let sender = pc.add_track(local).await.map_err(rejected("adding our audio track"))?;

    let answer = pc.create_answer(None).await.map_err(rejected("creating the answer"))?;
    pc.set_local_description(answer).await.map_err(rejected("applying the answer"))?;

    // Packets with a payload type the sender leg did not negotiate are dropped by the stack
    // without an error we can see, so take it from the negotiated parameters, not our config.
    let params = sender.get_parameters().await.map_err(rejected("reading negotiated parameters"))?;
    let payload_type = params
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(OPUS_MIME))
        .map(|c| c.payload_type)
        .ok_or(WebRtcError::NoOpusNegotiated)?;

    match tokio::time::timeout(cfg.gather_timeout, gathered.wait_for(|done| *done)).await {
        Ok(Ok(_)) => {}
        // The sender half lives in the handler, owned by `pc`, which is alive here.
        Ok(Err(_)) | Err(_) => return Err(WebRtcError::GatheringTimeout(cfg.gather_timeout)),
    }
    let answer_sdp = pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .ok_or(WebRtcError::Setup { stage: "reading the answer", source: webrtc::error::Error::ErrConnectionClosed })?;
    // Defence in depth: the stack marks a section it will not carry with port 0 and carries on,
    // which would give a call that connects and never moves audio.
    let first_audio = answer_sdp.lines().find(|l| l.starts_with("m=audio "));
    if first_audio.is_none_or(|l| l.starts_with("m=audio 0 ")) {
        return Err(WebRtcError::AudioRejected);
    }
    let dtls = sender.transport().await.unwrap_or(None);
    Ok(Negotiated { answer: answer_sdp, track, ssrc, payload_type, dtls })
}

/// RFC 3550 wants a random SSRC. std's `RandomState` keys come from the OS (per thread, then
/// varied per instance), which is random enough here and saves a dependency.
fn random_ssrc() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(NEXT_CALL_ID.load(Ordering::Relaxed));
    // Zero is legal but some stacks treat it as "unset"; avoid it.
    (h.finish() as u32).max(1)
}
