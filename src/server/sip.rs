//! The SIP endpoint: UDP and TCP sockets around the sans-IO user agent ([`crate::sip`]).
//!
//! One task owns the [`Uas`]: every datagram, TCP message, timer and call ending goes to it
//! through one channel, and it alone writes SIP to the sockets. Each answered call gets its own
//! RTP and RTCP sockets (on `media_ip`, an even port from the OS and the one after it) and a
//! small task that moves datagrams between them and the call's driver ([`super::media`]). Media
//! is symmetric: we send to where the caller's packets come from once they come, else to the
//! addresses in their SDP.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use super::ServerConfig;
use super::calls::CallHub;
use super::media::{MediaSockets, RemoteMedia, move_media};
use crate::call::Channel;
use crate::call::driver::{CallControl, CallEnd, MediaLink};
use crate::call::pipeline::MediaFormat;
use crate::call::registry::CallInfo;
use crate::media::codec::Codec;
use crate::sip::framing::{Frame, PONG, StreamFramer};
use crate::sip::sdp::{self, Negotiated};
use crate::sip::uas::{GIVE_UP, Uas, UasConfig, UasEvent};
use crate::sip::{ConnectionId, Destination};

/// Datagrams (RTP and RTCP) queued towards a call's driver; beyond this the driver is stuck
/// and packets drop.
const RTP_QUEUE: usize = 64;

enum Input {
    Datagram(SocketAddr, Vec<u8>),
    Opened(ConnectionId, mpsc::UnboundedSender<Vec<u8>>),
    Message(ConnectionId, SocketAddr, Vec<u8>),
    /// A keep-alive ping (RFC 5626 double CRLF): answered with a pong.
    Ping(ConnectionId),
    /// The user agent's next deadline passed.
    Timer,
    /// Framing failed or the peer closed: the connection is gone.
    Closed(ConnectionId),
    CallEnded(String, CallEnd),
    Stop,
}

/// A call between `Incoming` and its end.
struct Pending {
    media: Option<MediaSockets>,
    caller: String,
    callee: String,
    control: Option<mpsc::Sender<CallControl>>,
    remote: Option<tokio::sync::watch::Sender<RemoteMedia>>,
}

pub struct SipEndpoint {
    local: SocketAddr,
    input: mpsc::UnboundedSender<Input>,
    core: tokio::task::JoinHandle<()>,
}

impl SipEndpoint {
    pub async fn start(cfg: &ServerConfig, hub: Arc<CallHub>) -> anyhow::Result<Self> {
        let media_ip = cfg.media_ip()?;
        let udp = Arc::new(UdpSocket::bind(cfg.sip).await.with_context(|| format!("SIP UDP on {}", cfg.sip))?);
        let local = udp.local_addr()?;
        let tcp = TcpListener::bind(local).await.with_context(|| format!("SIP TCP on {local}"))?;
        let (input, rx) = mpsc::unbounded_channel();
        tokio::spawn(read_udp(Arc::clone(&udp), input.clone()));
        tokio::spawn(accept_tcp(tcp, input.clone()));
        let advertise = SocketAddr::new(media_ip, local.port());
        let uas_cfg = UasConfig {
            user: "callbot".into(),
            advertise,
            ring_delay: std::time::Duration::ZERO,
            answer_timeout: GIVE_UP,
            codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma, sdp::Codec::Opus],
            max_calls: cfg.max_calls,
        };
        let core = Core {
            uas: Uas::new(uas_cfg, super::random_seed()),
            udp,
            conns: HashMap::new(),
            calls: HashMap::new(),
            hub,
            media_ip,
            input: input.clone(),
            next_seed: super::random_seed(),
        };
        let core = tokio::spawn(core.run(rx));
        Ok(Self { local, input, core })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends what is queued (BYEs of calls just hung up) and stops.
    pub async fn stop(self) {
        let _ = self.input.send(Input::Stop);
        let _ = self.core.await;
    }
}

