//! DTMF over RTP as telephone-events (RFC 4733) and a detector that yields one digit per key press.
//!
//! A sender reports a key press as a run of packets that all carry the RTP timestamp of the press's
//! start: the first with the marker bit, then updates with a growing duration, then (usually three)
//! copies of the final packet with the end bit. Any of them may be lost, duplicated or reordered.
//! [`DtmfDetector`] therefore keys a press by (RTP timestamp, event) and reports it on the first
//! packet of it that arrives, whichever that is; everything else about the press is ignored.
//!
//! Sans-IO: the caller demultiplexes by the negotiated telephone-event payload type and passes the
//! RTP timestamp, marker bit and payload. No clock is needed.

/// One telephone-event block: event, E/R/volume byte, 16-bit duration.
pub const EVENT_BLOCK_LEN: usize = 4;

/// How many recent presses the detector remembers, so late retransmissions of them stay silent.
const REMEMBERED_PRESSES: usize = 8;

/// RFC 4733 §2.5.2.3: a press longer than the 16-bit duration field can say (8.2 s at 8 kHz) goes on
/// under a new timestamp without the marker bit. A duration this close to the limit means that may
/// be what a new timestamp is (512 ms of margin at 8 kHz for lost updates).
const LONG_EVENT_DURATION: u16 = 0xF000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {0} bytes; one event needs 4")]
    Truncated(usize),
}

/// A telephone-event payload block (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0–9, 10 `*`, 11 `#`, 12–15 `A`–`D`, 16 flash; other codes are other tones.
    pub event: u8,
    /// Set on the final packet(s) of the event.
    pub end: bool,
    /// Power level as -dBm0, 0–63 (larger is quieter).
    pub volume: u8,
    /// Length so far, in RTP timestamp units from the event's start.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first block. Extra bytes (further blocks, RFC 4733 §2.5.1.5) are ignored;
    /// the reserved bit is ignored, as the RFC asks of receivers.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, high, low, ..] = *payload else {
            return Err(DtmfError::Truncated(payload.len()));
        };
        Ok(Self { event, end: flags & 0x80 != 0, volume: flags & 0x3F, duration: u16::from_be_bytes([high, low]) })
    }

    /// Volume is masked to its 6 bits.
    pub fn to_bytes(self) -> [u8; EVENT_BLOCK_LEN] {
        let [high, low] = self.duration.to_be_bytes();
        [self.event, u8::from(self.end) << 7 | (self.volume & 0x3F), high, low]
    }

    pub fn digit(self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// DTMF event code to its key: '0'–'9', '*', '#', 'A'–'D'.
pub fn event_to_digit(event: u8) -> Option<char> {
    const KEYS: [char; 16] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];
    KEYS.get(usize::from(event)).copied()
}

/// Key to DTMF event code; lower-case 'a'–'d' are accepted.
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

/// One key press, reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    pub digit: char,
    /// RTP timestamp of the press's start: orders presses and lines them up with the audio.
    pub timestamp: u32,
    /// -dBm0 of the first packet seen.
    pub volume: u8,
}

/// What the detector knows of the press it heard last.
#[derive(Debug, Clone, Copy)]
struct Press {
    timestamp: u32,
    event: u8,
    ended: bool,
    longest_duration: u16,
}

/// Turns telephone-event packets into digits, one per key press.
#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    /// (timestamp, event) of recent presses, and of long-event continuations; oldest overwritten first.
    recent: [Option<(u32, u8)>; REMEMBERED_PRESSES],
    next_slot: usize,
    current: Option<Press>,
}

