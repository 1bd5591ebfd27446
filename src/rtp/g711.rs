//! G.711 (ITU-T): PCMU (µ-law, RTP payload type 0) and PCMA (A-law, payload type 8).
//!
//! Each byte is one 8 kHz sample: a sign, a 3-bit segment (exponent) and a 4-bit step within it.
//! Encoding computes the segment from the position of the highest set bit; decoding looks the byte
//! up in a 256-entry table built at compile time from the same formulas, so both directions share
//! one definition of the format. Every input is valid: nothing here can fail.
//!
//! Linear samples are 16-bit (i16) or f32 in [-1, 1), where 1.0 is 32768.

/// The G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// µ-law, North America and Japan; RTP static payload type 0.
    Pcmu,
    /// A-law, the rest of the world; RTP static payload type 8.
    Pcma,
}

impl G711 {
    /// Static RTP payload type (RFC 3551 §6).
    pub const fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }

    pub const fn from_payload_type(payload_type: u8) -> Option<Self> {
        match payload_type {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            _ => None,
        }
    }

    /// The byte for a zero sample: what to send when there is nothing to say.
    pub const fn silence(self) -> u8 {
        match self {
            Self::Pcmu => 0xFF,
            Self::Pcma => 0xD5,
        }
    }

    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Self::Pcmu => ulaw_encode(sample),
            Self::Pcma => alaw_encode(sample),
        }
    }

    pub fn decode_sample(self, byte: u8) -> i16 {
        match self {
            Self::Pcmu => ULAW_TO_LINEAR[usize::from(byte)],
            Self::Pcma => ALAW_TO_LINEAR[usize::from(byte)],
        }
    }

    /// Appends one byte per sample to `out`.
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&sample| self.encode_sample(sample)));
    }

    /// Appends one sample per byte to `out`.
    pub fn decode(self, bytes: &[u8], out: &mut Vec<i16>) {
        out.extend(bytes.iter().map(|&byte| self.decode_sample(byte)));
    }

    pub fn encode_f32(self, samples: &[f32], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&sample| self.encode_sample(f32_to_i16(sample))));
    }

    pub fn decode_f32(self, bytes: &[u8], out: &mut Vec<f32>) {
        out.extend(bytes.iter().map(|&byte| i16_to_f32(self.decode_sample(byte))));
    }
}

/// f32 in [-1, 1) to i16, rounding; out-of-range values saturate and NaN becomes 0 (Rust's `as`).
pub fn f32_to_i16(sample: f32) -> i16 {
    (sample * 32768.0).round() as i16
}

pub fn i16_to_f32(sample: i16) -> f32 {
    f32::from(sample) / 32768.0
}

/// µ-law works on magnitudes offset by this bias, which makes every segment start at a power of two.
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude that still fits the top segment once biased (32635 + 132 = 0x7FFF).
const ULAW_CLIP: i32 = 32635;

/// Linear i16 to µ-law. The byte is stored inverted, so 0 encodes as 0xFF.
pub const fn ulaw_encode(sample: i16) -> u8 {
    let value = sample as i32;
    // Negative values are taken as one's complement (-1 is the smallest negative step), as in ITU-T G.191.
    let (sign, magnitude) = if value < 0 { (0x80, -value - 1) } else { (0, value) };
    let magnitude = if magnitude > ULAW_CLIP { ULAW_CLIP } else { magnitude };
    let biased = magnitude + ULAW_BIAS; // 132..=32767: highest set bit is 7..=14
    let segment = (31 - biased.leading_zeros() as i32) - 7;
    let step = (biased >> (segment + 3)) & 0x0F;
    !((sign | (segment << 4) | step) as u8)
}

