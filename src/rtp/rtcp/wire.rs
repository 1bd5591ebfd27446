//! RTCP on the wire (RFC 3550 §6.4–6.6): compound packets of sender and receiver reports,
//! source descriptions and BYE, in our own small types.
//!
//! The bytes are read and written by webrtc-rs' `rtc-rtcp` (through the `rtc` crate we already
//! use for WebRTC), so the field layouts are not written twice. We walk the compound packet
//! ourselves first (RFC 3550 A.2's checks: version 2, every length inside the datagram) and hand
//! the crate only the four packet types we read, each as its own exact slice; the rest (APP,
//! feedback, XR) is skipped unread. A malformed packet is an [`RtcpError`], never a panic.

use bytes::Bytes;
use rtc::rtcp::goodbye::Goodbye;
use rtc::rtcp::packet::Packet;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::source_description::{SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem};
use rtc::shared::marshal::Unmarshal;

pub const SR: u8 = 200;
pub const RR: u8 = 201;
pub const SDES: u8 = 202;
pub const BYE: u8 = 203;
/// Common header of every RTCP packet: version, padding, count, type, length.
const HEADER_LEN: usize = 4;
/// SDES items and BYE reasons carry their length in one octet.
pub const MAX_TEXT: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP datagram is empty")]
    Empty,
    #[error("RTCP packet at byte {offset}: {len} bytes left, too short for a header")]
    TruncatedHeader { offset: usize, len: usize },
    #[error("RTCP packet at byte {offset}: version {version}, expected 2")]
    BadVersion { offset: usize, version: u8 },
    #[error("RTCP packet at byte {offset} says it is {claimed} bytes long; {available} are left")]
    LengthPastEnd { offset: usize, claimed: usize, available: usize },
    #[error("RTCP packet type {packet_type} at byte {offset} is malformed: {source}")]
    Malformed {
        offset: usize,
        packet_type: u8,
        #[source]
        source: rtc::shared::error::Error,
    },
}

/// One report block (RFC 3550 §6.4.1): what a receiver says about one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Lost share since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Signed 24 bits on the wire: duplicates can make it negative.
    pub cumulative_lost: i32,
    pub extended_highest: u32,
    /// Interarrival jitter, in the source's timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received from the source; 0 for none.
    pub lsr: u32,
    /// Time since that SR was received, in 1/65536 s.
    pub dlsr: u32,
}

/// The sender-info section of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// 64-bit NTP wall-clock time (32.32 fixed point) of the report.
    pub ntp: u64,
    /// The same instant on the sender's RTP clock.
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// The parts of a compound packet this module reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        info: SenderInfo,
        blocks: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        blocks: Vec<ReportBlock>,
    },
    /// The CNAME of each chunk that has one.
    SourceDescription {
        cnames: Vec<(u32, String)>,
    },
    Bye {
        ssrcs: Vec<u32>,
        reason: String,
    },
    /// APP, feedback, XR and the rest: well-formed, skipped.
    Other {
        packet_type: u8,
    },
}

/// Splits a compound packet and reads its SR, RR, SDES and BYE parts.
pub fn parse_compound(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if datagram.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut packets = Vec::new();
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        if rest.len() < HEADER_LEN {
            return Err(RtcpError::TruncatedHeader { offset, len: rest.len() });
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion { offset, version });
        }
        let packet_type = rest[1];
        // The length field counts 32-bit words after the header word.
        let claimed = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        if claimed > rest.len() {
            return Err(RtcpError::LengthPastEnd { offset, claimed, available: rest.len() });
        }
        let bytes = &rest[..claimed];
        let malformed = |source| RtcpError::Malformed { offset, packet_type, source };
        packets.push(match packet_type {
            SR => from_sr(SenderReport::unmarshal(&mut &bytes[..]).map_err(malformed)?),
            RR => from_rr(ReceiverReport::unmarshal(&mut &bytes[..]).map_err(malformed)?),
            SDES => from_sdes(SourceDescription::unmarshal(&mut &bytes[..]).map_err(malformed)?),
            BYE => from_bye(Goodbye::unmarshal(&mut &bytes[..]).map_err(malformed)?),
            _ => RtcpPacket::Other { packet_type },
        });
        offset += claimed;
    }
    Ok(packets)
}

