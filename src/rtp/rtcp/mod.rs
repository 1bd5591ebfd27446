//! RTCP for one call's RTP session (RFC 3550 §6): our reports about the caller's stream, and
//! what the caller's reports say about ours.
//!
//! Consumes: the caller's RTP headers ([`RtcpSession::on_rtp`]), their RTCP datagrams
//! ([`RtcpSession::on_rtcp`]), our sending counts ([`Sending`], from the RTP sender) and the
//! time. Emits: compound report packets when due ([`RtcpSession::poll_report`]), a BYE at the
//! end ([`RtcpSession::bye`]), and the call's media-quality figures ([`MediaQuality`]).
//!
//! Sans-IO: time is the call's monotonic milliseconds; the wall clock enters once, as the NTP
//! time of millisecond 0, and NTP times are derived from it, so round-trip times (which compare
//! two of our own timestamps) do not depend on the wall clock's accuracy. The report schedule is
//! drawn from a seed. An SR goes out when we sent RTP in the last two intervals (§6.4), else an
//! RR; either carries one report block about the caller once their stream is valid.
//!
//! - [`reception`]: loss, sequence and jitter statistics (RFC 3550 A.1, A.3, A.8).
//! - [`schedule`]: the report interval (§6.3.1, A.7).
//! - [`wire`]: compound packets to and from bytes.

pub mod reception;
pub mod schedule;
pub mod wire;

use reception::ReceptionStats;
use schedule::{Schedule, Situation};
pub use wire::RtcpError;
use wire::{ReportBlock, RtcpPacket, SenderInfo};

use crate::rtp::SplitMix64;

/// How this call's RTCP is set up.
#[derive(Debug, Clone, Copy)]
pub struct RtcpConfig {
    /// RTP clock rate of both streams (one codec per call).
    pub clock_rate: u32,
    /// Media bit rate with packet overhead, for the RTCP bandwidth share.
    pub session_bandwidth_bps: u32,
    /// NTP time (RFC 5905 64-bit format) at the call's millisecond 0.
    pub ntp_at_start: u64,
    /// Whether reports go out. Off where the transport runs RTCP itself (WebRTC): the
    /// statistics are kept all the same.
    pub send_reports: bool,
}

/// Our RTP sending so far, as the RTP sender counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sending {
    pub packets: u64,
    /// Payload octets.
    pub octets: u64,
    /// Timestamp of the last packet sent, and when it was sent; None before the first.
    pub last: Option<(u32, u64)>,
}

/// The caller's latest report about our stream.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallerReport {
    /// Share of our packets the caller lost in its last reporting interval, 0–1.
    pub fraction_lost: f64,
    /// Our packets the caller lost over the call (negative with duplicates).
    pub packets_lost: i64,
    /// The caller's interarrival jitter estimate of our stream.
    pub jitter_ms: f64,
    /// Round trip from the caller's LSR and DLSR (RFC 3550 §6.4.1); null until the caller echoes
    /// one of our sender reports.
    pub rtt_ms: Option<f64>,
    /// When the report arrived, in call milliseconds.
    pub at_ms: u64,
}

/// A call's media quality: our view of the caller's stream, and theirs of ours.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct MediaQuality {
    /// The caller's RTP packets received (RFC 3550 A.1: the first packet of a stream is on
    /// probation and not counted).
    pub packets_received: u64,
    /// Caller packets expected but never received (negative when duplicates outnumber losses).
    pub packets_lost: i64,
    /// Our interarrival jitter estimate of the caller's stream (RFC 3550 A.8).
    pub jitter_ms: f64,
    /// Our RTP packets sent.
    pub packets_sent: u64,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    /// RTCP datagrams from the caller that did not parse.
    pub rtcp_malformed: u64,
    /// The caller's last report about our stream; null until one arrives.
    pub caller_report: Option<CallerReport>,
    /// The caller's RTCP CNAME, once it sent one.
    pub caller_cname: Option<String>,
}

/// The caller's last SR, for the LSR and DLSR of our next report block.
#[derive(Debug, Clone, Copy)]
struct LastSr {
    ssrc: u32,
    /// Middle 32 bits of its NTP time.
    lsr: u32,
    received_ms: u64,
}

#[derive(Debug, Clone)]
pub struct RtcpSession {
    config: RtcpConfig,
    ssrc: u32,
    cname: String,
    reception: ReceptionStats,
    schedule: Schedule,
    next_report_ms: u64,
    /// RTP packets we had sent at the previous report and the one before: we count as a sender
    /// while we sent since the one before (§6.4).
    sent_at_reports: [u64; 2],
    /// When the caller last sent RTP, for the senders count.
    caller_rtp_ms: Option<u64>,
    last_sr: Option<LastSr>,
    caller_report: Option<CallerReport>,
    caller_cname: Option<String>,
    rtcp_sent: u64,
    rtcp_received: u64,
    rtcp_malformed: u64,
    bye_sent: bool,
}

