//! Opus for WebRTC calls: 48 kHz mono, 20 ms frames (RFC 7587, RFC 6716).
//!
//! - [`OpusEncoder`] turns 960-sample frames of PCM into one Opus payload each, tuned for speech
//!   over a lossy network: VoIP application, in-band FEC on, 5 % expected loss, ~24 kbit/s.
//! - [`OpusDecoder`] turns payloads back into PCM, and fills gaps: [`OpusDecoder::conceal`] runs the
//!   decoder's packet-loss concealment, [`OpusDecoder::decode_fec`] recovers a lost frame from the
//!   low-bitrate copy that the *next* packet carries (when its sender had FEC on).
//!
//! Sans-IO: no clock, no sockets; one frame in, one frame out. Payloads come from the network, so
//! a bad payload is an error value, never a panic. Samples are f32 in [-1, 1]; `_i16` variants
//! exist for callers that hold 16-bit PCM.
//!
//! WebRTC always signals Opus as `opus/48000/2`, whatever the sender's channel count: a mono
//! decoder downmixes stereo packets, so callers always get mono.

use opus::{Application, Bitrate, Channels};

use crate::rtp::g711::f32_to_i16;

/// The only rate WebRTC Opus runs at on the RTP clock (RFC 7587 §4.1), and the rate we decode at,
/// so RTP timestamps and sample counts are the same unit.
pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms at 48 kHz: the frame size browsers send and the one we encode.
pub const FRAME_SAMPLES: usize = 960;
/// Opus frames are built from 2.5 ms units; PLC and FEC lengths must be whole multiples.
const GRANULE_SAMPLES: usize = 120;
/// The longest Opus packet is 120 ms (RFC 6716 §3.2.5).
const MAX_PACKET_SAMPLES: usize = 5760;
/// libopus' own recommendation for an output buffer; a 20 ms payload at 24 kbit/s is ~60 bytes.
const MAX_PAYLOAD_BYTES: usize = 1275;

/// Encoder settings; the defaults are what a contact-center voice leg wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Target bitrate in bit/s. 24 kbit/s keeps wideband speech clear with FEC headroom.
    pub bitrate_bps: i32,
    /// Percentage of packets the encoder should expect to be lost; it decides how much of the
    /// bitrate the in-band FEC copy gets. 0 would switch FEC off in practice.
    pub expected_loss_percent: i32,
    /// Adds a low-bitrate copy of each frame to the next packet (LBRR), so a receiver that
    /// misses one packet can rebuild it from the next (`decode_fec`).
    pub inband_fec: bool,
    /// 0–10: encoder effort. Encoding is ~90 % of a call's codec CPU; on speech here it cost
    /// ~410 us per 20 ms frame at 10, ~250 us at 5, ~130 us at 0 (`examples/opus_cost.rs`).
    /// 10 is the quality default; lower it for density.
    pub complexity: i32,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self { bitrate_bps: 24_000, expected_loss_percent: 5, inband_fec: true, complexity: 10 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpusError {
    /// libopus refused a call; `operation` names which one. For decoding this means a corrupt
    /// or truncated payload from the peer.
    #[error("opus {operation} failed: {source}")]
    Codec {
        operation: &'static str,
        #[source]
        source: opus::Error,
    },
    #[error("an empty payload is not an Opus packet (use conceal() for a lost packet)")]
    EmptyPayload,
    #[error("encoder frames must be exactly {expected} samples (20 ms at 48 kHz), got {got}")]
    FrameLength { expected: usize, got: usize },
    #[error("{samples} samples cannot be concealed: use a positive multiple of 120 (2.5 ms)")]
    ConcealLength { samples: usize },
}

fn codec_error(operation: &'static str) -> impl FnOnce(opus::Error) -> OpusError {
    move |source| OpusError::Codec { operation, source }
}

/// Encodes 20 ms mono frames at 48 kHz.
pub struct OpusEncoder {
    inner: opus::Encoder,
    /// Reused output buffer, so encoding a frame allocates only the returned payload.
    scratch: Box<[u8; MAX_PAYLOAD_BYTES]>,
}

impl OpusEncoder {
    pub fn new(config: EncoderConfig) -> Result<Self, OpusError> {
        let mut inner = opus::Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip)
            .map_err(codec_error("encoder_create"))?;
        inner.set_bitrate(Bitrate::Bits(config.bitrate_bps)).map_err(codec_error("set_bitrate"))?;
        inner.set_inband_fec(config.inband_fec).map_err(codec_error("set_inband_fec"))?;
        inner.set_packet_loss_perc(config.expected_loss_percent).map_err(codec_error("set_packet_loss_perc"))?;
        inner.set_complexity(config.complexity).map_err(codec_error("set_complexity"))?;
        Ok(Self { inner, scratch: Box::new([0; MAX_PAYLOAD_BYTES]) })
    }

    /// Encodes one 20 ms frame (exactly [`FRAME_SAMPLES`] samples) into one RTP payload.
    pub fn encode(&mut self, frame: &[f32]) -> Result<Vec<u8>, OpusError> {
        check_frame(frame.len())?;
        let len = self.inner.encode_float(frame, &mut self.scratch[..]).map_err(codec_error("encode"))?;
        Ok(self.scratch[..len].to_vec())
    }

    /// As [`Self::encode`], for 16-bit PCM.
    pub fn encode_i16(&mut self, frame: &[i16]) -> Result<Vec<u8>, OpusError> {
        check_frame(frame.len())?;
        let len = self.inner.encode(frame, &mut self.scratch[..]).map_err(codec_error("encode"))?;
        Ok(self.scratch[..len].to_vec())
    }
}