/// µ-law to linear i16: the middle of the step's interval. Range ±32124.
pub const fn ulaw_decode(byte: u8) -> i16 {
    let code = !byte as i32;
    let segment = (code >> 4) & 0x07;
    let step = code & 0x0F;
    let magnitude = (((step << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    (if code & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// Linear i16 to A-law. A-law codes 13-bit values and stores them with even bits inverted (XOR 0x55),
/// so 0 encodes as 0xD5.
pub const fn alaw_encode(sample: i16) -> u8 {
    let value = (sample as i32) >> 3; // 13 bits, -4096..=4095
    // Negative values map onto 0..=4095 as well: -1 is the smallest negative step.
    let (mask, magnitude) = if value >= 0 { (0xD5, value) } else { (0x55, -value - 1) };
    // Segment 0 and 1 both have steps of 2; from segment 2 on the step doubles each time.
    let segment = if magnitude < 32 { 0 } else { (31 - magnitude.leading_zeros() as i32) - 4 };
    let shift = if segment < 2 { 1 } else { segment };
    let step = (magnitude >> shift) & 0x0F;
    ((segment << 4) | step) as u8 ^ mask
}

/// A-law to linear i16: the middle of the step's interval. Range ±32256; there is no exact zero (±8).
pub const fn alaw_decode(byte: u8) -> i16 {
    let code = (byte ^ 0x55) as i32;
    let segment = (code >> 4) & 0x07;
    let step = code & 0x0F;
    let magnitude = if segment == 0 { (step << 4) + 8 } else { ((step << 4) + 0x108) << (segment - 1) };
    (if code & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

static ULAW_TO_LINEAR: [i16; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = ulaw_decode(byte as u8);
        byte += 1;
    }
    table
};

static ALAW_TO_LINEAR: [i16; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = alaw_decode(byte as u8);
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Spot values; the full tables were checked once against CPython's `audioop` (decoding both laws,
    /// encoding A-law and positive µ-law) and a G.191-style µ-law encoder (all 65536 inputs).
    #[test]
    fn known_values() {
        // (sample, µ-law byte, A-law byte)
        let encodes: [(i16, u8, u8); 8] = [
            (0, 0xFF, 0xD5),
            (-1, 0x7F, 0x55),
            (1, 0xFF, 0xD5),
            (8, 0xFE, 0xD5),
            (32767, 0x80, 0xAA),
            (-32768, 0x00, 0x2A),
            (1000, 0xCE, 0xFA),
            (-1000, 0x4E, 0x7A),
        ];
        for (sample, ulaw, alaw) in encodes {
            assert_eq!(G711::Pcmu.encode_sample(sample), ulaw, "µ-law of {sample}");
            assert_eq!(G711::Pcma.encode_sample(sample), alaw, "A-law of {sample}");
        }
        // (byte, µ-law sample, A-law sample)
        let decodes: [(u8, i16, i16); 7] = [
            (0xFF, 0, 848),
            (0x7F, 0, -848),
            (0x80, 32124, 5504),
            (0x00, -32124, -5504),
            (0xD5, 716, 8),
            (0x55, -716, -8),
            (0xAA, 5372, 32256),
        ];
        for (byte, ulaw, alaw) in decodes {
            assert_eq!(G711::Pcmu.decode_sample(byte), ulaw, "µ-law {byte:#04x}");
            assert_eq!(G711::Pcma.decode_sample(byte), alaw, "A-law {byte:#04x}");
        }
        assert_eq!(G711::Pcma.decode_sample(0x2A), -32256);
        assert_eq!(G711::Pcmu.silence(), ulaw_encode(0));
        assert_eq!(G711::Pcma.silence(), alaw_encode(0));
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for byte in 0..=255u8 {
            let ulaw = ulaw_encode(ulaw_decode(byte));
            // 0x7F is µ-law's negative zero; it decodes to 0, which encodes as positive zero.
            assert_eq!(ulaw, if byte == 0x7F { 0xFF } else { byte }, "µ-law {byte:#04x}");
            assert_eq!(alaw_encode(alaw_decode(byte)), byte, "A-law {byte:#04x}");
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        for sample in i16::MIN..=i16::MAX {
            let magnitude = i32::from(sample).abs();
            let ulaw_error = (i32::from(sample) - i32::from(ulaw_decode(ulaw_encode(sample)))).abs();
            let ulaw_bound = if magnitude > ULAW_CLIP { 32768 - 32124 } else { (magnitude + ULAW_BIAS) / 32 };
            assert!(ulaw_error <= ulaw_bound, "µ-law {sample}: error {ulaw_error} > {ulaw_bound}");
            let alaw_error = (i32::from(sample) - i32::from(alaw_decode(alaw_encode(sample)))).abs();
            let alaw_bound = (magnitude / 32).max(8);
            assert!(alaw_error <= alaw_bound, "A-law {sample}: error {alaw_error} > {alaw_bound}");
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        let mut previous = (i16::MIN, i16::MIN);
        for sample in i16::MIN..=i16::MAX {
            let decoded = (ulaw_decode(ulaw_encode(sample)), alaw_decode(alaw_encode(sample)));
            assert!(decoded.0 >= previous.0 && decoded.1 >= previous.1, "at {sample}");
            previous = decoded;
        }
    }

    #[test]
    fn a_tone_keeps_telephone_quality() {
        // 1 kHz at about -10 dBFS: G.711 gives roughly 38 dB signal-to-quantisation-noise.
        let tone: Vec<f32> =
            (0..8000).map(|n| 0.3 * (std::f32::consts::TAU * 1000.0 * n as f32 / 8000.0).sin()).collect();
        for law in [G711::Pcmu, G711::Pcma] {
            let mut bytes = vec![];
            law.encode_f32(&tone, &mut bytes);
            let mut decoded = vec![];
            law.decode_f32(&bytes, &mut decoded);
            assert_eq!(decoded.len(), tone.len());
            let signal: f32 = tone.iter().map(|x| x * x).sum();
            let noise: f32 = tone.iter().zip(&decoded).map(|(x, y)| (x - y) * (x - y)).sum();
            let snr_db = 10.0 * (signal / noise).log10();
            assert!(snr_db > 35.0, "{law:?}: SNR {snr_db:.1} dB");
        }
    }

    #[test]
    fn f32_conversion_saturates_and_ignores_nan() {
        let cases = [(0.0, 0), (1.0, 32767), (-1.0, -32768), (2.5, 32767), (-7.0, -32768), (f32::NAN, 0), (0.5, 16384)];
        for (input, want) in cases {
            assert_eq!(f32_to_i16(input), want, "{input}");
        }
        assert_eq!(i16_to_f32(-32768), -1.0);
        let mut bytes = vec![];
        G711::Pcmu.encode_f32(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY], &mut bytes);
        assert_eq!(bytes, [0xFF, 0x80, 0x00]);
    }

    #[test]
    fn payload_types() {
        for law in [G711::Pcmu, G711::Pcma] {
            assert_eq!(G711::from_payload_type(law.payload_type()), Some(law));
        }
        assert_eq!(G711::from_payload_type(101), None);
    }
}
