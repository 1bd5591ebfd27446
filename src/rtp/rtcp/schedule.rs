//! When to send the next report: RFC 3550 §6.2 and §6.3.1 (Appendix A.7) for a session of two,
//! the caller and us.
//!
//! The deterministic interval is the RTCP bandwidth (5 % of the session's) shared between the
//! members, at least 5 s (2.5 s before the first report, so the caller hears from us early).
//! Each interval is then drawn uniformly from 0.5–1.5 × that, so that reports of many sessions
//! do not synchronise. A.7 also divides by e − 3/2 to make up for timer reconsideration pulling
//! the average down; we do not reconsider (with two members there is nothing to reconsider), so
//! we do not compensate either, and the mean interval stays the 5 s RFC 3550 names.

use crate::rtp::SplitMix64;

/// RFC 3550 §6.2: the recommended minimum interval.
pub const MIN_INTERVAL_MS: f64 = 5000.0;
/// RFC 3550 §6.2: RTCP gets 5 % of the session bandwidth.
const RTCP_SHARE: f64 = 0.05;
/// §6.2: senders get a quarter of the RTCP bandwidth when they are fewer than a quarter of the
/// members.
const SENDER_SHARE: f64 = 0.25;
/// A two-party call.
const MEMBERS: f64 = 2.0;

#[derive(Debug, Clone)]
pub struct Schedule {
    /// RTCP bandwidth in octets per second.
    rtcp_bandwidth: f64,
    /// Running average of compound packet sizes sent and received, with UDP/IP headers (§6.3.3).
    avg_rtcp_size: f64,
    rng: SplitMix64,
}

/// What the interval depends on at the time it is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    /// No report sent yet.
    pub initial: bool,
    pub we_sent: bool,
    /// Members who sent RTP recently: 0, 1 or 2.
    pub senders: u32,
}

impl Schedule {
    /// `session_bandwidth_bps`: the media's bit rate with packet overhead (e.g. 80 kbit/s for
    /// G.711 at 20 ms). `first_packet_size`: the likely size of our first compound packet.
    pub fn new(session_bandwidth_bps: u32, first_packet_size: usize, seed: u64) -> Self {
        let rtcp_bandwidth = (f64::from(session_bandwidth_bps) * RTCP_SHARE / 8.0).max(1.0);
        Self { rtcp_bandwidth, avg_rtcp_size: (first_packet_size + UDP_IP_OVERHEAD) as f64, rng: SplitMix64::new(seed) }
    }

    /// §6.3.3: every compound packet sent or received moves the average by 1/16 of the difference.
    pub fn packet_size(&mut self, size: usize) {
        self.avg_rtcp_size += ((size + UDP_IP_OVERHEAD) as f64 - self.avg_rtcp_size) / 16.0;
    }

    /// The unrandomised interval in milliseconds (A.7 `rtcp_interval` before its random factor).
    pub fn deterministic_ms(&self, now: Situation) -> f64 {
        let min = if now.initial { MIN_INTERVAL_MS / 2.0 } else { MIN_INTERVAL_MS };
        let (mut bandwidth, mut members) = (self.rtcp_bandwidth, MEMBERS);
        let senders = f64::from(now.senders.min(2));
        if senders <= MEMBERS * SENDER_SHARE {
            if now.we_sent {
                bandwidth *= SENDER_SHARE;
                members = senders;
            } else {
                bandwidth *= 1.0 - SENDER_SHARE;
                members -= senders;
            }
        }
        (self.avg_rtcp_size * members.max(1.0) / bandwidth * 1000.0).max(min)
    }

    /// The next interval in whole milliseconds, drawn from 0.5–1.5 × the deterministic one.
    pub fn next_interval_ms(&mut self, now: Situation) -> u64 {
        let factor = 0.5 + self.rng.unit();
        (self.deterministic_ms(now) * factor).round() as u64
    }
}

/// IPv4 and UDP headers, as §6.3.3 asks the average to include.
const UDP_IP_OVERHEAD: usize = 28;

#[cfg(test)]
mod tests {
    use super::*;

    const STEADY: Situation = Situation { initial: false, we_sent: true, senders: 2 };

    #[test]
    fn a_telephone_call_reports_every_five_seconds_on_average() {
        let mut schedule = Schedule::new(80_000, 72, 1);
        assert_eq!(schedule.deterministic_ms(STEADY), 5000.0);
        assert_eq!(schedule.deterministic_ms(Situation { initial: true, ..STEADY }), 2500.0);
        let draws: Vec<u64> = (0..10_000).map(|_| schedule.next_interval_ms(STEADY)).collect();
        assert!(draws.iter().all(|&ms| (2500..=7500).contains(&ms)), "0.5–1.5 × 5 s");
        let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
        // The mean of 10 000 draws has a standard error of 14 ms: 75 ms is over five of them.
        assert!((mean - 5000.0).abs() < 75.0, "uniform around 5 s: {mean}");
        let (low, high) = (draws.iter().min().copied(), draws.iter().max().copied());
        assert!(low < Some(2600) && high > Some(7400), "the whole range is used: {low:?}–{high:?}");
    }

    #[test]
    fn the_draws_follow_the_seed() {
        let draw = |seed| {
            let mut s = Schedule::new(80_000, 72, seed);
            (0..5).map(|_| s.next_interval_ms(STEADY)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn a_thin_session_stretches_the_interval_past_the_minimum() {
        // 8 kbit/s session: 50 bytes/s of RTCP for 2 members of 100-byte reports = 4 s each… (A.7)
        let mut schedule = Schedule::new(8_000, 72, 1);
        assert_eq!(schedule.deterministic_ms(STEADY), 5000.0, "(100 × 2 / 50) s = 4 s, under the minimum");
        // Bigger packets (say the peer sends long SDES) push it over.
        for _ in 0..200 {
            schedule.packet_size(272);
        }
        let ms = schedule.deterministic_ms(STEADY);
        assert!((ms - 12_000.0).abs() < 1.0, "(300 × 2 / 50) s: {ms}");
        // Nobody sending: receivers share 75 % of the bandwidth among both members.
        let ms = schedule.deterministic_ms(Situation { initial: false, we_sent: false, senders: 0 });
        assert!((ms - 16_000.0).abs() < 1.0, "{ms}");
    }
}
