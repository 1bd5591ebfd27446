//! The sans-IO user-agent server: request dispatch, stateless answers, and the table of calls
//! (each call's transactions, dialog and life cycle live in [`call`]).
//!
//! Inputs: `handle_datagram(now, source, bytes)` for UDP, `handle_stream_message(now, conn,
//! peer, bytes)` for one framed TCP message, `handle_timeout(now)`, `connection_closed(conn)`,
//! and the call layer's decisions: `accept`, `reject`, `hangup`.
//! Outputs: `poll_transmit()`, `poll_event()`, `poll_timeout()`; drain them after every input.
//! Call life cycle as the call layer sees it: `Incoming` (100 Trying sent; nothing else happens
//! until `accept` or `reject`, or `answer_timeout` passes), then `Ringing`, `Answered`,
//! `Confirmed`, any number of `Reoffered`, and exactly one terminal `Cancelled` or `Ended`.
//! Time is only what the caller passes in, so tests run the RFC 3261 timers instantly.

mod call;

use super::dialog::{self, Dialog, Party};
use super::ids::Ids;
use super::message::{self, Echo, Parsed, Refused, Rejection, Reply, Request, Response};
use super::sdp::{self, Codec, Negotiated, OfferError};
use super::{ConnectionId, Destination, Transmit, Transport};
use call::Call;
use ezk_sip_types::Name;
use ezk_sip_types::header::typed::Via;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 3261 §17 timer values.
pub const T1: Duration = Duration::from_millis(500);
pub const T2: Duration = Duration::from_secs(4);
/// How long UDP keeps absorbing retransmissions after a transaction ends (Timers I and K).
pub const T4: Duration = Duration::from_secs(5);
/// Timers B, F, H, J and the 2xx give-up: 64 * T1.
pub const GIVE_UP: Duration = Duration::from_secs(32);

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS";
/// Methods we recognise but do not serve: 405 (§8.2.1); anything else unknown: 501.
const KNOWN_UNSUPPORTED: &[&str] =
    &["REGISTER", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "INFO", "UPDATE", "PRACK", "PUBLISH"];
/// Seconds a caller refused for load should wait (503, §21.5.4).
const BUSY_RETRY_AFTER_S: u32 = 5;

/// `UasEvent::Ended` reasons.
pub mod reason {
    /// The peer sent BYE.
    pub const BYE: &str = "BYE";
    /// Our BYE was answered 2xx.
    pub const HANGUP: &str = "hangup";
    /// Our BYE was answered 481: the peer had already forgotten the dialog.
    pub const HANGUP_NO_DIALOG: &str = "hangup: no such dialog";
    /// Our BYE got another final response; the session is over all the same (§15.1.1).
    pub const HANGUP_REFUSED: &str = "hangup: BYE refused";
    /// Our BYE got no final response within Timer F.
    pub const HANGUP_TIMEOUT: &str = "hangup: BYE timed out";
    /// `hangup` before the 200: the INVITE was answered 486 (not accepted) or 480 (ringing).
    pub const HANGUP_BEFORE_ANSWER: &str = "hangup before answer";
    /// The call layer called `reject`.
    pub const REJECTED: &str = "rejected";
    /// Neither `accept` nor `reject` within `answer_timeout`: answered 500.
    pub const NOT_DECIDED: &str = "not accepted in time";
    /// No ACK for our 2xx within 64*T1 (§13.3.1.4): we sent BYE.
    pub const NO_ACK: &str = "no ACK";
    /// Our 200 made the offer and the ACK brought no usable answer (§13.3.1.4): we sent BYE.
    pub const NO_ANSWER_IN_ACK: &str = "no usable SDP answer in ACK";
    /// The TCP connection the dialog lives on closed.
    pub const CONNECTION_CLOSED: &str = "connection closed";
}