struct Core {
    uas: Uas,
    udp: Arc<UdpSocket>,
    conns: HashMap<ConnectionId, mpsc::UnboundedSender<Vec<u8>>>,
    calls: HashMap<String, Pending>,
    hub: Arc<CallHub>,
    media_ip: IpAddr,
    input: mpsc::UnboundedSender<Input>,
    next_seed: u64,
}

impl Core {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        loop {
            let deadline = self.uas.poll_timeout().map(tokio::time::Instant::from_std);
            let input = tokio::select! {
                input = rx.recv() => input,
                _ = sleep_until(deadline) => Some(Input::Timer),
            };
            let now = Instant::now();
            match input {
                Some(Input::Timer) => self.uas.handle_timeout(now),
                Some(Input::Datagram(from, data)) => self.uas.handle_datagram(now, from, &data),
                Some(Input::Opened(conn, tx)) => {
                    self.conns.insert(conn, tx);
                }
                Some(Input::Ping(conn)) => {
                    if let Some(tx) = self.conns.get(&conn) {
                        let _ = tx.send(PONG.to_vec());
                    }
                }
                Some(Input::Message(conn, peer, data)) => self.uas.handle_stream_message(now, conn, peer, &data),
                Some(Input::Closed(conn)) => {
                    self.flush().await; // a 400 for a broken stream goes out before the close
                    self.conns.remove(&conn);
                    self.uas.connection_closed(conn);
                }
                Some(Input::CallEnded(call_id, end)) => {
                    if end.by_us {
                        let _ = self.uas.hangup(now, &call_id);
                    }
                }
                Some(Input::Stop) | None => {
                    self.flush().await;
                    return;
                }
            }
            self.uas.handle_timeout(Instant::now());
            self.flush().await;
            while let Some(event) = self.uas.poll_event() {
                self.on_event(event).await;
                self.flush().await;
            }
        }
    }

    async fn flush(&mut self) {
        while let Some(t) = self.uas.poll_transmit() {
            match t.to {
                Destination::Udp(addr) => {
                    if let Err(e) = self.udp.send_to(&t.data, addr).await {
                        tracing::warn!("SIP send to {addr} failed: {e}");
                    }
                }
                Destination::Tcp(conn) => {
                    if let Some(tx) = self.conns.get(&conn) {
                        let _ = tx.send(t.data);
                    }
                }
            }
        }
    }

    async fn on_event(&mut self, event: UasEvent) {
        let now = Instant::now();
        match event {
            // The offer's media comes again with Answered (or, for a delayed offer, Confirmed).
            UasEvent::Incoming { call_id, caller, callee, .. } => {
                if !self.hub.accepting() {
                    let _ = self.uas.reject(now, &call_id, 503, "Service Unavailable");
                    return;
                }
                let sockets = match MediaSockets::bind(self.media_ip).await.and_then(|s| Ok((s.rtp_addr()?, s))) {
                    Ok(ok) => ok,
                    Err(e) => {
                        tracing::error!("no RTP/RTCP ports for a call: {e}");
                        let _ = self.uas.reject(now, &call_id, 503, "Service Unavailable");
                        return;
                    }
                };
                let caller = caller.display_name.or(caller.user).unwrap_or_else(|| "anonymous".into());
                let pending = Pending {
                    media: Some(sockets.1),
                    caller,
                    callee: callee.unwrap_or_default(),
                    control: None,
                    remote: None,
                };
                self.calls.insert(call_id.clone(), pending);
                if let Err(e) = self.uas.accept(now, &call_id, sockets.0) {
                    tracing::warn!(call = %call_id, "accept failed: {e}");
                    self.calls.remove(&call_id);
                }
            }
            UasEvent::Answered { call_id, media: Some(media) }
            | UasEvent::Confirmed { call_id, media: Some(media) } => {
                self.start_call(&call_id, media);
            }
            UasEvent::Reoffered { call_id, media } => {
                if let Some(remote) = self.calls.get(&call_id).and_then(|p| p.remote.as_ref()) {
                    let _ = remote.send(RemoteMedia { rtp: media.remote_rtp, rtcp: media.remote_rtcp });
                }
            }
            UasEvent::Cancelled { call_id } | UasEvent::Ended { call_id, .. } => {
                if let Some(p) = self.calls.remove(&call_id)
                    && let Some(control) = p.control
                {
                    let _ = control.try_send(CallControl::RemoteHangup { reason: "the caller hung up".into() });
                }
            }
            UasEvent::Refused { status, reason } => tracing::debug!(status, %reason, "SIP request refused"),
            UasEvent::Dropped { reason } => tracing::debug!(%reason, "SIP message dropped"),
            UasEvent::Answered { .. } | UasEvent::Confirmed { .. } | UasEvent::Ringing { .. } => {}
        }
    }

    fn start_call(&mut self, call_id: &str, media: Negotiated) {
        let Some(p) = self.calls.get_mut(call_id) else { return };
        let Some(sockets) = p.media.take() else { return }; // already started
        let codec = match media.codec {
            sdp::Codec::Pcmu => Codec::Pcmu,
            sdp::Codec::Pcma => Codec::Pcma,
            sdp::Codec::Opus => Codec::Opus,
        };
        let format =
            MediaFormat { codec, payload_type: media.payload_type, dtmf_payload_type: media.dtmf_payload_type };
        let (in_tx, in_rx) = mpsc::channel(RTP_QUEUE);
        let (out_tx, out_rx) = mpsc::channel(RTP_QUEUE);
        let remote = RemoteMedia { rtp: media.remote_rtp, rtcp: media.remote_rtcp };
        let (remote_tx, remote_rx) = tokio::sync::watch::channel(remote);
        tokio::spawn(move_media(sockets, media.rtcp_mux, in_tx, out_rx, remote_rx));
        let info = CallInfo {
            id: call_id.to_string(),
            channel: Channel::Sip,
            caller: p.caller.clone(),
            callee: p.callee.clone(),
            lang: self.hub.services().routes.route(&p.callee).plan.default_lang,
        };
        let link = MediaLink { format, inbound: in_rx, outbound: out_tx, rtcp: true };
        let input = self.input.clone();
        let id = call_id.to_string();
        self.next_seed = self.next_seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let control = self.hub.start(info, link, self.next_seed, move |end| {
            let _ = input.send(Input::CallEnded(id, end));
        });
        p.control = Some(control);
        p.remote = Some(remote_tx);
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn read_udp(udp: Arc<UdpSocket>, input: mpsc::UnboundedSender<Input>) {
    let mut buf = vec![0u8; 65535];
    loop {
        match udp.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if input.send(Input::Datagram(from, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            // e.g. ICMP port unreachable surfacing on Linux: not fatal for a listener.
            Err(e) => tracing::debug!("SIP UDP receive: {e}"),
        }
    }
}

async fn accept_tcp(listener: TcpListener, input: mpsc::UnboundedSender<Input>) {
    let mut next = 0u64;
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        next += 1;
        let conn = ConnectionId(next);
        let (mut reader, mut writer) = stream.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        if input.send(Input::Opened(conn, tx)).is_err() {
            return;
        }
        tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if writer.write_all(&data).await.is_err() {
                    break;
                }
            }
        });
        let input = input.clone();
        tokio::spawn(async move {
            let mut framer = StreamFramer::new();
            let mut buf = vec![0u8; 16 * 1024];
            'read: loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.push(&buf[..n]);
                loop {
                    match framer.poll() {
                        Ok(None) => break,
                        Ok(Some(Frame::Message(m))) => {
                            let _ = input.send(Input::Message(conn, peer, m));
                        }
                        Ok(Some(Frame::Ping)) => {
                            let _ = input.send(Input::Ping(conn));
                        }
                        Err(e) => {
                            tracing::debug!(?conn, "SIP over TCP: {e}; closing");
                            break 'read;
                        }
                    }
                }
            }
            let _ = input.send(Input::Closed(conn));
        });
    }
}
