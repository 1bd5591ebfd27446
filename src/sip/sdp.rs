//! SDP offer/answer (RFC 3264) for one audio stream over plain RTP.
//!
//! Consumes: the peer's SDP (an offer in an INVITE, or the answer to our offer in an ACK) and
//! the codecs we support. Emits: a [`Negotiated`] description for the media layer, and our SDP
//! text, rendered only once the driver has chosen the call's RTP address.
//! Rules: the offerer's codec order decides among the codecs we support (RFC 3264 §6.1);
//! telephone-event (RFC 4733) is kept if offered at the chosen codec's clock rate; every offered
//! m-line gets an answer m-line in the same order, and all but the first usable audio line are
//! refused with port 0 (§6); our direction mirrors the peer's (sendonly is answered recvonly,
//! and a c=0.0.0.0 hold, RFC 3264 §8.4, means the peer receives nothing). RTCP goes to the RTP
//! port + 1 (ours is always there, so we write no a=rtcp), or to the same port when the offer
//! asks for rtcp-mux (RFC 5761), which we always accept.

use bytesstr::BytesStr;
use ezk_sdp_types::{Direction as SdpDirection, MediaDescription, MediaType, SessionDescription, TaggedAddress};
use ezk_sdp_types::{TransportProtocol, UnknownAttribute};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
    Opus,
}

impl Codec {
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::Opus => 48000,
        }
    }

    /// Channels in the rtpmap; Opus is always signalled as 2 (RFC 7587 §7).
    pub fn channels(self) -> u8 {
        match self {
            Codec::Pcmu | Codec::Pcma => 1,
            Codec::Opus => 2,
        }
    }

    fn static_payload(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::Opus => None,
        }
    }

    fn rtpmap(self, pt: u8) -> String {
        match self {
            Codec::Pcmu => format!("a=rtpmap:{pt} PCMU/8000\r\n"),
            Codec::Pcma => format!("a=rtpmap:{pt} PCMA/8000\r\n"),
            // Our fmtp: we decode in-band FEC, so the peer may send it (RFC 7587 §6.1).
            Codec::Opus => format!("a=rtpmap:{pt} opus/48000/2\r\na=fmtp:{pt} useinbandfec=1\r\n"),
        }
    }
}

/// Media direction from our side: what the media layer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn new(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// False while the peer holds the call (it does not want our media).
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "a=sendrecv",
            Direction::SendOnly => "a=sendonly",
            Direction::RecvOnly => "a=recvonly",
            Direction::Inactive => "a=inactive",
        }
    }
}

/// Outcome of a negotiation: everything the media layer needs for the call's RTP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    pub payload_type: u8,
    /// telephone-event payload type at the codec's clock rate, if the peer offered one.
    pub dtmf_payload_type: Option<u8>,
    /// Where to send RTP: the media-level c= address (else the session-level one) and the m= port.
    /// An unspecified address (0.0.0.0, RFC 2543 hold) is reported as is; `direction` then says
    /// not to send.
    pub remote_rtp: SocketAddr,
    /// Where to send RTCP: `remote_rtp` itself with rtcp-mux, else the a=rtcp attribute
    /// (RFC 3605), else the RTP port + 1 (RFC 3550 §11).
    pub remote_rtcp: SocketAddr,
    /// RTP and RTCP share one port (RFC 5761): the offer had a=rtcp-mux, and our answer says so.
    pub rtcp_mux: bool,
    /// The peer's a=ptime (ms): the packet duration it wants to receive.
    pub ptime: Option<u32>,
    pub direction: Direction,
    /// The peer's a=fmtp parameters for `payload_type` (for Opus: useinbandfec, maxplaybackrate …).
    pub fmtp: Option<String>,
}

