//! RTP packets (RFC 3550 §5.1) and RTP/RTCP demultiplexing on one port (RFC 5761 §4).
//!
//! Parsing borrows the payload from the datagram; it checks every length against the buffer
//! before reading, so a malformed packet is a [`PacketError`], never a panic. Serializing
//! validates what the wire format cannot carry (payload type over 127, more than 15 CSRCs,
//! an extension that is not whole 32-bit words).
//!
//! Hand-written rather than taken from webrtc-rs' `rtp` crate: that crate pulls in `webrtc-util`,
//! which depends on tokio (multi-threaded runtime, net, fs), nix, async-trait and a second
//! `thiserror` major, all for about 150 lines of bounds-checked byte reading.

/// The only RTP version in use (RFC 3550).
pub const RTP_VERSION: u8 = 2;
/// Version, flags, payload type, sequence number, timestamp and SSRC.
pub const FIXED_HEADER_LEN: usize = 12;
/// The CSRC count is a 4-bit field.
pub const MAX_CSRCS: usize = 15;
/// RFC 5761: with RTP and RTCP on one port, payload types 64–95 are never RTP, because the
/// second octet of an RTCP packet (its packet type, 192–223 in that range) would read as them.
pub const RTCP_PAYLOAD_TYPES: std::ops::RangeInclusive<u8> = 64..=95;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet of {len} bytes is too short for its {part} ({needed} bytes needed)")]
    Truncated { part: &'static str, needed: usize, len: usize },
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("padding bit set but the padding count is 0")]
    ZeroPadding,
    #[error("padding count {padding} exceeds the {available} bytes after the header")]
    PaddingTooLong { padding: usize, available: usize },
    #[error("RTCP packet (type {0}), not RTP")]
    Rtcp(u8),
    #[error("payload type {0} cannot be sent: RTP payload types are 0–127, excluding 64–95 (RFC 5761)")]
    InvalidPayloadType(u8),
    #[error("{0} CSRCs, at most 15 fit in the header")]
    TooManyCsrcs(usize),
    #[error("header extension of {0} bytes is not a whole number of 32-bit words")]
    ExtensionNotAligned(usize),
    #[error("header extension of {0} bytes is longer than the 65535 words its length field can say")]
    ExtensionTooLong(usize),
}

/// What a datagram on an RTP port is, judged from its first two bytes (RFC 5761 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    Rtp,
    /// `packet_type` is RTCP's (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205/206 feedback, 207 XR).
    Rtcp {
        packet_type: u8,
    },
    /// Not version 2 or shorter than any RTP/RTCP header: STUN, DTLS, ZRTP, keep-alives, noise.
    Other,
}

/// Sorts a datagram without parsing it, so the caller can count or ignore RTCP cheaply.
pub fn classify(datagram: &[u8]) -> PacketKind {
    // 4 bytes is the smallest RTCP header; RTP needs 12, which `RtpPacket::parse` checks.
    if datagram.len() < 4 || datagram[0] >> 6 != RTP_VERSION {
        return PacketKind::Other;
    }
    if RTCP_PAYLOAD_TYPES.contains(&(datagram[1] & 0x7F)) {
        PacketKind::Rtcp { packet_type: datagram[1] }
    } else {
        PacketKind::Rtp
    }
}

/// A header extension (RFC 3550 §5.3.1): a profile-defined 16-bit id and whole 32-bit words of data.
/// RFC 8285 one-byte (0xBEDE) and two-byte (0x100x) element lists live inside `data`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderExtension {
    pub profile: u16,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrcs: Vec<u32>,
    pub extension: Option<HeaderExtension>,
}

impl RtpHeader {
    /// Bytes this header takes on the wire.
    pub fn encoded_len(&self) -> usize {
        let extension = self.extension.as_ref().map_or(0, |ext| 4 + ext.data.len());
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + extension
    }