impl RtcpSession {
    /// `ssrc` is our RTP stream's; `seed` draws the CNAME and the report times.
    pub fn new(config: RtcpConfig, ssrc: u32, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        // RFC 7022 §4.2: a random CNAME per session, 96 bits or more, so calls are not linkable.
        let cname = format!("{:016x}{:08x}@callbot", rng.next_u64(), rng.next_u64() as u32);
        let first_size = wire::build_compound(ssrc, None, &[ReportBlock::default()], &cname, None).len();
        let mut schedule = Schedule::new(config.session_bandwidth_bps, first_size, rng.next_u64());
        let next_report_ms = schedule.next_interval_ms(Situation { initial: true, we_sent: false, senders: 1 });
        Self {
            config,
            ssrc,
            cname,
            reception: ReceptionStats::new(config.clock_rate),
            schedule,
            next_report_ms,
            sent_at_reports: [0; 2],
            caller_rtp_ms: None,
            last_sr: None,
            caller_report: None,
            caller_cname: None,
            rtcp_sent: 0,
            rtcp_received: 0,
            rtcp_malformed: 0,
            bye_sent: false,
        }
    }

    pub fn cname(&self) -> &str {
        &self.cname
    }

    /// One RTP packet from the caller (any payload type: they share the sequence space).
    pub fn on_rtp(&mut self, now_ms: u64, ssrc: u32, sequence: u16, timestamp: u32) {
        self.caller_rtp_ms = Some(now_ms);
        self.reception.on_rtp(ssrc, sequence, timestamp, now_ms);
    }

    /// One RTCP datagram from the caller. A malformed one is counted and returned as the error;
    /// nothing from it is used.
    pub fn on_rtcp(&mut self, now_ms: u64, datagram: &[u8]) -> Result<(), RtcpError> {
        let packets = wire::parse_compound(datagram).inspect_err(|_| self.rtcp_malformed += 1)?;
        self.rtcp_received += 1;
        self.schedule.packet_size(datagram.len());
        for packet in packets {
            match packet {
                RtcpPacket::SenderReport { ssrc, info, blocks } => {
                    self.last_sr = Some(LastSr { ssrc, lsr: (info.ntp >> 16) as u32, received_ms: now_ms });
                    self.read_blocks(now_ms, &blocks);
                }
                RtcpPacket::ReceiverReport { blocks, .. } => self.read_blocks(now_ms, &blocks),
                RtcpPacket::SourceDescription { cnames } => {
                    // The caller's own chunk, once we know their SSRC; else the first.
                    let theirs = self.reception.ssrc();
                    let pick = cnames.iter().find(|(s, _)| Some(*s) == theirs).or(cnames.first());
                    if let Some((_, cname)) = pick {
                        self.caller_cname = Some(cname.clone());
                    }
                }
                RtcpPacket::Bye { .. } | RtcpPacket::Other { .. } => {}
            }
        }
        Ok(())
    }

    /// The call millisecond at which the next report is due.
    pub fn next_report_ms(&self) -> u64 {
        self.next_report_ms
    }

    /// The report due at `now_ms`, if one is; the next is scheduled. None also when reports are
    /// off (the interval passes all the same) or after the BYE.
    pub fn poll_report(&mut self, now_ms: u64, sending: &Sending) -> Option<Vec<u8>> {
        if now_ms < self.next_report_ms || self.bye_sent {
            return None;
        }
        let packet = self.config.send_reports.then(|| self.compound(now_ms, sending, None));
        let caller_sent =
            self.caller_rtp_ms.is_some_and(|at| now_ms.saturating_sub(at) < 2 * schedule::MIN_INTERVAL_MS as u64);
        let now = Situation {
            initial: false,
            we_sent: self.we_sent(sending),
            senders: u32::from(self.we_sent(sending)) + u32::from(caller_sent),
        };
        self.next_report_ms = now_ms + self.schedule.next_interval_ms(now);
        packet
    }

    /// The compound packet that ends our part of the session (RFC 3550 §6.6): a report, our
    /// CNAME and BYE. None if reports are off, it was sent already, or we never sent RTP or RTCP
    /// (§6.3.7: then no BYE at all).
    pub fn bye(&mut self, now_ms: u64, sending: &Sending, reason: &str) -> Option<Vec<u8>> {
        if !self.config.send_reports || self.bye_sent || (self.rtcp_sent == 0 && sending.packets == 0) {
            return None;
        }
        let packet = self.compound(now_ms, sending, Some(reason));
        self.bye_sent = true;
        // Nothing is due any more: callers polling on `next_report_ms` stop here.
        self.next_report_ms = u64::MAX;
        Some(packet)
    }