fn check_frame(len: usize) -> Result<(), OpusError> {
    if len == FRAME_SAMPLES { Ok(()) } else { Err(OpusError::FrameLength { expected: FRAME_SAMPLES, got: len }) }
}

/// Decodes any Opus payload (mono or stereo, 2.5–120 ms) to 48 kHz mono.
pub struct OpusDecoder {
    inner: opus::Decoder,
    /// Length of the last decoded or concealed frame: what a lost packet most likely held, so
    /// `decode_fec` rebuilds that much.
    last_frame_samples: usize,
    /// Reused output buffer, big enough for the longest packet.
    scratch: Box<[f32; MAX_PACKET_SAMPLES]>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, OpusError> {
        let inner = opus::Decoder::new(SAMPLE_RATE, Channels::Mono).map_err(codec_error("decoder_create"))?;
        Ok(Self { inner, last_frame_samples: FRAME_SAMPLES, scratch: Box::new([0.0; MAX_PACKET_SAMPLES]) })
    }

    /// Decodes one payload, appending its samples to `out`; returns how many were appended.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<f32>) -> Result<usize, OpusError> {
        if payload.is_empty() {
            return Err(OpusError::EmptyPayload);
        }
        let n = self.inner.decode_float(payload, &mut self.scratch[..], false).map_err(codec_error("decode"))?;
        self.last_frame_samples = n;
        out.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }

    /// Fills `samples` of lost audio with the decoder's concealment (extrapolated from the
    /// last frames, fading out over long gaps), appending to `out`.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<f32>) -> Result<usize, OpusError> {
        if samples == 0 || !samples.is_multiple_of(GRANULE_SAMPLES) {
            return Err(OpusError::ConcealLength { samples });
        }
        let mut remaining = samples;
        while remaining > 0 {
            // libopus conceals at most one packet's worth (120 ms) per call.
            let chunk = remaining.min(MAX_PACKET_SAMPLES);
            let n = self.inner.decode_float(&[], &mut self.scratch[..chunk], false).map_err(codec_error("conceal"))?;
            out.extend_from_slice(&self.scratch[..n]);
            remaining -= chunk;
        }
        self.last_frame_samples = samples.min(MAX_PACKET_SAMPLES);
        Ok(samples)
    }

    /// Rebuilds the frame lost just before `next_payload` from the FEC data inside it, appending
    /// to `out`. Call it when packet N is missing and N+1 has arrived, then `decode(N+1)` as
    /// usual. If N+1 carries no FEC data libopus falls back to concealment, so the output has
    /// the right length either way. The lost frame is assumed as long as the last one decoded.
    pub fn decode_fec(&mut self, next_payload: &[u8], out: &mut Vec<f32>) -> Result<usize, OpusError> {
        if next_payload.is_empty() {
            return Err(OpusError::EmptyPayload);
        }
        // libopus takes the lost frame's length from the buffer size, so pass exactly that much.
        let lost = self.last_frame_samples;
        let n = self
            .inner
            .decode_float(next_payload, &mut self.scratch[..lost], true)
            .map_err(codec_error("decode_fec"))?;
        out.extend_from_slice(&self.scratch[..n]);
        Ok(n)
    }

    /// As [`Self::decode`], for callers that want 16-bit PCM.
    pub fn decode_i16(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, OpusError> {
        let mut pcm = Vec::with_capacity(FRAME_SAMPLES);
        let n = self.decode(payload, &mut pcm)?;
        out.extend(pcm.iter().map(|&s| f32_to_i16(s)));
        Ok(n)
    }
}

