//! Reception statistics of the caller's RTP stream, as RFC 3550 Appendix A computes them:
//! sequence-number validation and the extended highest sequence number (A.1), expected and lost
//! packets with the prior-interval bookkeeping behind "fraction lost" (A.3), and the interarrival
//! jitter estimate in timestamp units (A.8).
//!
//! Sans-IO: arrival times are the caller's monotonic milliseconds. One source at a time: a call
//! has one caller stream; if its SSRC changes (the caller's phone restarted its stream, a
//! re-INVITE to another device), the old source's counts are kept in the totals and the new one
//! is validated afresh.

/// A.1: a jump ahead of more than this many packets is a restart, not loss.
const MAX_DROPOUT: u16 = 3000;
/// A.1: a packet this far behind the newest is a restart, not reordering.
const MAX_MISORDER: u16 = 100;
/// A.1: a new source is believed after this many packets in sequence.
const MIN_SEQUENTIAL: u32 = 2;
const SEQ_MOD: u32 = 1 << 16;

/// One SSRC's state: the fields of A.1's `source` struct, plus A.8's transit and jitter.
#[derive(Debug, Clone)]
struct Source {
    ssrc: u32,
    max_seq: u16,
    /// Shifted count of sequence-number wraps (a multiple of 2^16).
    cycles: u32,
    base_seq: u32,
    /// The sequence number after a suspicious jump: a packet with it confirms a restart.
    bad_seq: u32,
    /// Packets still to see in sequence before the source is believed.
    probation: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Previous packet's relative transit time, in timestamp units.
    transit: Option<i64>,
    /// A.8's estimate, kept unrounded; reported as a whole number of timestamp units.
    jitter: f64,
}