/// What the call layer needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UasEvent {
    /// A new call waits for `accept` or `reject`. `media` is `None` when the INVITE carried no
    /// offer: our 200 then offers, and the answer arrives with `Confirmed`.
    Incoming { call_id: String, caller: Party, callee: Option<String>, peer: SocketAddr, media: Option<Negotiated> },
    /// 180 sent after `accept`.
    Ringing { call_id: String },
    /// 200 sent; `media` as in `Incoming`.
    Answered { call_id: String, media: Option<Negotiated> },
    /// ACK received. `media` is the answer the ACK carried, when our 200 made the offer.
    Confirmed { call_id: String, media: Option<Negotiated> },
    /// A re-INVITE (or the ACK answering our offer in its 200) changed the media: new address,
    /// codec or direction (hold is `direction` without sending).
    Reoffered { call_id: String, media: Negotiated },
    /// CANCEL before the 200: the call is over.
    Cancelled { call_id: String },
    /// The call is over; `reason` is one of the [`reason`] constants.
    Ended { call_id: String, reason: &'static str },
    /// A request answered with an error status (malformed, unsupported …).
    Refused { status: u16, reason: String },
    /// A message ignored without an answer.
    Dropped { reason: &'static str },
}

#[derive(Debug, Clone)]
pub struct UasConfig {
    /// User part of our Contact URI, e.g. `bot`.
    pub user: String,
    /// Address in our Contact and Via sent-by: where peers reach us, on UDP and TCP alike.
    pub advertise: SocketAddr,
    /// Time between 180 Ringing and 200 OK: the window in which CANCEL works.
    pub ring_delay: Duration,
    /// How long an `Incoming` call may wait for `accept`/`reject` before we answer 500.
    pub answer_timeout: Duration,
    /// Codecs we can handle; the offerer's order decides among them.
    pub codecs: Vec<Codec>,
    /// At this many live calls new INVITEs get 503.
    pub max_calls: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("no live call with Call-ID {0:?}")]
    NoSuchCall(String),
    #[error("call {0:?} is no longer waiting for accept or reject")]
    NotPending(String),
    #[error("{0} is not a final status to reject a call with (300-699)")]
    BadStatus(u16),
    #[error("reason phrase must be non-empty printable text")]
    BadReason,
    #[error("RTP address {0} needs a specific IP address and a port")]
    BadRtpAddress(SocketAddr),
}

/// Where a message came from.
#[derive(Debug, Clone, Copy)]
struct Source {
    peer: SocketAddr,
    conn: Option<ConnectionId>,
}

impl Source {
    fn transport(self) -> Transport {
        if self.conn.is_some() { Transport::Tcp } else { Transport::Udp }
    }

    /// Responses go back on the connection (§18.2.2), or over UDP to the address §18.2.2 and
    /// RFC 3581 (rport) name.
    fn reply_to(self, top_via: Option<&Via>) -> Destination {
        match self.conn {
            Some(conn) => Destination::Tcp(conn),
            None => Destination::Udp(message::response_target(self.peer, top_via)),
        }
    }
}

/// Outputs waiting for the driver.
#[derive(Default)]
struct Outbox {
    transmits: VecDeque<Transmit>,
    events: VecDeque<UasEvent>,
}

impl Outbox {
    fn send(&mut self, to: Destination, data: Vec<u8>) {
        self.transmits.push_back(Transmit { to, data });
    }

    fn event(&mut self, event: UasEvent) {
        self.events.push_back(event);
    }
}

/// What a call's methods may touch besides the call itself.
struct Ctx<'a> {
    cfg: &'a UasConfig,
    ids: &'a mut Ids,
    out: &'a mut Outbox,
}

struct CachedFinal {
    to: Destination,
    data: Vec<u8>,
    expires: Instant,
}

pub struct Uas {
    cfg: UasConfig,
    ids: Ids,
    calls: HashMap<String, Call>,
    /// Final responses of non-INVITE transactions over UDP, by (branch, method), replayed on
    /// retransmission until Timer J. TCP needs none: nothing is retransmitted over it.
    finals: HashMap<(String, String), CachedFinal>,
    out: Outbox,
}