/// A compound packet: an SR (with `sender`) or RR about `blocks`, our CNAME, and a BYE if
/// `bye` is given (RFC 3550 §6.1: every compound packet starts with a report and carries SDES).
pub fn build_compound(
    ssrc: u32,
    sender: Option<SenderInfo>,
    blocks: &[ReportBlock],
    cname: &str,
    bye: Option<&str>,
) -> Vec<u8> {
    let reports: Vec<ReceptionReport> = blocks.iter().map(to_reception_report).collect();
    let mut parts: Vec<Box<dyn Packet>> = Vec::with_capacity(3);
    parts.push(match sender {
        Some(info) => Box::new(SenderReport {
            ssrc,
            ntp_time: info.ntp,
            rtp_time: info.rtp_timestamp,
            packet_count: info.packets,
            octet_count: info.octets,
            reports,
            profile_extensions: Bytes::new(),
        }),
        None => Box::new(ReceiverReport { ssrc, reports, profile_extensions: Bytes::new() }),
    });
    let cname = Bytes::copy_from_slice(truncate(cname).as_bytes());
    let item = SourceDescriptionItem { sdes_type: SdesType::SdesCname, text: cname };
    parts
        .push(Box::new(SourceDescription { chunks: vec![SourceDescriptionChunk { source: ssrc, items: vec![item] }] }));
    if let Some(reason) = bye {
        parts.push(Box::new(Goodbye {
            sources: vec![ssrc],
            reason: Bytes::copy_from_slice(truncate(reason).as_bytes()),
        }));
    }
    // Marshalling fails only on what we never build: over 31 report blocks or SSRCs, a text
    // over 255 bytes (truncated above), a cumulative loss over 24 bits (masked below).
    rtc::rtcp::packet::marshal(&parts).expect("a report of at most one block, short texts").to_vec()
}

