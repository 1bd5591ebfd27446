//! One call: the server transaction of its latest INVITE, its dialog, the BYE client
//! transaction when we hang up, and the life cycle the call layer sees.
//!
//! Invariants: the call layer hears `Cancelled` or `Ended` exactly once per call (`ended`);
//! a call is forgotten only once no transaction of it can still see traffic (`settle`).

use super::{ALLOW, CallError, Ctx, GIVE_UP, Outbox, Source, T1, T2, T4, UasEvent};
use super::{contact, is_sdp, plain, read_sdp, reason, with_sdp};
use crate::sip::dialog::Dialog;
use crate::sip::message::{Echo, Reply, Request};
use crate::sip::sdp::{self, LocalSession, Negotiated};
use crate::sip::{ConnectionId, Destination};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// 100 sent; waiting for `accept` or `reject`.
    Offered,
    /// 180 sent; the 200 is due at `answer_at`.
    Ringing,
    /// 200 to the initial INVITE sent; waiting for its ACK.
    Answered,
    /// ACKed: the dialog is up.
    Confirmed,
    /// Our BYE is in flight.
    Ending,
    /// Over; kept only while transactions may still see retransmissions.
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No final response yet.
    Proceeding,
    /// 2xx sent, retransmitting until ACK.
    Accepted,
    /// Non-2xx final sent, waiting for ACK.
    Rejected,
    /// ACKed or given up.
    Done,
}

/// Server transaction of an INVITE (§17.2.1) plus the core's 2xx retransmission (§13.3.1.4).
struct InviteTx {
    branch: String,
    cseq: u32,
    echo: Echo,
    reply_to: Destination,
    /// The dialog-creating INVITE (CANCEL applies only to it).
    initial: bool,
    phase: Phase,
    /// Last response sent, replayed for a retransmitted INVITE.
    last: Vec<u8>,
    /// Our 2xx carried the offer (the INVITE had none): the ACK must bring the answer.
    we_offered: bool,
    retransmit: Option<(Instant, Duration)>,
    give_up_at: Option<Instant>,
}

impl InviteTx {
    fn new(req: &Request, reply_to: Destination, initial: bool) -> Self {
        InviteTx {
            branch: req.branch.clone(),
            cseq: req.cseq,
            echo: req.echo.clone(),
            reply_to,
            initial,
            phase: Phase::Proceeding,
            last: Vec::new(),
            we_offered: false,
            retransmit: None,
            give_up_at: None,
        }
    }

    /// Sends a final response and waits for its ACK until 64*T1. A 2xx is retransmitted on
    /// every transport (it is end-to-end, and a proxy may forward it over UDP); other finals
    /// only over UDP (Timer G).
    fn finish(&mut self, now: Instant, data: Vec<u8>, accepted: bool, out: &mut Outbox) {
        self.phase = if accepted { Phase::Accepted } else { Phase::Rejected };
        let retransmits = accepted || !self.reply_to.transport().is_reliable();
        self.retransmit = retransmits.then_some((now + T1, T1));
        self.give_up_at = Some(now + GIVE_UP);
        self.last = data.clone();
        out.send(self.reply_to, data);
    }

    fn stop(&mut self) {
        self.phase = Phase::Done;
        self.retransmit = None;
        self.give_up_at = None;
    }
}

/// Our BYE: a non-INVITE client transaction (§17.1.2).
struct ByeTx {
    branch: String,
    cseq: u32,
    to: Destination,
    data: Vec<u8>,
    /// Timer E; `None` over TCP, which retransmits by itself.
    retransmit: Option<(Instant, Duration)>,
    /// A provisional response came: Timer E now fires every T2.
    proceeding: bool,
    /// Timer F.
    give_up_at: Instant,
}