impl Uas {
    /// `seed` feeds every tag, branch and SDP session id; give each process a fresh one.
    pub fn new(cfg: UasConfig, seed: u64) -> Self {
        Uas { cfg, ids: Ids::new(seed), calls: HashMap::new(), finals: HashMap::new(), out: Outbox::default() }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<UasEvent> {
        self.out.events.pop_front()
    }

    /// Calls not yet over (including those waiting for `accept`).
    pub fn live_calls(&self) -> usize {
        self.calls.values().filter(|c| c.is_live()).count()
    }

    /// Earliest instant at which `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.calls.values().filter_map(Call::next_deadline);
        calls.chain(self.finals.values().map(|f| f.expires)).min()
    }

    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        self.handle(now, Source { peer: source, conn: None }, datagram);
    }

    /// One message framed by [`super::framing::StreamFramer`] from connection `conn` to `peer`.
    pub fn handle_stream_message(&mut self, now: Instant, conn: ConnectionId, peer: SocketAddr, message: &[u8]) {
        self.handle(now, Source { peer, conn: Some(conn) }, message);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for call in self.calls.values_mut() {
            call.on_timeout(now, &mut Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out });
        }
        self.calls.retain(|_, c| c.forget_at().is_none_or(|t| t > now));
        self.finals.retain(|_, f| f.expires > now);
    }

    /// Takes an `Incoming` call: 180 now, 200 after `ring_delay`, our SDP naming `local_rtp`.
    pub fn accept(&mut self, now: Instant, call_id: &str, local_rtp: SocketAddr) -> Result<(), CallError> {
        if local_rtp.port() == 0 || local_rtp.ip().is_unspecified() {
            return Err(CallError::BadRtpAddress(local_rtp));
        }
        let (call, mut ctx) = self.call(call_id)?;
        call.accept(now, local_rtp, &mut ctx)
    }

    /// Refuses an `Incoming` (or ringing) call with a final status of 300-699.
    pub fn reject(&mut self, now: Instant, call_id: &str, status: u16, reason: &str) -> Result<(), CallError> {
        if !(300..700).contains(&status) {
            return Err(CallError::BadStatus(status));
        }
        if reason.is_empty() || reason.chars().any(char::is_control) {
            return Err(CallError::BadReason);
        }
        let (call, mut ctx) = self.call(call_id)?;
        call.reject(now, status, reason, &mut ctx)
    }

    /// Ends a call from our side: BYE once it is confirmed, a 486/480 while it is not yet answered.
    pub fn hangup(&mut self, now: Instant, call_id: &str) -> Result<(), CallError> {
        let (call, mut ctx) = self.call(call_id)?;
        call.hangup(now, &mut ctx);
        Ok(())
    }

    /// The driver lost TCP connection `conn`: the calls whose dialog lives on it are over.
    pub fn connection_closed(&mut self, conn: ConnectionId) {
        let out = &mut self.out;
        self.calls.retain(|_, call| {
            if call.conn() != Some(conn) {
                return true;
            }
            call.end(reason::CONNECTION_CLOSED, out);
            false
        });
    }

    fn call(&mut self, call_id: &str) -> Result<(&mut Call, Ctx<'_>), CallError> {
        match self.calls.get_mut(call_id) {
            Some(call) if call.is_live() => Ok((call, Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out })),
            _ => Err(CallError::NoSuchCall(call_id.to_string())),
        }
    }

    fn handle(&mut self, now: Instant, source: Source, bytes: &[u8]) {
        match message::parse(bytes, source.transport()) {
            Ok(Parsed::Request(req)) => self.on_request(now, *req, source),
            Ok(Parsed::Reply(reply)) => self.on_reply(now, reply),
            Err(Refused::Drop(reason)) => self.out.event(UasEvent::Dropped { reason }),
            Err(Refused::Reject(r)) => {
                let Rejection { method, status, reason, echo, top_via } = *r;
                if method != "ACK" {
                    self.out.send(source.reply_to(top_via.as_ref()), plain(&echo, status, reason, None, vec![]));
                }
                self.out.event(UasEvent::Refused { status, reason: reason.to_string() });
            }
        }
    }

    fn on_request(&mut self, now: Instant, req: Request, source: Source) {
        let reply_to = source.reply_to(Some(&req.top_via));
        if req.method != "INVITE"
            && req.method != "ACK"
            && !req.branch.is_empty()
            && let Some(cached) = self.finals.get(&(req.branch.clone(), req.method.clone()))
        {
            return self.out.send(cached.to, cached.data.clone());
        }
        if !matches!(req.method.as_str(), "ACK" | "CANCEL")
            && let Some(required) = req.headers.get_raw(&Name::REQUIRE).next()
        {
            let extra = vec![("Unsupported", required.to_string())];
            return self.final_non_invite(now, &req, reply_to, 420, "Bad Extension", extra);
        }
        match req.method.as_str() {
            "INVITE" => self.on_invite(now, req, source, reply_to),
            "ACK" => match self.calls.get_mut(&req.call_id) {
                Some(call) => {
                    call.on_ack(now, &req, &mut Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out })
                }
                None => self.out.event(UasEvent::Dropped { reason: "ACK for no call" }),
            },
            "BYE" => self.on_bye(now, req, reply_to),
            "CANCEL" => self.on_cancel(now, req, reply_to),
            "OPTIONS" => {
                let extra = vec![
                    ("Allow", ALLOW.to_string()),
                    ("Accept", "application/sdp".to_string()),
                    ("Contact", contact(&self.cfg, source.transport())),
                ];
                self.final_non_invite(now, &req, reply_to, 200, "OK", extra)
            }
            m if KNOWN_UNSUPPORTED.contains(&m) => {
                let extra = vec![("Allow", ALLOW.to_string())];
                self.final_non_invite(now, &req, reply_to, 405, "Method Not Allowed", extra)
            }
            _ => {
                let extra = vec![("Allow", ALLOW.to_string())];
                self.final_non_invite(now, &req, reply_to, 501, "Not Implemented", extra)
            }
        }
    }

    /// A response: ours to match against the BYE client transactions (§17.1.3), never a request.
    fn on_reply(&mut self, now: Instant, reply: Reply) {
        let found = self.calls.values_mut().find(|c| c.bye_matches(&reply));
        match found {
            Some(call) => call.on_bye_reply(
                now,
                reply.status,
                &mut Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out },
            ),
            None => self.out.event(UasEvent::Dropped { reason: "response matches no transaction" }),
        }
    }

    fn on_invite(&mut self, now: Instant, req: Request, source: Source, reply_to: Destination) {
        let mut ctx = Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out };
        if let Some(call) = self.calls.get_mut(&req.call_id) {
            if call.is_retransmission(&req) {
                return call.replay(&mut ctx);
            }
            if req.to_tag.is_some() && call.in_dialog(&req) {
                return call.on_reinvite(now, &req, reply_to, &mut ctx);
            }
        }
        if req.to_tag.is_some() {
            return self.reject_invite_stateless(&req, reply_to, 481, "Call/Transaction Does Not Exist", vec![]);
        }
        if self.calls.contains_key(&req.call_id) {
            // Same Call-ID, new branch, no To tag: a loop or a fork we already serve.
            return self.reject_invite_stateless(&req, reply_to, 482, "Loop Detected", vec![]);
        }
        if self.live_calls() >= self.cfg.max_calls {
            let extra = vec![("Retry-After", BUSY_RETRY_AFTER_S.to_string())];
            return self.reject_invite_stateless(&req, reply_to, 503, "Service Unavailable", extra);
        }
        let offer = match read_sdp(&req, &self.cfg.codecs) {
            Ok(offer) => offer,
            Err((status, reason)) => return self.reject_invite_stateless(&req, reply_to, status, reason, vec![]),
        };
        let local_tag = self.ids.tag();
        let dialog = match Dialog::from_invite(&req, local_tag, source.transport()) {
            Ok(dialog) => dialog,
            Err(reason) => return self.reject_invite_stateless(&req, reply_to, 400, reason, vec![]),
        };
        let (caller, callee) = dialog::parties(&req);
        let media = offer.as_ref().map(|o| o.media.clone());
        let mut ctx = Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out };
        let call = Call::new(now, &req, source, dialog, offer, &mut ctx);
        let call_id = req.call_id.clone();
        self.out.event(UasEvent::Incoming { call_id: call_id.clone(), caller, callee, peer: source.peer, media });
        self.calls.insert(call_id, call);
    }

    fn on_bye(&mut self, now: Instant, req: Request, reply_to: Destination) {
        let mut ctx = Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out };
        let ended = match self.calls.get_mut(&req.call_id) {
            Some(call) if call.in_dialog(&req) => call.on_bye(now, &mut ctx),
            _ => false,
        };
        if ended {
            self.final_non_invite(now, &req, reply_to, 200, "OK", vec![]);
        } else {
            self.final_non_invite(now, &req, reply_to, 481, "Call/Transaction Does Not Exist", vec![]);
        }
    }

    fn on_cancel(&mut self, now: Instant, req: Request, reply_to: Destination) {
        // CANCEL matches the INVITE by Call-ID, CSeq number and top Via branch (§9.2).
        let Some(call) = self.calls.get_mut(&req.call_id).filter(|c| c.cancel_matches(&req)) else {
            return self.final_non_invite(now, &req, reply_to, 481, "Call/Transaction Does Not Exist", vec![]);
        };
        // The 200 to the CANCEL goes out before the INVITE's 487.
        let ok = plain(&req.echo, 200, "OK", Some(call.local_tag()), vec![]);
        self.cache_final(now, &req, reply_to, ok);
        // Looked up again because `cache_final` borrowed all of `self`. After our 200 to the
        // INVITE this does nothing: the caller will BYE instead.
        if let Some(call) = self.calls.get_mut(&req.call_id) {
            call.on_cancel(now, &mut Ctx { cfg: &self.cfg, ids: &mut self.ids, out: &mut self.out });
        }
    }

    /// Final error to an INVITE we keep no call for. Its ACK finds no call and is dropped;
    /// a retransmitted INVITE is simply re-evaluated, yielding the same answer.
    fn reject_invite_stateless(
        &mut self,
        req: &Request,
        reply_to: Destination,
        status: u16,
        reason: &'static str,
        extra: Vec<(&'static str, String)>,
    ) {
        let tag = self.ids.tag();
        self.out.send(reply_to, plain(&req.echo, status, reason, Some(&tag), extra));
        self.out.event(UasEvent::Refused { status, reason: reason.to_string() });
    }

    fn final_non_invite(
        &mut self,
        now: Instant,
        req: &Request,
        reply_to: Destination,
        status: u16,
        reason: &str,
        extra: Vec<(&'static str, String)>,
    ) {
        let tag = if req.to_tag.is_none() { Some(self.ids.tag()) } else { None };
        let data = plain(&req.echo, status, reason, tag.as_deref(), extra);
        if status >= 300 {
            self.out.event(UasEvent::Refused { status, reason: reason.to_string() });
        }
        self.cache_final(now, req, reply_to, data);
    }

    fn cache_final(&mut self, now: Instant, req: &Request, reply_to: Destination, data: Vec<u8>) {
        if !req.branch.is_empty() && reply_to.transport() == Transport::Udp {
            let key = (req.branch.clone(), req.method.clone());
            self.finals.insert(key, CachedFinal { to: reply_to, data: data.clone(), expires: now + GIVE_UP });
        }
        self.out.send(reply_to, data);
    }
}

/// The peer's offer in `req`, or `None` for an INVITE without body (we offer in the 200).
fn read_sdp(req: &Request, codecs: &[Codec]) -> Result<Option<sdp::Offer>, (u16, &'static str)> {
    if req.body.is_empty() {
        return Ok(None);
    }
    if !is_sdp(req) {
        return Err((415, "Unsupported Media Type"));
    }
    match sdp::read_offer(&req.body, codecs) {
        Ok(offer) => Ok(Some(offer)),
        Err(OfferError::Malformed(_)) => Err((400, "Malformed SDP")),
        Err(OfferError::NotAcceptable) => Err((488, "Not Acceptable Here")),
    }
}

fn is_sdp(req: &Request) -> bool {
    let content_type = req.headers.get_raw(&Name::CONTENT_TYPE).next().map(|v| v.to_ascii_lowercase());
    content_type.as_deref().map(|c| c.split(';').next().unwrap_or("").trim()) == Some("application/sdp")
}

/// Our Contact for a dialog on `transport` (§8.1.1.8: it must name the transport we take).
fn contact(cfg: &UasConfig, transport: Transport) -> String {
    match transport {
        Transport::Udp => format!("<sip:{}@{}>", cfg.user, cfg.advertise),
        Transport::Tcp => format!("<sip:{}@{};transport=tcp>", cfg.user, cfg.advertise),
    }
}

fn plain(echo: &Echo, status: u16, reason: &str, to_tag: Option<&str>, extra: Vec<(&'static str, String)>) -> Vec<u8> {
    Response { status, reason, echo, to_tag, extra, body: None }.to_bytes()
}

fn with_sdp(
    echo: &Echo,
    status: u16,
    reason: &str,
    to_tag: &str,
    extra: Vec<(&'static str, String)>,
    sdp: &str,
) -> Vec<u8> {
    let body = Some(("application/sdp", sdp.as_bytes()));
    Response { status, reason, echo, to_tag: Some(to_tag), extra, body }.to_bytes()
}

#[cfg(test)]
mod tests;
