//! The audio codecs of a call's media, behind one decoder and one encoder type, so the
//! pipeline is the same whatever was negotiated. PCM here is mono f32 at the codec's rate.

use crate::rtp::g711::G711;
use crate::rtp::plc::{FRAME_SAMPLES, Plc};

/// A codec both transports can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// Samples per second of the decoded audio (and of the RTP clock, for G.711).
    pub fn sample_rate(self) -> u32 {
        8000
    }

    pub fn clock_rate(self) -> u32 {
        8000
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Samples in one 20 ms frame.
    pub fn frame_samples(self) -> usize {
        self.sample_rate() as usize / 50
    }

    fn g711(self) -> G711 {
        match self {
            Codec::Pcmu => G711::Pcmu,
            Codec::Pcma => G711::Pcma,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{codec} frame of {len} bytes; expected {expected}")]
    BadFrame { codec: &'static str, len: usize, expected: usize },
}

pub struct AudioDecoder {
    codec: Codec,
    plc: Plc,
}

impl AudioDecoder {
    pub fn new(codec: Codec) -> Self {
        Self { codec, plc: Plc::new() }
    }

    /// One received frame. G.711 frames of other lengths than 20 ms are accepted (peers may
    /// use other ptimes); concealment history only learns from 20 ms frames.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<f32>) -> Result<(), CodecError> {
        if payload.is_empty() || payload.len() > 8 * FRAME_SAMPLES {
            let expected = FRAME_SAMPLES;
            return Err(CodecError::BadFrame { codec: self.codec.name(), len: payload.len(), expected });
        }
        let start = out.len();
        self.codec.g711().decode_f32(payload, out);
        if out.len() - start == FRAME_SAMPLES {
            self.plc.good_frame_f32(&mut out[start..]);
        }
        Ok(())
    }

    /// A stand-in for one lost 20 ms frame.
    pub fn conceal(&mut self, out: &mut Vec<f32>) {
        out.extend_from_slice(&self.plc.conceal_f32());
    }
}

pub struct AudioEncoder {
    codec: Codec,
}

impl AudioEncoder {
    pub fn new(codec: Codec) -> Self {
        Self { codec }
    }

    /// Encodes one 20 ms frame ([`Codec::frame_samples`] samples).
    pub fn encode(&mut self, frame: &[f32], out: &mut Vec<u8>) {
        self.codec.g711().encode_f32(frame, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_round_trips_a_tone() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let tone: Vec<f32> = (0..160).map(|i| 0.5 * (i as f32 * 0.3).sin()).collect();
            let mut bytes = Vec::new();
            AudioEncoder::new(codec).encode(&tone, &mut bytes);
            assert_eq!(bytes.len(), 160);
            let mut back = Vec::new();
            AudioDecoder::new(codec).decode(&bytes, &mut back).expect("valid frame");
            let err: f32 = tone.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 0.02, "{codec:?}: max error {err}");
        }
    }

    #[test]
    fn an_empty_frame_is_an_error_and_loss_is_concealed() {
        let mut d = AudioDecoder::new(Codec::Pcmu);
        let mut out = Vec::new();
        assert!(d.decode(&[], &mut out).is_err());
        d.conceal(&mut out);
        assert_eq!(out.len(), 160);
    }
}
