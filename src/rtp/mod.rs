//! Telephony media building blocks: everything between a UDP datagram and 8 kHz samples.
//!
//! - [`packet`]: RTP header parse/serialize (RFC 3550) and RTP/RTCP demultiplexing (RFC 5761).
//! - [`g711`]: PCMU (µ-law) and PCMA (A-law) sample conversion (ITU-T G.711).
//! - [`dtmf`]: telephone-event payloads (RFC 4733) and a detector that yields one digit per key press.
//! - [`jitter`]: per-call jitter buffer with adaptive depth; yields one 20 ms frame per `pop`.
//! - [`sender`]: outgoing RTP state (SSRC, sequence, timestamp, marker) for 20 ms frames.
//! - [`plc`]: packet loss concealment for G.711 frames (pitch repetition with fading).
//! - [`rtcp`]: RTCP reports (RFC 3550 §6): reception statistics, SR/RR/SDES/BYE, the report
//!   schedule, and what the caller's reports say about our stream.
//!
//! Every piece is sans-IO: no sockets, no clock reads. Time comes in as milliseconds on the caller's
//! monotonic clock, packets come in as byte slices, and tests drive them faster than real time.
//! Malformed input is an error value, never a panic.

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod packet;
pub mod plc;
pub mod rtcp;
pub mod sender;

/// Any error from this module, for callers that want one type.
#[derive(Debug, thiserror::Error)]
pub enum RtpError {
    #[error(transparent)]
    Packet(#[from] packet::PacketError),
    #[error(transparent)]
    Dtmf(#[from] dtmf::DtmfError),
    #[error(transparent)]
    Sender(#[from] sender::SenderError),
    #[error(transparent)]
    Rtcp(#[from] rtcp::RtcpError),
}

/// SplitMix64: a tiny deterministic generator, so a seed gives reproducible SSRCs and test streams
/// without a `rand` dependency. Not for anything security-related.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits as a double's mantissa.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform enough in `0..bound` for tests and initial values (`bound` > 0).
    #[cfg(test)]
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    #[cfg(test)]
    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::dtmf::{DtmfDetector, TelephoneEvent};
    use super::g711::G711;
    use super::jitter::{Frame, JitterBuffer, JitterConfig};
    use super::packet::{PacketKind, RtpHeader, RtpPacket, classify};
    use super::plc::{FRAME_SAMPLES, Plc};
    use super::sender::{RtpSender, SenderConfig};
    use super::*;

    /// A call's media path end to end: sender → lossy, reordering network → parse → jitter buffer →
    /// G.711 decode or concealment, with RTCP and DTMF on the same port.
    #[test]
    fn a_tone_survives_a_bad_network() {
        let law = G711::Pcma;
        let mut tx =
            RtpSender::new(SenderConfig { payload_type: law.payload_type(), ..Default::default() }, 1).unwrap();
        let mut rng = SplitMix64::new(99);
        let tone: Vec<i16> = (0..8000 * 3)
            .map(|n| (6000.0 * (std::f32::consts::TAU * 300.0 * n as f32 / 8000.0).sin()) as i16)
            .collect();

        // (arrival ms, datagram)
        let mut network: Vec<(u64, Vec<u8>)> = vec![];
        for (i, frame) in tone.chunks(FRAME_SAMPLES).enumerate() {
            let sent_ms = 20 * i as u64;
            let mut payload = vec![];
            law.encode(frame, &mut payload);
            let datagram = tx.packetize(sent_ms, &payload);
            if rng.below(50) != 0 {
                network.push((sent_ms + rng.below(30), datagram)); // 2 % loss, 0–30 ms jitter
            }
            if i % 50 == 0 {
                network.push((sent_ms, vec![0x80, 201, 0, 1, 0, 0, 0, 1])); // an RTCP receiver report
            }
        }
        // '#' with its end packet sent three times: all of an event's packets share its timestamp.
        let key = TelephoneEvent { event: 11, end: true, volume: 10, duration: 800 }.to_bytes();
        for n in 0..3u16 {
            let header =
                RtpHeader { payload_type: 101, sequence: 7 + n, timestamp: 4000, ssrc: 5, ..Default::default() };
            network.push((500 + u64::from(n), RtpPacket { header, payload: &key, padding_len: 0 }.to_bytes().unwrap()));
        }
        network.sort_by_key(|(at, _)| *at);

        let (mut jb, mut plc, mut detector) =
            (JitterBuffer::new(JitterConfig::default()), Plc::new(), DtmfDetector::new());
        let (mut out, mut rtcp, mut digits) = (Vec::<i16>::new(), 0, String::new());
        let mut arrivals = network.into_iter().peekable();
        for tick in 0..200u64 {
            let now = 10 + 20 * tick;
            while let Some((at, datagram)) = arrivals.next_if(|(at, _)| *at <= now) {
                match classify(&datagram) {
                    PacketKind::Rtcp { .. } => rtcp += 1,
                    PacketKind::Other => unreachable!("the test sends only RTP and RTCP"),
                    PacketKind::Rtp => {
                        let packet = RtpPacket::parse(&datagram).unwrap();
                        if packet.header.payload_type == 101 {
                            let digit = detector.push(packet.header.timestamp, packet.header.marker, packet.payload);
                            digits.extend(digit.unwrap().map(|d| d.digit));
                        } else {
                            jb.push(packet.header.sequence, packet.header.timestamp, packet.payload, at);
                        }
                    }
                }
            }
            match jb.pop(now) {
                Frame::Audio(payload) => {
                    let mut samples = vec![];
                    law.decode(&payload, &mut samples);
                    plc.good_frame(&mut samples);
                    out.extend(samples);
                }
                Frame::Lost => out.extend(plc.conceal()),
                Frame::Nothing | Frame::Delivered => {}
            }
        }
        let stats = jb.stats();
        assert_eq!((rtcp, digits.as_str()), (3, "#"));
        assert_eq!(stats.received, 150 - stats.lost.min(150) + stats.late, "{stats:?}");
        assert!(stats.lost >= 1 && stats.lost <= 10, "{stats:?}");
        assert_eq!(out.len(), tone.len() + FRAME_SAMPLES * stats.underruns as usize, "{stats:?}");
    }
}