/// Root mean square of a block of samples; 0 for an empty block (tests).
#[cfg(test)]
fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, amplitude: f32, frames: usize) -> Vec<f32> {
        (0..frames * FRAME_SAMPLES)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / SAMPLE_RATE as f32).sin())
            .collect()
    }

    /// Frequency estimate from rising zero crossings: enough to tell 440 Hz from anything else.
    fn zero_crossing_hz(samples: &[f32]) -> f32 {
        let rising = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        rising as f32 * SAMPLE_RATE as f32 / samples.len() as f32
    }

    fn encode_all(samples: &[f32]) -> Vec<Vec<u8>> {
        let mut enc = OpusEncoder::new(EncoderConfig::default()).expect("encoder");
        samples.chunks(FRAME_SAMPLES).map(|f| enc.encode(f).expect("encode")).collect()
    }

    #[test]
    fn tone_survives_round_trip() {
        let input = tone(440.0, 0.5, 50);
        let packets = encode_all(&input);
        // ~24 kbit/s is ~60 bytes per 20 ms; allow VBR swing.
        let mean_len = packets.iter().map(Vec::len).sum::<usize>() / packets.len();
        assert!((20..=150).contains(&mean_len), "mean payload {mean_len} bytes");

        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for p in &packets {
            assert_eq!(dec.decode(p, &mut out).expect("decode"), FRAME_SAMPLES);
        }
        assert_eq!(out.len(), input.len());
        // Skip the first 100 ms: encoder look-ahead and start-up.
        let steady = &out[4800..];
        let (rms_in, rms_out) = (rms(&input), rms(steady));
        assert!((rms_out / rms_in - 1.0).abs() < 0.2, "rms in {rms_in}, out {rms_out}");
        let hz = zero_crossing_hz(steady);
        assert!((hz - 440.0).abs() < 10.0, "frequency {hz}");
    }

    #[test]
    fn i16_paths_round_trip() {
        let input: Vec<i16> = tone(440.0, 0.5, 20).iter().map(|&s| f32_to_i16(s)).collect();
        let mut enc = OpusEncoder::new(EncoderConfig::default()).expect("encoder");
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for f in input.chunks(FRAME_SAMPLES) {
            let p = enc.encode_i16(f).expect("encode");
            dec.decode_i16(&p, &mut out).expect("decode");
        }
        assert_eq!(out.len(), input.len());
        let peak = out[4800..].iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!((12_000..=20_000).contains(&peak), "peak {peak}");
    }

    #[test]
    fn concealment_is_audible_and_sized() {
        let packets = encode_all(&tone(440.0, 0.5, 20));
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for p in &packets {
            dec.decode(p, &mut out).expect("decode");
        }
        let mut plc = Vec::new();
        assert_eq!(dec.conceal(FRAME_SAMPLES, &mut plc).expect("conceal"), FRAME_SAMPLES);
        assert_eq!(plc.len(), FRAME_SAMPLES);
        assert!(rms(&plc) > 0.1, "concealed rms {}", rms(&plc));
        // Long gaps are split into several libopus calls and still come out whole.
        let mut long = Vec::new();
        dec.conceal(8 * MAX_PACKET_SAMPLES / 4 + 120, &mut long).expect("long conceal");
        assert_eq!(long.len(), 8 * MAX_PACKET_SAMPLES / 4 + 120);
    }

    #[test]
    fn fec_rebuilds_a_lost_frame() {
        let packets = encode_all(&tone(440.0, 0.5, 30));
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            if i == 20 {
                // Packet 20 is "lost": rebuild it from 21, which is decoded normally next.
                let mut fec = Vec::new();
                assert_eq!(dec.decode_fec(&packets[21], &mut fec).expect("fec"), FRAME_SAMPLES);
                assert!(rms(&fec) > 0.1, "fec rms {}", rms(&fec));
                out.extend(fec);
                continue;
            }
            dec.decode(p, &mut out).expect("decode");
        }
        assert_eq!(out.len(), packets.len() * FRAME_SAMPLES);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = Vec::new();
        assert!(matches!(dec.decode(&[], &mut out), Err(OpusError::EmptyPayload)));
        assert!(matches!(dec.decode_fec(&[], &mut out), Err(OpusError::EmptyPayload)));
        // TOC byte for code 3 (arbitrary frame count) with no frame-count byte: malformed.
        assert!(matches!(dec.decode(&[0x03], &mut out), Err(OpusError::Codec { .. })));
        assert!(matches!(dec.conceal(100, &mut out), Err(OpusError::ConcealLength { samples: 100 })));
        assert!(matches!(dec.conceal(0, &mut out), Err(OpusError::ConcealLength { samples: 0 })));
        // Random garbage must never panic, whatever libopus makes of it.
        let mut x: u32 = 0x1234_5678;
        for len in 1..200 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = dec.decode(&junk, &mut out);
        }
        let mut enc = OpusEncoder::new(EncoderConfig::default()).expect("encoder");
        assert!(matches!(enc.encode(&[0.0; 480]), Err(OpusError::FrameLength { expected: 960, got: 480 })));
    }
}