/// The longest prefix of `text` that fits an SDES item or BYE reason, cut at a char boundary.
fn truncate(text: &str) -> &str {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn to_reception_report(b: &ReportBlock) -> ReceptionReport {
    ReceptionReport {
        ssrc: b.ssrc,
        fraction_lost: b.fraction_lost,
        // Two's complement in 24 bits.
        total_lost: (b.cumulative_lost as u32) & 0xFF_FFFF,
        last_sequence_number: b.extended_highest,
        jitter: b.jitter,
        last_sender_report: b.lsr,
        delay: b.dlsr,
    }
}

fn from_reception_report(r: &ReceptionReport) -> ReportBlock {
    ReportBlock {
        ssrc: r.ssrc,
        fraction_lost: r.fraction_lost,
        // Sign-extend the 24-bit field.
        cumulative_lost: (((r.total_lost & 0xFF_FFFF) << 8) as i32) >> 8,
        extended_highest: r.last_sequence_number,
        jitter: r.jitter,
        lsr: r.last_sender_report,
        dlsr: r.delay,
    }
}

fn from_sr(sr: SenderReport) -> RtcpPacket {
    let info =
        SenderInfo { ntp: sr.ntp_time, rtp_timestamp: sr.rtp_time, packets: sr.packet_count, octets: sr.octet_count };
    RtcpPacket::SenderReport { ssrc: sr.ssrc, info, blocks: sr.reports.iter().map(from_reception_report).collect() }
}

fn from_rr(rr: ReceiverReport) -> RtcpPacket {
    RtcpPacket::ReceiverReport { ssrc: rr.ssrc, blocks: rr.reports.iter().map(from_reception_report).collect() }
}

fn from_sdes(sdes: SourceDescription) -> RtcpPacket {
    let cnames = sdes
        .chunks
        .iter()
        .filter_map(|chunk| {
            let item = chunk.items.iter().find(|i| i.sdes_type == SdesType::SdesCname)?;
            Some((chunk.source, String::from_utf8_lossy(&item.text).into_owned()))
        })
        .collect();
    RtcpPacket::SourceDescription { cnames }
}

fn from_bye(bye: Goodbye) -> RtcpPacket {
    RtcpPacket::Bye { ssrcs: bye.sources, reason: String::from_utf8_lossy(&bye.reason).into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SplitMix64;

    fn block(ssrc: u32, cumulative_lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 26,
            cumulative_lost,
            extended_highest: 0x0001_0005,
            jitter: 41,
            lsr: 0xAABB_CCDD,
            dlsr: 0x0001_8000,
        }
    }

    #[test]
    fn sender_and_receiver_reports_round_trip() {
        let info = SenderInfo { ntp: 0xE8F0_1234_8000_0000, rtp_timestamp: 123_456, packets: 250, octets: 40_000 };
        let sr = build_compound(0x1111, Some(info), &[block(0x2222, 7)], "callbot-a@example", None);
        let cname = RtcpPacket::SourceDescription { cnames: vec![(0x1111, "callbot-a@example".into())] };
        assert_eq!(
            parse_compound(&sr).unwrap(),
            vec![RtcpPacket::SenderReport { ssrc: 0x1111, info, blocks: vec![block(0x2222, 7)] }, cname.clone()]
        );
        assert_eq!(sr[1], SR, "the compound starts with the report");

        let rr = build_compound(0x1111, None, &[block(0x2222, -3)], "callbot-a@example", Some("bye now"));
        assert_eq!(
            parse_compound(&rr).unwrap(),
            vec![
                RtcpPacket::ReceiverReport { ssrc: 0x1111, blocks: vec![block(0x2222, -3)] },
                cname,
                RtcpPacket::Bye { ssrcs: vec![0x1111], reason: "bye now".into() },
            ]
        );
        let empty = build_compound(9, None, &[], "c", None);
        assert!(
            matches!(&parse_compound(&empty).unwrap()[0], RtcpPacket::ReceiverReport { blocks, .. } if blocks.is_empty())
        );
    }

    #[test]
    fn cumulative_loss_is_signed_24_bits() {
        for lost in [0, 1, -1, 0x7F_FFFF, -0x80_0000] {
            let bytes = build_compound(1, None, &[block(2, lost)], "c", None);
            let Ok(packets) = parse_compound(&bytes) else { panic!("{lost}") };
            assert!(
                matches!(&packets[0], RtcpPacket::ReceiverReport { blocks, .. } if blocks[0].cumulative_lost == lost)
            );
        }
        // On the wire: -1 is 0xFFFFFF after the fraction byte.
        let bytes = build_compound(1, None, &[block(2, -1)], "c", None);
        assert_eq!(&bytes[12..16], &[26, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn a_peer_packet_written_by_hand_parses() {
        // RR from SSRC 0x01020304 with one block about 0x0A0B0C0D, then an APP packet.
        let bytes: Vec<u8> = vec![
            0x81, 201, 0, 7, 1, 2, 3, 4, // header, SSRC
            0x0A, 0x0B, 0x0C, 0x0D, 64, 0, 0, 5, // block SSRC; fraction 64/256; 5 lost
            0, 0, 0x03, 0xE8, 0, 0, 0, 12, // highest 1000; jitter 12
            0x12, 0x34, 0x56, 0x78, 0, 1, 0, 0, // LSR; DLSR 1 s
            0x80, 204, 0, 2, 1, 2, 3, 4, b'n', b'a', b'm', b'e', // APP
        ];
        let packets = parse_compound(&bytes).unwrap();
        let want = ReportBlock {
            ssrc: 0x0A0B_0C0D,
            fraction_lost: 64,
            cumulative_lost: 5,
            extended_highest: 1000,
            jitter: 12,
            lsr: 0x1234_5678,
            dlsr: 0x10000,
        };
        assert_eq!(
            packets,
            vec![
                RtcpPacket::ReceiverReport { ssrc: 0x0102_0304, blocks: vec![want] },
                RtcpPacket::Other { packet_type: 204 }
            ]
        );
    }

    #[test]
    fn long_texts_are_cut_to_fit() {
        let long = "é".repeat(200); // 400 bytes
        let bytes = build_compound(1, None, &[], &long, Some(&long));
        let packets = parse_compound(&bytes).unwrap();
        let RtcpPacket::SourceDescription { cnames } = &packets[1] else { panic!("{packets:?}") };
        assert_eq!(cnames[0].1.len(), 254, "127 whole characters");
        assert!(matches!(&packets[2], RtcpPacket::Bye { reason, .. } if reason.len() == 254));
    }

    #[test]
    fn malformed_packets_are_errors() {
        let good = build_compound(1, None, &[block(2, 0)], "c", None);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "empty"),
            ("three bytes", vec![0x80, 201, 0], "too short for a header"),
            ("version 1", vec![0x40, 201, 0, 1, 0, 0, 0, 1], "version 1"),
            ("length past the end", vec![0x80, 201, 0, 9, 0, 0, 0, 1], "is 40 bytes long; 8 are left"),
            ("RR counting a block it lacks", vec![0x81, 201, 0, 1, 0, 0, 0, 1], "type 201 at byte 0 is malformed"),
            ("SR without sender info", vec![0x80, 200, 0, 1, 0, 0, 0, 1], "type 200 at byte 0 is malformed"),
            ("trailing garbage", [good.clone(), vec![0xFF, 0, 0]].concat(), "too short for a header"),
            ("second packet bad", [good.clone(), vec![0x00, 201, 0, 0]].concat(), "version 0"),
        ];
        for (name, bytes, want) in cases {
            let err = parse_compound(&bytes).expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = SplitMix64::new(0xC0DE);
        let valid = [
            build_compound(1, Some(SenderInfo::default()), &[block(2, -5)], "callbot", None),
            build_compound(1, None, &[block(2, 5), block(3, 0)], "x", Some("done")),
        ];
        let mut parsed = 0;
        for round in 0..30_000 {
            let mut bytes = if round % 3 == 0 {
                let len = rng.below(80) as usize;
                let mut b = rng.bytes(len);
                if len > 1 {
                    b[0] = 0x80 | (b[0] & 0x3F);
                    b[1] = 200 + (rng.below(6) as u8);
                }
                b
            } else {
                valid[round % 2].clone()
            };
            for _ in 0..rng.below(4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] ^= 1 << rng.below(8);
            }
            if rng.below(2) == 0 {
                bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
            }
            parsed += usize::from(parse_compound(&bytes).is_ok());
        }
        assert!(parsed > 1000, "valid packets get through too: {parsed}");
    }
}