pub(super) struct Call {
    call_id: String,
    dialog: Dialog,
    /// TCP connection the dialog was created on: our requests go there.
    conn: Option<ConnectionId>,
    /// Where the INVITE came from: the UDP next hop when the dialog names none we can use.
    source: SocketAddr,
    state: State,
    invite: InviteTx,
    remote_cseq: u32,
    bye: Option<ByeTx>,
    /// Set by `accept`: our SDP names it.
    local_rtp: Option<SocketAddr>,
    sdp: LocalSession,
    /// The peer's offer until our 200 answers it.
    offer: Option<sdp::Offer>,
    media: Option<Negotiated>,
    /// Deadline for the call layer's `accept`/`reject`.
    decide_by: Option<Instant>,
    answer_at: Option<Instant>,
    /// `hangup` came while our 2xx awaited its ACK: BYE once it arrives (§15).
    bye_after_ack: bool,
    /// `Cancelled` or `Ended` went out.
    ended: bool,
    forget_at: Option<Instant>,
}

impl Call {
    /// A new call for an initial INVITE that passed every check: 100 Trying goes out.
    pub(super) fn new(
        now: Instant,
        req: &Request,
        source: Source,
        dialog: Dialog,
        offer: Option<sdp::Offer>,
        ctx: &mut Ctx<'_>,
    ) -> Call {
        let reply_to = source.reply_to(Some(&req.top_via));
        let mut invite = InviteTx::new(req, reply_to, true);
        invite.last = plain(&req.echo, 100, "Trying", None, vec![]);
        ctx.out.send(reply_to, invite.last.clone());
        Call {
            call_id: req.call_id.clone(),
            dialog,
            conn: source.conn,
            source: source.peer,
            state: State::Offered,
            invite,
            remote_cseq: req.cseq,
            bye: None,
            local_rtp: None,
            sdp: LocalSession::new(ctx.ids.session_id()),
            offer,
            media: None,
            decide_by: Some(now + ctx.cfg.answer_timeout),
            answer_at: None,
            bye_after_ack: false,
            ended: false,
            forget_at: None,
        }
    }

    pub(super) fn is_live(&self) -> bool {
        self.state != State::Terminated
    }

    pub(super) fn conn(&self) -> Option<ConnectionId> {
        self.conn
    }

    pub(super) fn local_tag(&self) -> &str {
        &self.dialog.local_tag
    }