    /// Appends the header to `out` (padding bit clear).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), PacketError> {
        self.write_with_padding(false, out)
    }

    fn validate(&self) -> Result<(), PacketError> {
        if self.payload_type > 127 || RTCP_PAYLOAD_TYPES.contains(&self.payload_type) {
            return Err(PacketError::InvalidPayloadType(self.payload_type));
        }
        if self.csrcs.len() > MAX_CSRCS {
            return Err(PacketError::TooManyCsrcs(self.csrcs.len()));
        }
        if let Some(ext) = &self.extension {
            if ext.data.len() % 4 != 0 {
                return Err(PacketError::ExtensionNotAligned(ext.data.len()));
            }
            if ext.data.len() / 4 > usize::from(u16::MAX) {
                return Err(PacketError::ExtensionTooLong(ext.data.len()));
            }
        }
        Ok(())
    }

    fn write_with_padding(&self, padding: bool, out: &mut Vec<u8>) -> Result<(), PacketError> {
        self.validate()?;
        out.reserve(self.encoded_len());
        // Casts below are exact: validate() bounded the CSRC count to 4 bits and the words to 16.
        let first = RTP_VERSION << 6
            | u8::from(padding) << 5
            | u8::from(self.extension.is_some()) << 4
            | self.csrcs.len() as u8;
        out.push(first);
        out.push(u8::from(self.marker) << 7 | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for csrc in &self.csrcs {
            out.extend_from_slice(&csrc.to_be_bytes());
        }
        if let Some(ext) = &self.extension {
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&((ext.data.len() / 4) as u16).to_be_bytes());
            out.extend_from_slice(&ext.data);
        }
        Ok(())
    }
}

/// A parsed RTP packet; the payload borrows from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub payload: &'a [u8],
    /// Padding bytes after the payload, including the count byte itself; 0 when the P bit is clear.
    pub padding_len: u8,
}

impl<'a> RtpPacket<'a> {
    pub fn parse(buf: &'a [u8]) -> Result<Self, PacketError> {
        let len = buf.len();
        if len < FIXED_HEADER_LEN {
            return Err(PacketError::Truncated { part: "fixed header", needed: FIXED_HEADER_LEN, len });
        }
        let version = buf[0] >> 6;
        if version != RTP_VERSION {
            return Err(PacketError::BadVersion(version));
        }
        if RTCP_PAYLOAD_TYPES.contains(&(buf[1] & 0x7F)) {
            return Err(PacketError::Rtcp(buf[1]));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0F);

        let mut offset = FIXED_HEADER_LEN + 4 * csrc_count;
        if len < offset {
            return Err(PacketError::Truncated { part: "CSRC list", needed: offset, len });
        }
        let csrcs = buf[FIXED_HEADER_LEN..offset].chunks_exact(4).map(read_u32).collect();

        let extension = if has_extension {
            if len < offset + 4 {
                return Err(PacketError::Truncated { part: "extension header", needed: offset + 4, len });
            }
            let profile = u16::from_be_bytes([buf[offset], buf[offset + 1]]);
            let words = usize::from(u16::from_be_bytes([buf[offset + 2], buf[offset + 3]]));
            let end = offset + 4 + 4 * words;
            if len < end {
                return Err(PacketError::Truncated { part: "header extension", needed: end, len });
            }
            let data = buf[offset + 4..end].to_vec();
            offset = end;
            Some(HeaderExtension { profile, data })
        } else {
            None
        };

        let available = len - offset;
        let padding_len = if has_padding {
            if available == 0 {
                // The count byte itself would have to follow the header.
                return Err(PacketError::PaddingTooLong { padding: 1, available });
            }
            // The last byte counts the padding, itself included (RFC 3550 §5.1).
            let padding = buf[len - 1];
            if padding == 0 {
                return Err(PacketError::ZeroPadding);
            }
            if usize::from(padding) > available {
                return Err(PacketError::PaddingTooLong { padding: usize::from(padding), available });
            }
            padding
        } else {
            0
        };

        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: read_u32(&buf[4..8]),
            ssrc: read_u32(&buf[8..12]),
            csrcs,
            extension,
        };
        Ok(Self { header, payload: &buf[offset..len - usize::from(padding_len)], padding_len })
    }

    /// Serializes header, payload and padding (zero bytes, then the count) into a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, PacketError> {
        let mut out =
            Vec::with_capacity(self.header.encoded_len() + self.payload.len() + usize::from(self.padding_len));
        self.write(&mut out)?;
        Ok(out)
    }

    /// Appends the packet to `out`; on error nothing is appended.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), PacketError> {
        self.header.write_with_padding(self.padding_len > 0, out)?;
        out.extend_from_slice(self.payload);
        if self.padding_len > 0 {
            out.extend(std::iter::repeat_n(0, usize::from(self.padding_len) - 1));
            out.push(self.padding_len);
        }
        Ok(())
    }
}