impl DtmfDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet; returns the digit when this packet is the first heard of a
    /// new press. Non-DTMF events (flash, tones) are accepted and ignored.
    pub fn push(&mut self, timestamp: u32, marker: bool, payload: &[u8]) -> Result<Option<DtmfDigit>, DtmfError> {
        let event = TelephoneEvent::parse(payload)?;
        let Some(digit) = event.digit() else {
            return Ok(None);
        };
        let key = (timestamp, event.event);
        let known = self.recent.contains(&Some(key));
        if !known && self.continues_long_press(timestamp, marker, event.event) {
            self.remember(key);
        } else if !known {
            self.remember(key);
            self.current = Some(Press { timestamp, event: event.event, ended: false, longest_duration: 0 });
            self.update_current(key, event);
            return Ok(Some(DtmfDigit { digit, timestamp, volume: event.volume }));
        }
        self.update_current(key, event);
        Ok(None)
    }

    /// Forgets every press, e.g. when the stream's SSRC changes.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// A new timestamp without the marker, for the key still held, whose duration was about to
    /// overflow: the same press going on (RFC 4733 §2.5.2.3), not a new one.
    fn continues_long_press(&self, timestamp: u32, marker: bool, event: u8) -> bool {
        let Some(press) = self.current else {
            return false;
        };
        let later = timestamp.wrapping_sub(press.timestamp);
        !marker
            && !press.ended
            && press.event == event
            && press.longest_duration >= LONG_EVENT_DURATION
            && later > 0
            && later <= u32::from(u16::MAX) + u32::from(u16::MAX / 2)
    }

    fn update_current(&mut self, (timestamp, code): (u32, u8), event: TelephoneEvent) {
        if let Some(press) = &mut self.current
            && press.event == code
        {
            if press.timestamp != timestamp {
                // A long press continued: follow it under its new timestamp.
                press.timestamp = timestamp;
                press.longest_duration = 0;
            }
            press.ended |= event.end;
            press.longest_duration = press.longest_duration.max(event.duration);
        }
    }

    fn remember(&mut self, key: (u32, u8)) {
        self.recent[self.next_slot] = Some(key);
        self.next_slot = (self.next_slot + 1) % REMEMBERED_PRESSES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SplitMix64;

    /// (RTP timestamp, marker, payload) of a telephone-event packet.
    type Packet = (u32, bool, [u8; 4]);

    fn block(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent { event, end, volume: 10, duration }.to_bytes()
    }

    /// The packets a typical sender emits for one press: start, updates every 50 ms, three ends.
    fn press(event: u8, timestamp: u32, updates: u16) -> Vec<Packet> {
        let mut packets = vec![(timestamp, true, block(event, false, 400))];
        packets.extend((2..=updates).map(|n| (timestamp, false, block(event, false, 400 * n))));
        packets.extend((0..3).map(|_| (timestamp, false, block(event, true, 400 * (updates + 1)))));
        packets
    }

    fn digits(detector: &mut DtmfDetector, packets: &[Packet]) -> String {
        packets
            .iter()
            .filter_map(|(ts, marker, payload)| detector.push(*ts, *marker, payload).unwrap())
            .map(|d| d.digit)
            .collect()
    }

    #[test]
    fn parses_payloads() {
        let cases: [(&[u8], Result<TelephoneEvent, DtmfError>); 5] = [
            (&[0x05, 0x8A, 0x03, 0x20], Ok(TelephoneEvent { event: 5, end: true, volume: 10, duration: 800 })),
            (&[0x0B, 0x3F, 0x00, 0xA0], Ok(TelephoneEvent { event: 11, end: false, volume: 63, duration: 160 })),
            // Reserved bit set: ignored.
            (&[0x00, 0x4A, 0xFF, 0xFF], Ok(TelephoneEvent { event: 0, end: false, volume: 10, duration: 65535 })),
            (
                &[0x10, 0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
                Ok(TelephoneEvent { event: 16, end: true, volume: 0, duration: 0 }),
            ),
            (&[0x05, 0x8A, 0x03], Err(DtmfError::Truncated(3))),
        ];
        for (bytes, want) in cases {
            assert_eq!(TelephoneEvent::parse(bytes), want, "{bytes:02x?}");
        }
        let event = TelephoneEvent { event: 9, end: true, volume: 0xFF, duration: 1234 };
        assert_eq!(TelephoneEvent::parse(&event.to_bytes()), Ok(TelephoneEvent { volume: 0x3F, ..event }));
        assert_eq!(TelephoneEvent::parse(&[]), Err(DtmfError::Truncated(0)));
    }

    #[test]
    fn maps_every_key() {
        for (event, key) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(event_to_digit(event as u8), Some(key));
            assert_eq!(digit_to_event(key), Some(event as u8));
        }
        assert_eq!(digit_to_event('b'), Some(13));
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('E'), None);
    }

    #[test]
    fn one_digit_per_press_despite_retransmissions() {
        let cases: [(&str, Vec<Packet>, &str); 9] = [
            ("single press", press(1, 1000, 3), "1"),
            ("several presses", [press(1, 1000, 2), press(2, 5000, 4), press(11, 9000, 1)].concat(), "12#"),
            ("same key twice", [press(5, 1000, 2), press(5, 4000, 2)].concat(), "55"),
            ("only the end packets arrived", press(10, 1000, 3).split_off(3), "*"),
            ("only one end packet arrived", vec![(7, false, block(15, true, 800))], "D"),
            (
                "end before the updates (reordered)",
                {
                    let mut packets = press(3, 1000, 3);
                    packets.reverse();
                    packets
                },
                "3",
            ),
            ("start duplicated", [vec![(1000, true, block(4, false, 400))], press(4, 1000, 2)].concat(), "4"),
            ("non-DTMF events ignored", [vec![(50, true, block(16, true, 800))], press(0, 1000, 1)].concat(), "0"),
            ("timestamp wraps between presses", [press(8, u32::MAX - 100, 2), press(9, 300, 2)].concat(), "89"),
        ];
        for (name, packets, want) in cases {
            assert_eq!(digits(&mut DtmfDetector::new(), &packets), want, "{name}");
        }
    }

    #[test]
    fn late_retransmission_of_an_earlier_press_is_ignored() {
        let mut detector = DtmfDetector::new();
        let first = press(1, 1000, 2);
        let mut packets = first.clone();
        packets.extend(press(2, 5000, 1).into_iter().take(2));
        packets.push(*first.last().unwrap()); // a stale end of '1' after '2' started
        packets.extend(press(2, 5000, 1).into_iter().skip(2));
        assert_eq!(digits(&mut detector, &packets), "12");
    }

    #[test]
    fn a_press_longer_than_the_duration_field_is_one_digit() {
        // RFC 4733 §2.5.2.3: at 65535 the sender restarts under a new timestamp, marker clear.
        let mut packets = vec![(1000, true, block(6, false, 400))];
        packets.extend((2..=163).map(|n| (1000, false, block(6, false, 400 * n))));
        packets.push((1000, false, block(6, false, 65535)));
        packets.extend((1..=10).map(|n| (1000 + 65535, false, block(6, false, 400 * n))));
        packets.extend((0..3).map(|_| (1000 + 65535, false, block(6, true, 4400))));
        let mut detector = DtmfDetector::new();
        assert_eq!(digits(&mut detector, &packets), "6");
        // After it ends, the same key again is a new press.
        assert_eq!(digits(&mut detector, &press(6, 200_000, 2)), "6");
    }

    #[test]
    fn a_new_timestamp_without_marker_after_a_short_press_is_a_new_press() {
        // The marker of the second press was lost; the first press never reached the long-event limit.
        let mut packets = press(6, 1000, 2);
        packets.retain(|(_, _, payload)| payload[1] & 0x80 == 0); // its end packets were lost too
        packets.push((3000, false, block(6, false, 800)));
        assert_eq!(digits(&mut DtmfDetector::new(), &packets), "66");
    }

    #[test]
    fn reports_timestamp_and_volume_and_resets() {
        let mut detector = DtmfDetector::new();
        let digit = detector.push(4242, true, &block(12, false, 160)).unwrap();
        assert_eq!(digit, Some(DtmfDigit { digit: 'A', timestamp: 4242, volume: 10 }));
        assert_eq!(detector.push(4242, false, &block(12, true, 800)).unwrap(), None);
        detector.reset();
        assert!(detector.push(4242, false, &block(12, true, 800)).unwrap().is_some());
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut rng = SplitMix64::new(4733);
        let mut detector = DtmfDetector::new();
        for _ in 0..50_000 {
            let len = rng.below(9) as usize;
            let payload = rng.bytes(len);
            let timestamp = rng.below(16) as u32 * 0x1000_0000;
            let result = detector.push(timestamp, rng.below(2) == 1, &payload);
            assert_eq!(result.is_err(), payload.len() < EVENT_BLOCK_LEN);
        }
    }
}