    pub(super) fn forget_at(&self) -> Option<Instant> {
        self.forget_at
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let bye = self.bye.as_ref();
        [
            self.decide_by,
            self.answer_at,
            self.invite.retransmit.map(|r| r.0),
            self.invite.give_up_at,
            bye.and_then(|b| b.retransmit.map(|r| r.0)),
            bye.map(|b| b.give_up_at),
            self.forget_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(super) fn is_retransmission(&self, req: &Request) -> bool {
        self.invite.cseq == req.cseq && self.invite.branch == req.branch
    }

    pub(super) fn replay(&self, ctx: &mut Ctx<'_>) {
        if !self.invite.last.is_empty() {
            ctx.out.send(self.invite.reply_to, self.invite.last.clone());
        }
    }

    /// The request's tags name this dialog (§12.2.2); it exists from our first tagged response.
    pub(super) fn in_dialog(&self, req: &Request) -> bool {
        req.to_tag.as_deref() == Some(self.dialog.local_tag.as_str())
            && req.from_tag == self.dialog.remote_tag
            && self.state != State::Offered
    }

    pub(super) fn cancel_matches(&self, req: &Request) -> bool {
        self.invite.initial && self.invite.cseq == req.cseq && self.invite.branch == req.branch
    }

    pub(super) fn bye_matches(&self, reply: &Reply) -> bool {
        self.bye.as_ref().is_some_and(|b| {
            b.branch == reply.branch
                && b.cseq == reply.cseq
                && reply.cseq_method == "BYE"
                && reply.call_id == self.call_id
        })
    }

    pub(super) fn accept(&mut self, now: Instant, local_rtp: SocketAddr, ctx: &mut Ctx<'_>) -> Result<(), CallError> {
        if self.state != State::Offered {
            return Err(CallError::NotPending(self.call_id.clone()));
        }
        self.local_rtp = Some(local_rtp);
        self.decide_by = None;
        let extra = vec![("Contact", contact(ctx.cfg, self.dialog.transport))];
        self.invite.last = plain(&self.invite.echo, 180, "Ringing", Some(&self.dialog.local_tag), extra);
        ctx.out.send(self.invite.reply_to, self.invite.last.clone());
        self.state = State::Ringing;
        ctx.out.event(UasEvent::Ringing { call_id: self.call_id.clone() });
        if ctx.cfg.ring_delay.is_zero() {
            self.answer(now, ctx);
        } else {
            self.answer_at = Some(now + ctx.cfg.ring_delay);
        }
        Ok(())
    }

    pub(super) fn reject(
        &mut self,
        now: Instant,
        status: u16,
        phrase: &str,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), CallError> {
        if !matches!(self.state, State::Offered | State::Ringing) {
            return Err(CallError::NotPending(self.call_id.clone()));
        }
        self.refuse(now, status, phrase, ctx);
        self.end(reason::REJECTED, ctx.out);
        Ok(())
    }

    pub(super) fn hangup(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        match self.state {
            State::Offered => {
                self.refuse(now, 486, "Busy Here", ctx);
                self.end(reason::HANGUP_BEFORE_ANSWER, ctx.out);
            }
            State::Ringing => {
                self.refuse(now, 480, "Temporarily Unavailable", ctx);
                self.end(reason::HANGUP_BEFORE_ANSWER, ctx.out);
            }
            // §15: no BYE before the ACK for our 2xx (or giving up on it).
            State::Answered => self.bye_after_ack = true,
            State::Confirmed => self.send_bye(now, ctx),
            State::Ending | State::Terminated => {}
        }
    }

    pub(super) fn on_cancel(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if matches!(self.state, State::Offered | State::Ringing) {
            self.refuse(now, 487, "Request Terminated", ctx);
            if !self.ended {
                self.ended = true;
                ctx.out.event(UasEvent::Cancelled { call_id: self.call_id.clone() });
            }
        }
    }

    /// A BYE inside this dialog; false if the dialog cannot take one (481).
    pub(super) fn on_bye(&mut self, now: Instant, ctx: &mut Ctx<'_>) -> bool {
        match self.state {
            State::Offered | State::Terminated => return false,
            // §15.1.2: the pending INVITE still gets its final response.
            State::Ringing => self.refuse(now, 487, "Request Terminated", ctx),
            State::Answered | State::Confirmed => {
                if self.invite.phase == Phase::Accepted {
                    self.invite.stop();
                }
                self.state = State::Terminated;
            }
            // Our BYE crossed theirs; it finishes on its own.
            State::Ending => {}
        }
        self.end(reason::BYE, ctx.out);
        self.settle(now);
        true
    }

    pub(super) fn on_ack(&mut self, now: Instant, req: &Request, ctx: &mut Ctx<'_>) {
        if req.cseq != self.invite.cseq {
            return ctx.out.event(UasEvent::Dropped { reason: "ACK CSeq mismatch" });
        }
        match self.invite.phase {
            Phase::Accepted => {
                self.invite.stop();
                self.on_2xx_acked(now, req, ctx);
            }
            Phase::Rejected => self.invite.stop(),
            // A retransmitted ACK.
            Phase::Proceeding | Phase::Done => {}
        }
        self.settle(now);
    }

    fn on_2xx_acked(&mut self, now: Instant, req: &Request, ctx: &mut Ctx<'_>) {
        let answer = if self.invite.we_offered {
            let answer = (is_sdp(req) && !req.body.is_empty()).then(|| sdp::read_answer(&req.body, &ctx.cfg.codecs));
            match answer {
                Some(Ok(media)) => Some(media),
                _ => {
                    // §13.3.1.4: an offer in the 2xx must be answered in the ACK; without one
                    // there is no session, so the dialog goes too.
                    self.end(reason::NO_ANSWER_IN_ACK, ctx.out);
                    return self.send_bye(now, ctx);
                }
            }
        } else {
            None
        };
        if self.state == State::Answered {
            self.state = State::Confirmed;
            if answer.is_some() {
                self.media.clone_from(&answer);
            }
            ctx.out.event(UasEvent::Confirmed { call_id: self.call_id.clone(), media: answer });
            if self.bye_after_ack {
                self.send_bye(now, ctx);
            }
        } else if self.state == State::Confirmed
            && let Some(media) = answer
            && self.media.as_ref() != Some(&media)
        {
            self.media = Some(media.clone());
            ctx.out.event(UasEvent::Reoffered { call_id: self.call_id.clone(), media });
        }
    }

    pub(super) fn on_reinvite(&mut self, now: Instant, req: &Request, reply_to: Destination, ctx: &mut Ctx<'_>) {
        let refuse = |status: u16, phrase: &'static str, extra: Vec<(&'static str, String)>, ctx: &mut Ctx<'_>| {
            ctx.out.send(reply_to, plain(&req.echo, status, phrase, None, extra));
            ctx.out.event(UasEvent::Refused { status, reason: phrase.to_string() });
        };
        let (State::Answered | State::Confirmed, Some(local)) = (self.state, self.local_rtp) else {
            return refuse(481, "Call/Transaction Does Not Exist", vec![], ctx);
        };
        if req.cseq <= self.remote_cseq {
            return refuse(500, "CSeq Out of Order", vec![], ctx);
        }
        if matches!(self.invite.phase, Phase::Proceeding | Phase::Accepted) {
            // Our previous INVITE transaction is still open (§14.2): retry in 0-10 s.
            let extra = vec![("Retry-After", ctx.ids.below(11).to_string())];
            return refuse(500, "Previous INVITE Pending", extra, ctx);
        }
        self.remote_cseq = req.cseq;
        let mut tx = InviteTx::new(req, reply_to, false);
        let offer = match read_sdp(req, &ctx.cfg.codecs) {
            Ok(offer) => offer,
            Err((status, phrase)) => {
                // A failed re-INVITE leaves the session as it was (§14.2).
                tx.finish(now, plain(&req.echo, status, phrase, None, vec![]), false, ctx.out);
                self.invite = tx;
                return ctx.out.event(UasEvent::Refused { status, reason: phrase.to_string() });
            }
        };
        self.dialog.refresh_target(req);
        let media = match &offer {
            Some(offer) => sdp::answer_media(offer, local.port()),
            None => sdp::offer_media(&ctx.cfg.codecs, local.port()),
        };
        let body = self.sdp.describe(local, &media);
        tx.we_offered = offer.is_none();
        tx.finish(
            now,
            with_sdp(&req.echo, 200, "OK", &self.dialog.local_tag, self.ok_headers(ctx), &body),
            true,
            ctx.out,
        );
        self.invite = tx;
        if let Some(offer) = offer
            && self.media.as_ref() != Some(&offer.media)
        {
            self.media = Some(offer.media.clone());
            ctx.out.event(UasEvent::Reoffered { call_id: self.call_id.clone(), media: offer.media });
        }
    }