    /// The figures so far.
    pub fn quality(&self, sending: &Sending) -> MediaQuality {
        MediaQuality {
            packets_received: self.reception.received(),
            packets_lost: self.reception.lost(),
            jitter_ms: round2(self.reception.jitter_ms()),
            packets_sent: sending.packets,
            rtcp_sent: self.rtcp_sent,
            rtcp_received: self.rtcp_received,
            rtcp_malformed: self.rtcp_malformed,
            caller_report: self.caller_report,
            caller_cname: self.caller_cname.clone(),
        }
    }

    /// §6.4: an SR if we sent RTP since the report before last.
    fn we_sent(&self, sending: &Sending) -> bool {
        sending.packets > self.sent_at_reports[0]
    }

    fn compound(&mut self, now_ms: u64, sending: &Sending, bye: Option<&str>) -> Vec<u8> {
        let sender = self.we_sent(sending).then(|| self.sender_info(now_ms, sending));
        let block = self.reception.take_report().map(|r| {
            // LSR/DLSR only from an SR of the stream we report on (§6.4.1).
            let (lsr, dlsr) = match self.last_sr {
                Some(sr) if sr.ssrc == r.ssrc => (sr.lsr, ms_to_ntp_short(now_ms.saturating_sub(sr.received_ms))),
                _ => (0, 0),
            };
            ReportBlock {
                ssrc: r.ssrc,
                fraction_lost: r.fraction_lost,
                cumulative_lost: r.cumulative_lost,
                extended_highest: r.extended_highest,
                jitter: r.jitter,
                lsr,
                dlsr,
            }
        });
        let packet = wire::build_compound(self.ssrc, sender, block.as_slice(), &self.cname, bye);
        self.sent_at_reports = [self.sent_at_reports[1], sending.packets];
        self.rtcp_sent += 1;
        self.schedule.packet_size(packet.len());
        packet
    }

    fn sender_info(&self, now_ms: u64, sending: &Sending) -> SenderInfo {
        // The SR's RTP timestamp is "now" on our media clock: the last packet's timestamp moved
        // on by the time since it was sent (§6.4.1).
        let rtp_timestamp = sending.last.map_or(0, |(ts, at_ms)| {
            let elapsed = now_ms.saturating_sub(at_ms) * u64::from(self.config.clock_rate) / 1000;
            ts.wrapping_add(elapsed as u32)
        });
        SenderInfo {
            ntp: self.ntp(now_ms),
            rtp_timestamp,
            // The fields wrap at 2^32 (§6.4.1).
            packets: sending.packets as u32,
            octets: sending.octets as u32,
        }
    }

    fn ntp(&self, now_ms: u64) -> u64 {
        self.config.ntp_at_start.wrapping_add(ms_to_ntp(now_ms))
    }

    /// Takes the caller's report block about our stream, if the packet has one.
    fn read_blocks(&mut self, now_ms: u64, blocks: &[ReportBlock]) {
        let Some(block) = blocks.iter().find(|b| b.ssrc == self.ssrc) else { return };
        // RTT = A − LSR − DLSR, all in 1/65536 s (§6.4.1); LSR 0 means no SR was received.
        let rtt_ms = (block.lsr != 0).then(|| {
            let arrival = (self.ntp(now_ms) >> 16) as u32;
            arrival.wrapping_sub(block.lsr).wrapping_sub(block.dlsr) as i32
        });
        // A negative result is a peer's arithmetic gone wrong; the last good RTT stands.
        let rtt_ms = match rtt_ms {
            Some(units) if units >= 0 => Some(round2(f64::from(units) * 1000.0 / 65536.0)),
            _ => self.caller_report.and_then(|r| r.rtt_ms),
        };
        self.caller_report = Some(CallerReport {
            fraction_lost: round2(f64::from(block.fraction_lost) / 256.0),
            packets_lost: i64::from(block.cumulative_lost),
            jitter_ms: round2(f64::from(block.jitter) * 1000.0 / f64::from(self.config.clock_rate.max(1))),
            rtt_ms,
            at_ms: now_ms,
        });
    }
}

/// Milliseconds as NTP 32.32 fixed point.
fn ms_to_ntp(ms: u64) -> u64 {
    let seconds = ms / 1000;
    let fraction = ((ms % 1000) << 32) / 1000;
    (seconds << 32) | fraction
}

/// Milliseconds in 1/65536 s, as DLSR carries them.
fn ms_to_ntp_short(ms: u64) -> u32 {
    (ms.saturating_mul(65536) / 1000).min(u64::from(u32::MAX)) as u32
}

/// NTP time (seconds since 1900, 32.32 fixed point) of a time given as since the Unix epoch.
pub fn ntp_from_unix(since_epoch: std::time::Duration) -> u64 {
    /// Seconds from 1900-01-01 to 1970-01-01.
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let seconds = since_epoch.as_secs().wrapping_add(UNIX_TO_NTP);
    let fraction = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// Figures for people: two decimals are plenty, and keep the JSON readable.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