impl Source {
    /// A.1 `init_seq` plus the probation a new source starts with.
    fn new(ssrc: u32, seq: u16) -> Self {
        let mut source = Source {
            ssrc,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
        };
        source.init_seq(seq);
        source.max_seq = seq.wrapping_sub(1);
        source
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1; // so that seq == bad_seq is false
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`: true when the packet counts as received.
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += SEQ_MOD; // wrapped
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump: believed only if the next packet follows it.
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        // else: a duplicate or a reordered packet, counted as received (A.3).
        self.received += 1;
        true
    }

    fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// A.3: packets expected so far.
    fn expected(&self) -> u64 {
        if self.probation > 0 {
            return 0;
        }
        (u64::from(self.cycles) + u64::from(self.max_seq) + 1).saturating_sub(u64::from(self.base_seq))
    }

    fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// A.8: the transit time's change between consecutive packets, smoothed by 1/16.
    fn update_jitter(&mut self, arrival_ts: u64, rtp_timestamp: u32) {
        // Both clocks wrap at 2^32; their difference, taken as a signed 32-bit value, does not.
        let transit = i64::from((arrival_ts as u32).wrapping_sub(rtp_timestamp) as i32);
        if let Some(previous) = self.transit {
            let d = i64::from((transit - previous) as i32).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }
}

/// The caller's stream as our reports describe it.
#[derive(Debug, Clone)]
pub struct ReceptionStats {
    clock_rate: u32,
    source: Option<Source>,
    /// Received and lost packets of sources the caller has since replaced.
    earlier_received: u64,
    earlier_lost: i64,
}

/// One report block's worth of figures about the caller's stream (RFC 3550 §6.4.1), less LSR
/// and DLSR, which depend on the caller's sender reports rather than on its RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reception {
    pub ssrc: u32,
    /// Lost share of the packets expected since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Expected minus received since the start, clamped to the field's signed 24 bits.
    pub cumulative_lost: i32,
    pub extended_highest: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
}

impl ReceptionStats {
    pub fn new(clock_rate: u32) -> Self {
        Self { clock_rate: clock_rate.max(1), source: None, earlier_received: 0, earlier_lost: 0 }
    }

    /// One RTP packet of the caller's, arrived at `arrival_ms`.
    pub fn on_rtp(&mut self, ssrc: u32, sequence: u16, rtp_timestamp: u32, arrival_ms: u64) {
        let source = match &mut self.source {
            Some(s) if s.ssrc == ssrc => s,
            other => {
                if let Some(old) = other.take() {
                    self.earlier_received += old.received;
                    self.earlier_lost += old.lost();
                }
                self.source.insert(Source::new(ssrc, sequence))
            }
        };
        if source.update_seq(sequence) {
            // Arrival on the media clock: exact in u64 for any call shorter than a few million years.
            let arrival_ts = arrival_ms.saturating_mul(u64::from(self.clock_rate)) / 1000;
            source.update_jitter(arrival_ts, rtp_timestamp);
        }
    }

    /// The SSRC being reported on, once a packet has come.
    pub fn ssrc(&self) -> Option<u32> {
        self.source.as_ref().map(|s| s.ssrc)
    }

    /// Packets received over the call (all sources; A.1 leaves out those on probation).
    pub fn received(&self) -> u64 {
        self.earlier_received + self.source.as_ref().map_or(0, |s| s.received)
    }

    /// Packets expected but not received over the call; negative when duplicates outnumber losses.
    pub fn lost(&self) -> i64 {
        self.earlier_lost + self.source.as_ref().map_or(0, Source::lost)
    }

    /// The current source's interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.source.as_ref().map_or(0.0, |s| s.jitter * 1000.0 / f64::from(self.clock_rate))
    }

    /// The figures for a report block, closing the reporting interval: the next report's
    /// fraction lost covers the packets from now on (A.3). None before a valid packet.
    pub fn take_report(&mut self) -> Option<Reception> {
        let s = self.source.as_mut().filter(|s| s.probation == 0)?;
        let expected = s.expected();
        let expected_interval = expected.saturating_sub(s.expected_prior);
        s.expected_prior = expected;
        let received_interval = s.received.saturating_sub(s.received_prior);
        s.received_prior = s.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // Below 256: the newest packet was received, so not all of the interval was lost.
            (((lost_interval as u64) << 8) / expected_interval).min(255) as u8
        };
        Some(Reception {
            ssrc: s.ssrc,
            fraction_lost,
            cumulative_lost: s.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest: s.extended_max(),
            jitter: s.jitter as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SplitMix64;

    /// Feeds (sequence, timestamp, arrival ms) packets of SSRC 7.
    fn feed(stats: &mut ReceptionStats, packets: &[(u16, u32, u64)]) {
        for &(seq, ts, at) in packets {
            stats.on_rtp(7, seq, ts, at);
        }
    }

    /// 20 ms packets of 160 samples, in order, arriving on time.
    fn steady(first_seq: u16, count: u16) -> Vec<(u16, u32, u64)> {
        (0..count).map(|i| (first_seq.wrapping_add(i), 160 * u32::from(i), 20 * u64::from(i))).collect()
    }

    #[test]
    fn a_new_source_is_believed_after_two_packets_in_sequence() {
        let mut stats = ReceptionStats::new(8000);
        feed(&mut stats, &steady(100, 1));
        assert_eq!((stats.received(), stats.take_report()), (0, None), "one packet is still on probation");
        feed(&mut stats, &[(101, 160, 20), (102, 320, 40)]);
        let report = stats.take_report().expect("valid source");
        assert_eq!((stats.received(), stats.lost()), (2, 0));
        assert_eq!(
            (report.ssrc, report.extended_highest, report.cumulative_lost, report.fraction_lost),
            (7, 102, 0, 0)
        );
    }

    #[test]
    fn losses_count_per_interval_and_in_total() {
        let mut stats = ReceptionStats::new(8000);
        // 100 packets with every 10th missing (after probation: 2 .. 99 expected).
        let packets: Vec<_> = steady(0, 100).into_iter().filter(|(seq, ..)| seq % 10 != 5).collect();
        feed(&mut stats, &packets);
        let first = stats.take_report().expect("report");
        // Expected 99 (base 1 ..= 99), received 89: 10 lost, 10/99 of 256 = 25.
        assert_eq!((first.cumulative_lost, first.fraction_lost, first.extended_highest), (10, 25, 99));
        // The next interval: 100 ..= 139, every 4th lost: 10 of 40, exactly 64/256.
        let next: Vec<_> = steady(100, 40).into_iter().filter(|(seq, ..)| seq % 4 != 0).collect();
        feed(&mut stats, &next);
        let second = stats.take_report().expect("report");
        assert_eq!((second.cumulative_lost, second.fraction_lost), (20, 64));
        // Nothing new: nothing lost in the interval, the total stays.
        assert_eq!(stats.take_report().map(|r| (r.cumulative_lost, r.fraction_lost)), Some((20, 0)));
        assert_eq!(stats.lost(), 20);
    }

    #[test]
    fn reordering_and_duplicates_are_not_loss() {
        let mut stats = ReceptionStats::new(8000);
        feed(&mut stats, &steady(0, 10));
        // 12 before 10 and 11, then 11 twice: duplicates make received exceed expected.
        feed(&mut stats, &[(12, 1920, 240), (10, 1600, 241), (11, 1760, 242), (11, 1760, 243), (13, 2080, 260)]);
        let report = stats.take_report().expect("report");
        assert_eq!(report.extended_highest, 13);
        assert_eq!((stats.received(), stats.lost()), (14, -1), "13 expected (1..=13), 14 received");
        assert_eq!((report.cumulative_lost, report.fraction_lost), (-1, 0), "negative loss reports no fraction");
    }

    #[test]
    fn sequence_numbers_wrap_into_the_extended_highest() {
        let mut stats = ReceptionStats::new(8000);
        feed(&mut stats, &steady(65530, 20));
        let report = stats.take_report().expect("report");
        assert_eq!(report.extended_highest, (1 << 16) + 13, "one cycle, then 13");
        assert_eq!((stats.received(), stats.lost()), (19, 0));
        // A packet from just before the wrap, late: reordered, not a new cycle.
        feed(&mut stats, &[(65534, 640, 500)]);
        assert_eq!(stats.take_report().expect("report").extended_highest, (1 << 16) + 13);
        assert_eq!(stats.lost(), -1);
    }

    #[test]
    fn a_restarted_sequence_is_believed_on_its_second_packet() {
        let mut stats = ReceptionStats::new(8000);
        feed(&mut stats, &steady(0, 50));
        feed(&mut stats, &[(40_000, 8000, 1000)]);
        assert_eq!(stats.received(), 49, "one far jump is ignored");
        feed(&mut stats, &[(40_001, 8160, 1020), (40_002, 8320, 1040)]);
        let report = stats.take_report().expect("report");
        assert_eq!((report.extended_highest, report.cumulative_lost), (40_002, 0), "counting starts again");
    }

    #[test]
    fn a_new_ssrc_keeps_the_old_totals() {
        let mut stats = ReceptionStats::new(8000);
        let lossy: Vec<_> = steady(0, 20).into_iter().filter(|(seq, ..)| *seq != 10).collect();
        feed(&mut stats, &lossy);
        assert_eq!((stats.received(), stats.lost()), (18, 1));
        for (seq, ts, at) in steady(500, 10) {
            stats.on_rtp(8, seq, ts, 1000 + at);
        }
        assert_eq!(stats.ssrc(), Some(8));
        assert_eq!((stats.received(), stats.lost()), (18 + 9, 1));
    }

    #[test]
    fn jitter_is_zero_on_a_steady_stream_and_follows_a8() {
        let mut stats = ReceptionStats::new(8000);
        feed(&mut stats, &steady(0, 100));
        assert_eq!(stats.take_report().expect("report").jitter, 0);
        // Every other packet 10 ms late (80 units): |D| = 80 on each packet after that,
        // and J converges to 80.
        let mut stats = ReceptionStats::new(8000);
        let bumpy: Vec<_> = steady(0, 400).into_iter().map(|(s, ts, at)| (s, ts, at + 10 * u64::from(s % 2))).collect();
        feed(&mut stats, &bumpy);
        let jitter = stats.take_report().expect("report").jitter;
        assert!((79..=80).contains(&jitter), "{jitter}");
        assert!((stats.jitter_ms() - 10.0).abs() < 0.1, "{}", stats.jitter_ms());
        // One step by hand: J starts at 0; the third packet's |D| = 80 gives J = 80/16 = 5.
        let mut stats = ReceptionStats::new(8000);
        feed(&mut stats, &[(0, 0, 0), (1, 160, 20), (2, 320, 50)]);
        assert_eq!(stats.take_report().expect("report").jitter, 5);
    }

    #[test]
    fn jitter_survives_timestamp_wrap_and_a_48khz_clock() {
        let mut stats = ReceptionStats::new(48_000);
        let base = u32::MAX - 960 * 5;
        let packets: Vec<_> =
            (0..50u16).map(|i| (i, base.wrapping_add(960 * u32::from(i)), 20 * u64::from(i))).collect();
        feed(&mut stats, &packets);
        assert_eq!(stats.take_report().expect("report").jitter, 0, "wrap is not a jump");
    }

    #[test]
    fn random_streams_never_panic_and_totals_stay_consistent() {
        let mut rng = SplitMix64::new(11);
        let mut stats = ReceptionStats::new(8000);
        for i in 0..20_000u64 {
            let seq = rng.next_u64() as u16;
            let ssrc = if rng.below(1000) == 0 { rng.next_u64() as u32 } else { 7 };
            stats.on_rtp(ssrc, seq, rng.next_u64() as u32, i * rng.below(40));
            if i % 97 == 0 {
                let _ = stats.take_report();
            }
        }
        assert!(stats.jitter_ms().is_finite());
    }
}
