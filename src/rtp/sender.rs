//! Outgoing RTP stream state for fixed-length frames (20 ms of G.711 by default).
//!
//! SSRC, first sequence number and first timestamp are drawn from a caller-supplied seed (RFC 3550
//! asks for random values; the driver seeds from the OS, tests from a constant). Within a talk-spurt
//! each packet advances the sequence number by one and the timestamp by one frame. A talk-spurt ends
//! when the caller says so (`end_talkspurt`, e.g. TTS finished or was interrupted) or when no frame
//! was sent for more than three frame times; the next packet then carries the marker bit and a
//! timestamp advanced by the time that actually passed, so the receiver sees the silence
//! (RFC 3551 §4.1). Sequence numbers never skip: a receiver tells silence from loss that way.
//!
//! Sans-IO: `now_ms` is the caller's monotonic clock when the frame is sent, at real-time pace.

use super::SplitMix64;
use super::packet::{PacketError, RTCP_PAYLOAD_TYPES, RtpHeader};

/// A gap longer than this many frame times ends a talk-spurt even without `end_talkspurt`; shorter
/// ones are taken as timer jitter.
const AUTO_GAP_FRAMES: u64 = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenderError {
    #[error(transparent)]
    Packet(#[from] PacketError),
    #[error("clock rate {clock_rate} Hz with {frame_ms} ms frames gives no whole samples per frame")]
    InvalidTiming { clock_rate: u32, frame_ms: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    pub payload_type: u8,
    pub clock_rate: u32,
    pub frame_ms: u32,
}

impl Default for SenderConfig {
    /// PCMU, 8 kHz, 20 ms: 160 samples per packet.
    fn default() -> Self {
        Self { payload_type: 0, clock_rate: 8000, frame_ms: 20 }
    }
}

#[derive(Debug, Clone)]
pub struct RtpSender {
    config: SenderConfig,
    samples_per_frame: u32,
    ssrc: u32,
    /// Sequence number of the next packet.
    sequence: u16,
    /// Timestamp of the first packet, until one is sent; then of the last packet sent.
    timestamp: u32,
    /// When the last packet was sent; None before the first.
    last_sent_ms: Option<u64>,
    in_talkspurt: bool,
    packets_sent: u64,
    /// Payload octets sent, as RTCP sender reports count them.
    octets_sent: u64,
}

impl RtpSender {
    pub fn new(config: SenderConfig, seed: u64) -> Result<Self, SenderError> {
        if config.payload_type > 127 || RTCP_PAYLOAD_TYPES.contains(&config.payload_type) {
            return Err(PacketError::InvalidPayloadType(config.payload_type).into());
        }
        let samples = u64::from(config.clock_rate) * u64::from(config.frame_ms) / 1000;
        let samples_per_frame = u32::try_from(samples).unwrap_or(0);
        if samples_per_frame == 0 {
            return Err(SenderError::InvalidTiming { clock_rate: config.clock_rate, frame_ms: config.frame_ms });
        }
        let mut rng = SplitMix64::new(seed);
        Ok(Self {
            config,
            samples_per_frame,
            ssrc: rng.next_u64() as u32,
            sequence: rng.next_u64() as u16,
            timestamp: rng.next_u64() as u32,
            last_sent_ms: None,
            in_talkspurt: false,
            packets_sent: 0,
            octets_sent: 0,
        })
    }

    /// Builds the packet for the next frame, sent at `now_ms`.
    pub fn packetize(&mut self, now_ms: u64, payload: &[u8]) -> Vec<u8> {
        let frame_ms = u64::from(self.config.frame_ms);
        let marker = match self.last_sent_ms {
            None => true,
            Some(last_ms) => {
                let elapsed_ms = now_ms.saturating_sub(last_ms);
                let new_talkspurt = !self.in_talkspurt || elapsed_ms > AUTO_GAP_FRAMES * frame_ms;
                let advance = if new_talkspurt {
                    // The media clock runs through the silence: advance by the time that passed.
                    let elapsed = elapsed_ms.saturating_mul(u64::from(self.config.clock_rate)) / 1000;
                    elapsed.max(u64::from(self.samples_per_frame)) as u32 // wraps, like the field
                } else {
                    self.samples_per_frame
                };
                self.timestamp = self.timestamp.wrapping_add(advance);
                new_talkspurt
            }
        };
        let header = RtpHeader {
            marker,
            payload_type: self.config.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            ..RtpHeader::default()
        };
        let mut packet = Vec::with_capacity(header.encoded_len() + payload.len());
        header.write(&mut packet).expect("new() checked the payload type; no CSRCs or extension to be invalid");
        packet.extend_from_slice(payload);

        self.sequence = self.sequence.wrapping_add(1);
        self.last_sent_ms = Some(now_ms);
        self.in_talkspurt = true;
        self.packets_sent += 1;
        self.octets_sent += payload.len() as u64;
        packet
    }

    /// The current talk-spurt is over; the next packet starts a new one (marker bit set).
    pub fn end_talkspurt(&mut self) {
        self.in_talkspurt = false;
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// Timestamp of the last packet sent (before any, of the first one to be sent).
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// When the last packet was sent (the caller's clock); None before the first.
    pub fn last_sent_ms(&self) -> Option<u64> {
        self.last_sent_ms
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets_sent
    }

    pub fn octets_sent(&self) -> u64 {
        self.octets_sent
    }

    pub fn config(&self) -> &SenderConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::packet::RtpPacket;

    fn sender(seed: u64) -> RtpSender {
        RtpSender::new(SenderConfig::default(), seed).unwrap()
    }

    /// (marker, sequence, timestamp) of a packet.
    fn fields(bytes: &[u8]) -> (bool, u16, u32) {
        let header = RtpPacket::parse(bytes).unwrap().header;
        (header.marker, header.sequence, header.timestamp)
    }

    #[test]
    fn initial_values_come_from_the_seed() {
        let (a, b, c) = (sender(1), sender(1), sender(2));
        assert_eq!((a.ssrc(), a.next_sequence(), a.timestamp()), (b.ssrc(), b.next_sequence(), b.timestamp()));
        assert_ne!((a.ssrc(), a.next_sequence(), a.timestamp()), (c.ssrc(), c.next_sequence(), c.timestamp()));
    }

    #[test]
    fn a_talkspurt_counts_up_by_one_packet_and_one_frame() {
        let mut tx = sender(42);
        let (seq0, ts0) = (tx.next_sequence(), tx.timestamp());
        for i in 0..5u16 {
            let bytes = tx.packetize(1000 + 20 * u64::from(i), &[0xFF; 160]);
            let packet = RtpPacket::parse(&bytes).unwrap();
            assert_eq!(fields(&bytes), (i == 0, seq0.wrapping_add(i), ts0.wrapping_add(160 * u32::from(i))));
            assert_eq!((packet.header.payload_type, packet.header.ssrc), (0, tx.ssrc()));
            assert_eq!(packet.payload, [0xFF; 160]);
        }
        assert_eq!((tx.packets_sent(), tx.octets_sent()), (5, 800));
    }

    #[test]
    fn sequence_and_timestamp_wrap() {
        let mut tx = sender(7);
        tx.sequence = 65535;
        tx.timestamp = u32::MAX - 100;
        assert_eq!(fields(&tx.packetize(0, &[0; 160])), (true, 65535, u32::MAX - 100));
        assert_eq!(fields(&tx.packetize(20, &[0; 160])), (false, 0, 59));
    }

    #[test]
    fn silence_advances_the_timestamp_by_the_time_that_passed() {
        // (gap before the 4th packet in ms, end_talkspurt called, marker, timestamp advance)
        let cases = [
            (20, false, false, 160),
            (35, false, false, 160), // timer jitter: same talk-spurt
            (60, false, false, 160),
            (61, false, true, 488), // over three frames without a word: a new talk-spurt
            (1000, false, true, 8000),
            (1000, true, true, 8000),
            (20, true, true, 160), // ended and resumed at once: still a frame on
            (0, true, true, 160),
        ];
        for (gap_ms, ended, want_marker, want_advance) in cases {
            let mut tx = sender(9);
            for i in 0..3 {
                tx.packetize(20 * i, &[0xD5; 160]);
            }
            if ended {
                tx.end_talkspurt();
            }
            let (last_seq, last_ts) = (tx.next_sequence().wrapping_sub(1), tx.timestamp());
            let (marker, seq, ts) = fields(&tx.packetize(40 + gap_ms, &[0xD5; 160]));
            assert_eq!(marker, want_marker, "gap {gap_ms} ended {ended}");
            assert_eq!(seq, last_seq.wrapping_add(1), "gap {gap_ms}: sequence numbers never skip");
            assert_eq!(ts.wrapping_sub(last_ts), want_advance, "gap {gap_ms} ended {ended}");
            let (marker, _, next_ts) = fields(&tx.packetize(60 + gap_ms, &[0xD5; 160]));
            assert!(!marker && next_ts.wrapping_sub(ts) == 160, "gap {gap_ms}: the new talk-spurt goes on");
        }
    }

    #[test]
    fn a_clock_going_backwards_does_not_panic() {
        let mut tx = sender(3);
        let first = fields(&tx.packetize(1000, &[]));
        let second = fields(&tx.packetize(10, &[]));
        assert_eq!(second.2.wrapping_sub(first.2), 160);
        tx.packetize(u64::MAX, &[]);
    }

    #[test]
    fn rejects_configurations_it_cannot_send() {
        let cases = [
            (
                SenderConfig { payload_type: 72, ..Default::default() },
                SenderError::Packet(PacketError::InvalidPayloadType(72)),
            ),
            (
                SenderConfig { payload_type: 200, ..Default::default() },
                SenderError::Packet(PacketError::InvalidPayloadType(200)),
            ),
            (
                SenderConfig { clock_rate: 0, ..Default::default() },
                SenderError::InvalidTiming { clock_rate: 0, frame_ms: 20 },
            ),
            (
                SenderConfig { frame_ms: 0, ..Default::default() },
                SenderError::InvalidTiming { clock_rate: 8000, frame_ms: 0 },
            ),
        ];
        for (config, want) in cases {
            assert_eq!(RtpSender::new(config, 0).unwrap_err(), want);
        }
        let opus = SenderConfig { payload_type: 111, clock_rate: 48_000, frame_ms: 20 };
        assert_eq!(RtpSender::new(opus, 0).unwrap().samples_per_frame, 960);
    }
}