impl Negotiated {
    /// Value of one `name=value` parameter of `fmtp` (`Some("")` for a bare flag).
    pub fn fmtp_param(&self, name: &str) -> Option<&str> {
        self.fmtp.as_deref()?.split(';').map(str::trim).find_map(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case(name) => Some(v.trim()),
            None if p.eq_ignore_ascii_case(name) => Some(""),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OfferError {
    /// 400: the body is not SDP we can read.
    #[error("malformed SDP: {0}")]
    Malformed(String),
    /// 488: nothing in the offer we can use.
    #[error("no usable audio stream")]
    NotAcceptable,
}

/// A peer offer matched against our codecs; the answer is rendered later, with our address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub media: Negotiated,
    /// One entry per offered m-line, in order.
    streams: Vec<Stream>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stream {
    Chosen {
        proto: String,
        dtmf_events: String,
    },
    /// The answer's `m=` line refusing this stream.
    Refused(String),
}

/// Reads a peer's offer and picks its first usable audio stream.
pub fn read_offer(body: &[u8], codecs: &[Codec]) -> Result<Offer, OfferError> {
    let text = std::str::from_utf8(body).map_err(|_| OfferError::Malformed("SDP is not UTF-8".into()))?;
    let sdp = SessionDescription::parse(&BytesStr::from(text.to_string()))
        .map_err(|e| OfferError::Malformed(e.to_string()))?;
    let mut chosen: Option<Negotiated> = None;
    let mut streams = Vec::new();
    for md in &sdp.media_descriptions {
        if md.connection.is_none() && sdp.connection.is_none() {
            return Err(OfferError::Malformed("m-line without a c= line".into()));
        }
        match chosen.is_none().then(|| usable(md, &sdp, codecs)).flatten() {
            Some(n) => {
                let events = n.dtmf_payload_type.and_then(|pt| md.fmtp.iter().find(|f| f.format == pt));
                let dtmf_events = events.map_or_else(|| "0-15".to_string(), |f| f.params.to_string());
                streams.push(Stream::Chosen { proto: md.media.proto.to_string(), dtmf_events });
                chosen = Some(n);
            }
            None => {
                // RFC 3264 §6: a refused stream keeps its slot, port 0, at least one format.
                let first = md.media.fmts.first().map_or_else(|| "0".to_string(), u8::to_string);
                streams.push(Stream::Refused(format!("m={} 0 {} {first}\r\n", md.media.media_type, md.media.proto)));
            }
        }
    }
    let media = chosen.ok_or(OfferError::NotAcceptable)?;
    Ok(Offer { media, streams })
}

/// Reads the peer's answer to our [`offer_media`]: the stream it accepted, as we will use it.
pub fn read_answer(body: &[u8], codecs: &[Codec]) -> Result<Negotiated, OfferError> {
    let mut media = read_offer(body, codecs)?.media;
    if media.rtcp_mux {
        // Our offers do not propose rtcp-mux, so an answer cannot accept it (RFC 5761 §5.1.1).
        media.rtcp_mux = false;
        media.remote_rtcp = implicit_rtcp(media.remote_rtp);
    }
    Ok(media)
}

/// The m-lines of our answer to `offer`, receiving RTP on `rtp_port`.
pub fn answer_media(offer: &Offer, rtp_port: u16) -> String {
    let n = &offer.media;
    let mut out = String::new();
    for stream in &offer.streams {
        match stream {
            Stream::Refused(line) => out.push_str(line),
            Stream::Chosen { proto, dtmf_events } => {
                let _ = write!(out, "m=audio {rtp_port} {proto} {}", n.payload_type);
                if let Some(dtmf) = n.dtmf_payload_type {
                    let _ = write!(out, " {dtmf}");
                }
                out.push_str("\r\n");
                out.push_str(&n.codec.rtpmap(n.payload_type));
                if let Some(dtmf) = n.dtmf_payload_type {
                    let _ = write!(out, "a=rtpmap:{dtmf} telephone-event/{}\r\n", n.codec.clock_rate());
                    let _ = write!(out, "a=fmtp:{dtmf} {dtmf_events}\r\n");
                }
                if n.rtcp_mux {
                    out.push_str("a=rtcp-mux\r\n");
                }
                let _ = write!(out, "a=ptime:20\r\n{}\r\n", n.direction.attribute());
            }
        }
    }
    out
}

/// The m-line of our own offer (delayed-offer INVITE, offer-less re-INVITE): `codecs` in order,
/// then telephone-event at each clock rate in use.
pub fn offer_media(codecs: &[Codec], rtp_port: u16) -> String {
    let (mut pts, mut maps, mut dynamic) = (Vec::new(), String::new(), 96u8);
    for codec in codecs {
        let pt = codec.static_payload().unwrap_or_else(|| {
            dynamic = dynamic.saturating_add(1);
            dynamic - 1
        });
        pts.push(pt.to_string());
        maps.push_str(&codec.rtpmap(pt));
    }
    for (pt, rate) in [(101, 8000), (102, 48000)] {
        if codecs.iter().any(|c| c.clock_rate() == rate) {
            pts.push(pt.to_string());
            let _ = write!(maps, "a=rtpmap:{pt} telephone-event/{rate}\r\na=fmtp:{pt} 0-15\r\n");
        }
    }
    format!("m=audio {rtp_port} RTP/AVP {}\r\n{maps}a=ptime:20\r\na=sendrecv\r\n", pts.join(" "))
}

/// Our side of the SDP session of one call: the o= line, whose version must grow by one exactly
/// when our description changes (RFC 3264 §8), so a session refresh repeats it unchanged.
#[derive(Debug)]
pub struct LocalSession {
    id: u64,
    version: u64,
    /// Everything after the o= line of the last description we sent.
    last: Option<String>,
}

impl LocalSession {
    pub fn new(id: u64) -> Self {
        LocalSession { id, version: 1, last: None }
    }

    /// A full description around `media`, our RTP arriving at `local`'s address.
    pub fn describe(&mut self, local: SocketAddr, media: &str) -> String {
        let ip = match local.ip() {
            IpAddr::V4(a) => format!("IP4 {a}"),
            IpAddr::V6(a) => format!("IP6 {a}"),
        };
        let rest = format!("s=callbot\r\nc=IN {ip}\r\nt=0 0\r\n{media}");
        if self.last.as_ref().is_some_and(|last| *last != rest) {
            self.version += 1;
        }
        let out = format!("v=0\r\no=callbot {} {} IN {ip}\r\n{rest}", self.id, self.version);
        self.last = Some(rest);
        out
    }
}

fn usable(md: &MediaDescription, sdp: &SessionDescription, codecs: &[Codec]) -> Option<Negotiated> {
    if md.media.media_type != MediaType::Audio || md.media.port == 0 {
        return None;
    }
    if !matches!(md.media.proto, TransportProtocol::RtpAvp | TransportProtocol::RtpAvpf) {
        return None; // SRTP/DTLS belong to the WebRTC path
    }
    let (codec, payload_type) = md.media.fmts.iter().find_map(|&pt| {
        let codec = codec_of(md, pt)?;
        codecs.contains(&codec).then_some((codec, pt))
    })?;
    let dtmf = md.rtpmap.iter().find(|m| {
        m.encoding.eq_ignore_ascii_case("telephone-event")
            && m.clock_rate == codec.clock_rate()
            && md.media.fmts.contains(&m.payload)
    });
    let ip = match &md.connection.as_ref().or(sdp.connection.as_ref())?.address {
        TaggedAddress::IP4(a) => IpAddr::V4(*a),
        TaggedAddress::IP6(a) => IpAddr::V6(*a),
        // A host name needs DNS, which the media layer does not do.
        TaggedAddress::IP4FQDN(_) | TaggedAddress::IP6FQDN(_) => return None,
    };
    let (peer_sends, peer_receives) = match md.direction {
        SdpDirection::SendRecv => (true, true),
        SdpDirection::SendOnly => (true, false),
        SdpDirection::RecvOnly => (false, true),
        SdpDirection::Inactive => (false, false),
    };
    let remote_rtp = SocketAddr::new(ip, md.media.port);
    let remote_rtcp = match &md.rtcp {
        _ if md.rtcp_mux => remote_rtp,
        Some(rtcp) => {
            let ip = match &rtcp.address {
                Some(TaggedAddress::IP4(a)) => IpAddr::V4(*a),
                Some(TaggedAddress::IP6(a)) => IpAddr::V6(*a),
                _ => ip, // none given, or a host name: the media address
            };
            SocketAddr::new(ip, rtcp.port)
        }
        None => implicit_rtcp(remote_rtp),
    };
    Some(Negotiated {
        codec,
        payload_type,
        dtmf_payload_type: dtmf.map(|m| m.payload),
        remote_rtp,
        remote_rtcp,
        rtcp_mux: md.rtcp_mux,
        ptime: ptime(&md.attributes).or_else(|| ptime(&sdp.attributes)),
        direction: Direction::new(peer_receives && !ip.is_unspecified(), peer_sends),
        fmtp: md.fmtp.iter().find(|f| f.format == payload_type).map(|f| f.params.to_string()),
    })
}

/// RFC 3550 §11: RTCP on the next port up (an RTP port of 65535 has none; RTCP then shares it).
fn implicit_rtcp(rtp: SocketAddr) -> SocketAddr {
    SocketAddr::new(rtp.ip(), rtp.port().checked_add(1).unwrap_or(rtp.port()))
}

fn ptime(attributes: &[UnknownAttribute]) -> Option<u32> {
    let value = attributes.iter().find(|a| a.name.eq_ignore_ascii_case("ptime"))?.value.as_ref()?;
    // Some peers write a fraction ("20.0"); whole milliseconds are all RTP framing uses.
    value.trim().split('.').next()?.parse().ok().filter(|&ms| ms > 0)
}

/// Codec behind payload type `pt`: the a=rtpmap if present, else the RFC 3551 static table.
fn codec_of(md: &MediaDescription, pt: u8) -> Option<Codec> {
    if let Some(map) = md.rtpmap.iter().find(|m| m.payload == pt) {
        let name = map.encoding.to_ascii_lowercase();
        return match (name.as_str(), map.clock_rate) {
            ("pcmu", 8000) => Some(Codec::Pcmu),
            ("pcma", 8000) => Some(Codec::Pcma),
            ("opus", 48000) => Some(Codec::Opus),
            _ => None,
        };
    }
    match pt {
        0 => Some(Codec::Pcmu),
        8 => Some(Codec::Pcma),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
