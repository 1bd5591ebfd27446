//! The audio codecs of a call's media, behind one decoder and one encoder type, so the
//! pipeline is the same whatever was negotiated. PCM here is mono f32 at the codec's rate.

use super::opus::{OpusDecoder, OpusEncoder, OpusError};
use crate::rtp::g711::G711;
use crate::rtp::plc::{FRAME_SAMPLES, Plc};

/// A codec both transports can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Pcmu,
    Pcma,
    Opus,
}

impl Codec {
    /// Samples per second of the decoded audio; also the RTP clock rate (Opus runs at 48 kHz
    /// on the wire whatever its internal bandwidth, RFC 7587).
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::Opus => 48_000,
        }
    }

    pub fn clock_rate(self) -> u32 {
        self.sample_rate()
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::Opus => "opus",
        }
    }

    /// Samples in one 20 ms frame.
    pub fn frame_samples(self) -> usize {
        self.sample_rate() as usize / 50
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{codec} frame of {len} bytes; expected {expected}")]
    BadFrame { codec: &'static str, len: usize, expected: usize },
    #[error(transparent)]
    Opus(#[from] OpusError),
}

enum Decoder {
    G711(G711, Plc),
    Opus(Box<OpusDecoder>),
}

pub struct AudioDecoder {
    codec: Codec,
    inner: Decoder,
}

impl AudioDecoder {
    pub fn new(codec: Codec) -> Result<Self, CodecError> {
        let inner = match codec {
            Codec::Pcmu => Decoder::G711(G711::Pcmu, Plc::new()),
            Codec::Pcma => Decoder::G711(G711::Pcma, Plc::new()),
            Codec::Opus => Decoder::Opus(Box::new(OpusDecoder::new()?)),
        };
        Ok(Self { codec, inner })
    }

    /// One received frame. G.711 frames of other lengths than 20 ms are accepted (peers may
    /// use other ptimes); concealment history only learns from 20 ms frames.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<f32>) -> Result<(), CodecError> {
        match &mut self.inner {
            Decoder::G711(law, plc) => {
                if payload.is_empty() || payload.len() > 8 * FRAME_SAMPLES {
                    let expected = FRAME_SAMPLES;
                    return Err(CodecError::BadFrame { codec: self.codec.name(), len: payload.len(), expected });
                }
                let start = out.len();
                law.decode_f32(payload, out);
                if out.len() - start == FRAME_SAMPLES {
                    plc.good_frame_f32(&mut out[start..]);
                }
            }
            Decoder::Opus(d) => {
                d.decode(payload, out)?;
            }
        }
        Ok(())
    }

    /// A stand-in for one lost 20 ms frame: G.711 pitch repetition, or Opus' own concealment.
    /// With the next packet at hand, [`recover`](Self::recover) does better for Opus.
    pub fn conceal(&mut self, out: &mut Vec<f32>) {
        let frame = self.codec.frame_samples();
        match &mut self.inner {
            Decoder::G711(_, plc) => out.extend_from_slice(&plc.conceal_f32()),
            Decoder::Opus(d) => {
                if d.conceal(frame, out).is_err() {
                    out.resize(out.len() + frame, 0.0);
                }
            }
        }
    }

    /// A lost frame rebuilt from the redundancy (Opus in-band FEC) that `next` carries;
    /// concealment when there is none.
    pub fn recover(&mut self, next: &[u8], out: &mut Vec<f32>) {
        if let Decoder::Opus(d) = &mut self.inner
            && d.decode_fec(next, out).is_ok()
        {
            return;
        }
        self.conceal(out);
    }
}

enum Encoder {
    G711(G711),
    Opus(Box<OpusEncoder>),
}

pub struct AudioEncoder {
    inner: Encoder,
}

impl AudioEncoder {
    pub fn new(codec: Codec) -> Result<Self, CodecError> {
        let inner = match codec {
            Codec::Pcmu => Encoder::G711(G711::Pcmu),
            Codec::Pcma => Encoder::G711(G711::Pcma),
            Codec::Opus => Encoder::Opus(Box::new(OpusEncoder::new(Default::default())?)),
        };
        Ok(Self { inner })
    }

    /// Encodes one 20 ms frame ([`Codec::frame_samples`] samples).
    pub fn encode(&mut self, frame: &[f32], out: &mut Vec<u8>) -> Result<(), CodecError> {
        match &mut self.inner {
            Encoder::G711(law) => law.encode_f32(frame, out),
            Encoder::Opus(e) => out.extend_from_slice(&e.encode(frame)?),
        }
        Ok(())
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
            AudioEncoder::new(codec).expect("encoder").encode(&tone, &mut bytes).expect("encodes");
            assert_eq!(bytes.len(), 160);
            let mut back = Vec::new();
            AudioDecoder::new(codec).expect("decoder").decode(&bytes, &mut back).expect("valid frame");
            let err: f32 = tone.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 0.02, "{codec:?}: max error {err}");
        }
    }

    #[test]
    fn an_empty_frame_is_an_error_and_loss_is_concealed() {
        let mut d = AudioDecoder::new(Codec::Pcmu).expect("decoder");
        let mut out = Vec::new();
        assert!(d.decode(&[], &mut out).is_err());
        d.conceal(&mut out);
        assert_eq!(out.len(), 160);
    }

    #[test]
    fn opus_round_trips_speech_like_audio_at_48k() {
        let mut enc = AudioEncoder::new(Codec::Opus).expect("encoder");
        let mut dec = AudioDecoder::new(Codec::Opus).expect("decoder");
        let mut back = Vec::new();
        for f in 0..10 {
            let frame: Vec<f32> = (0..960)
                .map(|i| 0.3 * (((f * 960 + i) as f32) * 2.0 * std::f32::consts::PI * 300.0 / 48000.0).sin())
                .collect();
            let mut bytes = Vec::new();
            enc.encode(&frame, &mut bytes).expect("encodes");
            dec.decode(&bytes, &mut back).expect("decodes");
        }
        assert_eq!(back.len(), 9600);
        dec.conceal(&mut back);
        assert_eq!(back.len(), 10560, "a concealed frame is 20 ms");
        let rms = (back[4800..9600].iter().map(|s| s * s).sum::<f32>() / 4800.0).sqrt();
        assert!(rms > 0.1, "{rms}");
    }
}