    /// A response to our BYE: any final one ends the session (§15.1.1).
    pub(super) fn on_bye_reply(&mut self, now: Instant, status: u16, ctx: &mut Ctx<'_>) {
        if status < 200 {
            if let Some(bye) = &mut self.bye {
                bye.proceeding = true;
            }
            return;
        }
        self.bye = None;
        let why = match status {
            200..=299 => reason::HANGUP,
            481 => reason::HANGUP_NO_DIALOG,
            _ => reason::HANGUP_REFUSED,
        };
        self.end(why, ctx.out);
        self.state = State::Terminated;
        self.settle(now);
    }

    pub(super) fn on_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        if self.decide_by.is_some_and(|t| t <= now) {
            self.refuse(now, 500, "Server Internal Error", ctx);
            self.end(reason::NOT_DECIDED, ctx.out);
        }
        if self.answer_at.is_some_and(|t| t <= now) {
            self.answer_at = None;
            self.answer(now, ctx);
        }
        let tx = &mut self.invite;
        if let Some((at, interval)) = tx.retransmit
            && at <= now
        {
            // Timer G / 2xx retransmission: double up to T2 (§13.3.1.4, §17.2.1).
            let next = (interval * 2).min(T2);
            tx.retransmit = Some((now + next, next));
            ctx.out.send(tx.reply_to, tx.last.clone());
        }
        if tx.give_up_at.is_some_and(|t| t <= now) {
            let accepted = tx.phase == Phase::Accepted;
            tx.stop();
            if accepted {
                // No ACK for our 2xx: the session is dead and a BYE ends the dialog (§13.3.1.4).
                self.end(reason::NO_ACK, ctx.out);
                self.send_bye(now, ctx);
            }
        }
        if let Some(bye) = &mut self.bye {
            if let Some((at, interval)) = bye.retransmit
                && at <= now
            {
                // Timer E: doubling up to T2, or T2 straight away once proceeding (§17.1.2.2).
                let next = if bye.proceeding { T2 } else { (interval * 2).min(T2) };
                bye.retransmit = Some((now + next, next));
                ctx.out.send(bye.to, bye.data.clone());
            }
            if bye.give_up_at <= now {
                self.bye = None;
                self.end(reason::HANGUP_TIMEOUT, ctx.out);
                self.state = State::Terminated;
            }
        }
        self.settle(now);
    }

    /// Tells the call layer the call is over, once.
    pub(super) fn end(&mut self, why: &'static str, out: &mut Outbox) {
        if !self.ended {
            self.ended = true;
            out.event(UasEvent::Ended { call_id: self.call_id.clone(), reason: why });
        }
    }

    /// The 200 to the initial INVITE: our answer, or our offer if the INVITE had none.
    fn answer(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        // `accept` sets the address before any answer is scheduled.
        let Some(local) = self.local_rtp else { return };
        let media = match &self.offer {
            Some(offer) => sdp::answer_media(offer, local.port()),
            None => sdp::offer_media(&ctx.cfg.codecs, local.port()),
        };
        let body = self.sdp.describe(local, &media);
        let data = with_sdp(&self.invite.echo, 200, "OK", &self.dialog.local_tag, self.ok_headers(ctx), &body);
        self.invite.we_offered = self.offer.is_none();
        self.media = self.offer.take().map(|o| o.media);
        self.invite.finish(now, data, true, ctx.out);
        self.state = State::Answered;
        ctx.out.event(UasEvent::Answered { call_id: self.call_id.clone(), media: self.media.clone() });
    }

    /// Answers the initial INVITE with a final error; the call is over.
    fn refuse(&mut self, now: Instant, status: u16, phrase: &str, ctx: &mut Ctx<'_>) {
        let data = plain(&self.invite.echo, status, phrase, Some(&self.dialog.local_tag), vec![]);
        self.invite.finish(now, data, false, ctx.out);
        self.state = State::Terminated;
        self.decide_by = None;
        self.answer_at = None;
        self.offer = None;
    }

    fn send_bye(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        // No 2xx retransmissions once the session is going away.
        if self.invite.phase == Phase::Accepted {
            self.invite.stop();
        }
        let branch = ctx.ids.branch();
        let (data, cseq) = self.dialog.request("BYE", &branch, ctx.cfg.advertise);
        let to = match self.conn {
            Some(conn) => Destination::Tcp(conn),
            None => Destination::Udp(self.dialog.udp_next_hop(self.source)),
        };
        ctx.out.send(to, data.clone());
        let retransmit = (!to.transport().is_reliable()).then_some((now + T1, T1));
        self.bye = Some(ByeTx { branch, cseq, to, data, retransmit, proceeding: false, give_up_at: now + GIVE_UP });
        self.state = State::Ending;
    }

    fn ok_headers(&self, ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
        vec![("Contact", contact(ctx.cfg, self.dialog.transport)), ("Allow", ALLOW.to_string())]
    }

    /// Schedules forgetting a terminated call once its transactions are done, after Timer I/K's
    /// T4 over UDP (late retransmissions still find it) or at once over TCP.
    fn settle(&mut self, now: Instant) {
        let busy = self.bye.is_some() || matches!(self.invite.phase, Phase::Accepted | Phase::Rejected);
        if self.state == State::Terminated && !busy && self.forget_at.is_none() {
            let linger = if self.dialog.transport.is_reliable() { Duration::ZERO } else { T4 };
            self.forget_at = Some(now + linger);
        }
    }
}