/// Big-endian u32 from a 4-byte chunk (callers pass exactly 4 bytes).
fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SplitMix64;

    fn header(pt: u8, seq: u16) -> RtpHeader {
        RtpHeader { payload_type: pt, sequence: seq, timestamp: 0x0102_0304, ssrc: 0xDEAD_BEEF, ..Default::default() }
    }

    #[test]
    fn parses_a_known_pcmu_packet() {
        let mut bytes = vec![0x80, 0x80, 0x12, 0x34, 0x00, 0x00, 0x01, 0x40, 0xCA, 0xFE, 0xBA, 0xBE];
        bytes.extend_from_slice(&[0xFF; 160]);
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert!(packet.header.marker);
        assert_eq!(packet.header.payload_type, 0);
        assert_eq!(packet.header.sequence, 0x1234);
        assert_eq!(packet.header.timestamp, 320);
        assert_eq!(packet.header.ssrc, 0xCAFE_BABE);
        assert!(packet.header.csrcs.is_empty() && packet.header.extension.is_none());
        assert_eq!(packet.payload.len(), 160);
        assert_eq!(packet.padding_len, 0);
        assert_eq!(packet.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn round_trips_every_optional_part() {
        let cases = [
            (vec![], None, 0u8, 0usize),
            (vec![1, 2, 3], None, 0, 10),
            (vec![], Some(HeaderExtension { profile: 0xBEDE, data: vec![0x10, 0xAA, 0, 0] }), 0, 20),
            (vec![7; 15], Some(HeaderExtension { profile: 0x1000, data: vec![] }), 4, 1),
            (vec![], None, 1, 0),
            (vec![9], None, 255, 160),
        ];
        for (csrcs, extension, padding_len, payload_len) in cases {
            let header = RtpHeader { marker: padding_len % 2 == 1, csrcs, extension, ..header(8, 65535) };
            let payload = vec![0x55; payload_len];
            let packet = RtpPacket { header, payload: &payload, padding_len };
            let bytes = packet.to_bytes().unwrap();
            assert_eq!(bytes.len(), packet.header.encoded_len() + payload_len + usize::from(padding_len));
            assert_eq!(RtpPacket::parse(&bytes).unwrap(), packet, "{bytes:02x?}");
        }
    }

    #[test]
    fn rejects_malformed_packets() {
        let valid = RtpPacket { header: header(0, 1), payload: &[1, 2, 3, 4], padding_len: 0 }.to_bytes().unwrap();
        // Each case edits a copy of a valid 16-byte packet: (first byte, second byte, bytes 12..16, length).
        type Edit = (Option<u8>, Option<u8>, Option<[u8; 4]>, usize);
        let truncated = |part, needed, len| PacketError::Truncated { part, needed, len };
        let cases: [(&str, Edit, PacketError); 13] = [
            ("empty", (None, None, None, 0), truncated("fixed header", 12, 0)),
            ("11 bytes", (None, None, None, 11), truncated("fixed header", 12, 11)),
            ("version 1", (Some(0x40), None, None, 16), PacketError::BadVersion(1)),
            ("version 0", (Some(0x00), None, None, 16), PacketError::BadVersion(0)),
            ("version 3", (Some(0xC0), None, None, 16), PacketError::BadVersion(3)),
            ("RTCP receiver report", (None, Some(201), None, 16), PacketError::Rtcp(201)),
            ("PT 72 without marker", (None, Some(72), None, 16), PacketError::Rtcp(72)),
            ("CSRCs missing", (Some(0x82), None, None, 16), truncated("CSRC list", 20, 16)),
            ("extension header missing", (Some(0x90), None, None, 14), truncated("extension header", 16, 14)),
            (
                "extension longer than packet",
                (Some(0x90), None, Some([0xBE, 0xDE, 0x00, 0x02]), 16),
                truncated("header extension", 24, 16),
            ),
            ("zero padding count", (Some(0xA0), None, Some([1, 2, 3, 0]), 16), PacketError::ZeroPadding),
            (
                "padding past header",
                (Some(0xA0), None, Some([1, 2, 3, 5]), 16),
                PacketError::PaddingTooLong { padding: 5, available: 4 },
            ),
            (
                "padding bit, no bytes",
                (Some(0xA0), None, None, 12),
                PacketError::PaddingTooLong { padding: 1, available: 0 },
            ),
        ];
        for (name, (first, second, tail, len), want) in cases {
            let mut bytes = valid.clone();
            if let Some(first) = first {
                bytes[0] = first;
            }
            if let Some(second) = second {
                bytes[1] = second;
            }
            if let Some(tail) = tail {
                bytes[12..16].copy_from_slice(&tail);
            }
            bytes.truncate(len);
            assert_eq!(RtpPacket::parse(&bytes).map(|_| ()), Err(want), "{name}");
        }
    }

    #[test]
    fn padding_may_cover_the_whole_payload() {
        let mut bytes = header(0, 1).to_bytes_for_test();
        bytes[0] |= 0x20;
        bytes.extend_from_slice(&[0, 0, 3]);
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert!(packet.payload.is_empty());
        assert_eq!(packet.padding_len, 3);
    }

    #[test]
    fn serializing_rejects_what_the_wire_cannot_carry() {
        let cases = [
            (RtpHeader { payload_type: 128, ..header(0, 0) }, PacketError::InvalidPayloadType(128)),
            (RtpHeader { payload_type: 64, ..header(0, 0) }, PacketError::InvalidPayloadType(64)),
            (RtpHeader { payload_type: 95, ..header(0, 0) }, PacketError::InvalidPayloadType(95)),
            (RtpHeader { csrcs: vec![0; 16], ..header(0, 0) }, PacketError::TooManyCsrcs(16)),
            (
                RtpHeader { extension: Some(HeaderExtension { profile: 1, data: vec![0; 3] }), ..header(0, 0) },
                PacketError::ExtensionNotAligned(3),
            ),
            (
                RtpHeader { extension: Some(HeaderExtension { profile: 1, data: vec![0; 4 * 65536] }), ..header(0, 0) },
                PacketError::ExtensionTooLong(4 * 65536),
            ),
        ];
        for (header, want) in cases {
            let mut out = vec![];
            assert_eq!(header.write(&mut out), Err(want.clone()));
            assert!(out.is_empty(), "{want}: nothing written on error");
        }
        assert!(RtpHeader { payload_type: 96, ..header(0, 0) }.write(&mut vec![]).is_ok());
        assert!(RtpHeader { payload_type: 127, ..header(0, 0) }.write(&mut vec![]).is_ok());
    }

    #[test]
    fn classifies_rtp_rtcp_and_other_traffic() {
        let cases: [(&[u8], PacketKind); 8] = [
            (&[0x80, 0x00, 0, 1], PacketKind::Rtp),
            (&[0x80, 0xE5, 0, 1], PacketKind::Rtp), // marker + PT 101 (telephone-event)
            (&[0x80, 200, 0, 6], PacketKind::Rtcp { packet_type: 200 }),
            (&[0x81, 201, 0, 7], PacketKind::Rtcp { packet_type: 201 }),
            (&[0x81, 223, 0, 1], PacketKind::Rtcp { packet_type: 223 }),
            (&[0x00, 0x01, 0, 0], PacketKind::Other),    // STUN binding request
            (&[0x16, 0xFE, 0xFD, 0], PacketKind::Other), // DTLS handshake
            (&[0x80, 200], PacketKind::Other),
        ];
        for (bytes, want) in cases {
            assert_eq!(classify(bytes), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn random_bytes_never_panic_and_parsed_packets_round_trip() {
        let mut rng = SplitMix64::new(0x5EED);
        let mut parsed = 0;
        for round in 0..20_000 {
            let len = rng.below(64) as usize;
            let mut bytes = rng.bytes(len);
            if round % 2 == 0 && len > 1 {
                bytes[0] = 0x80 | (bytes[0] & 0x3F); // version 2, so the deeper checks get exercised
            }
            let _ = classify(&bytes);
            if let Ok(packet) = RtpPacket::parse(&bytes) {
                parsed += 1;
                let again = packet.to_bytes().unwrap();
                assert_eq!(RtpPacket::parse(&again).unwrap(), packet);
            }
        }
        assert!(parsed > 500, "the loop should reach valid packets too, got {parsed}");
    }

    #[test]
    fn mutated_and_truncated_packets_never_panic() {
        let mut rng = SplitMix64::new(7);
        let header = RtpHeader {
            csrcs: vec![1, 2],
            extension: Some(HeaderExtension { profile: 0xBEDE, data: vec![0x22, 1, 2, 0, 0x31, 9, 0, 0] }),
            ..header(0, 9)
        };
        let valid = RtpPacket { header, payload: &[0xFF; 40], padding_len: 4 }.to_bytes().unwrap();
        for _ in 0..20_000 {
            let mut bytes = valid.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len() as u64) as usize;
                bytes[at] ^= 1 << rng.below(8);
            }
            bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
            if let Ok(packet) = RtpPacket::parse(&bytes) {
                assert!(
                    packet.header.encoded_len() + packet.payload.len() + usize::from(packet.padding_len) == bytes.len()
                );
            }
        }
    }

    impl RtpHeader {
        fn to_bytes_for_test(&self) -> Vec<u8> {
            let mut out = vec![];
            self.write(&mut out).unwrap();
            out
        }
    }
}
