//! Audio file decoding with symphonia: WAV (PCM 8/16/24/32-bit integer, 32/64-bit float,
//! mu-law, A-law, IMA/MS ADPCM) and FLAC.
//!
//! Consumes a path or an in-memory byte buffer; produces [`DecodedAudio`]: mono `f32` samples in
//! [-1, 1] at the source's own sample rate (multichannel sources are downmixed by averaging).
//! Resampling is left to [`super::resample`].
//!
//! Invariants: no input bytes make this panic; every failure is a [`DecodeError`] whose message
//! can be shown to a user as is. A file cut short ends the audio where the data ends (that is how
//! truncated recordings usually look) rather than failing.

use std::fs::File;
use std::io::{Cursor, ErrorKind};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::probe::Hint;

/// Mono audio at the rate it was recorded at.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Mono samples in [-1, 1].
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// Channel count of the source before downmixing (1 for mono, 2 for stereo, ...).
    pub channels_in_source: u16,
}

impl DecodedAudio {
    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot read audio file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the audio file is empty (0 bytes)")]
    Empty,
    #[error("not an audio file, or a format that is not supported (WAV and FLAC are): {detail}")]
    NotAudio { detail: String },
    #[error("the audio encoding is not supported: {detail}")]
    UnsupportedEncoding { detail: String },
    #[error("the file contains no audio track that can be decoded")]
    NoAudioTrack,
    #[error("the audio data is corrupt: {detail}")]
    Corrupt { detail: String },
    #[error("the audio file contains no samples (only a header)")]
    NoSamples,
    #[error("the audio file is malformed: {detail}")]
    Malformed { detail: String },
}

/// Decodes a WAV or FLAC file. The extension, when present, is only a hint: the content decides.
pub fn decode_file(path: &Path) -> Result<DecodedAudio, DecodeError> {
    let io_err = |source| DecodeError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    // Opening a directory succeeds on Unix; say so plainly instead of a confusing read error later.
    if !meta.is_file() {
        return Err(io_err(std::io::Error::new(ErrorKind::InvalidInput, "not a regular file")));
    }
    if meta.len() == 0 {
        return Err(DecodeError::Empty);
    }
    let ext = path.extension().and_then(|e| e.to_str());
    // The file is streamed rather than read whole: long recordings need not sit in memory twice.
    decode_source(Box::new(file), ext)
}

/// Decodes WAV or FLAC bytes already in memory (uploads, test fixtures).
pub fn decode_bytes(bytes: Vec<u8>, hint_ext: Option<&str>) -> Result<DecodedAudio, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    decode_source(Box::new(Cursor::new(bytes)), hint_ext)
}

fn decode_source(source: Box<dyn MediaSource>, hint_ext: Option<&str>) -> Result<DecodedAudio, DecodeError> {
    // symphonia 0.5 panics on some malformed headers (e.g. an integer overflow while fixing a WAV
    // channel mask), and a bad upload must never take the process down. The closure owns all it
    // touches, so nothing half-updated is observed after a caught panic.
    std::panic::catch_unwind(AssertUnwindSafe(|| decode_unguarded(source, hint_ext))).unwrap_or_else(|panic| {
        let text = panic.downcast_ref::<String>().map(String::as_str);
        let reason = text.or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("unknown reason");
        Err(DecodeError::Malformed { detail: format!("the decoder rejected it ({reason})") })
    })
}

fn decode_unguarded(source: Box<dyn MediaSource>, hint_ext: Option<&str>) -> Result<DecodedAudio, DecodeError> {
    let mut hint = Hint::new();
    if let Some(ext) = hint_ext {
        hint.with_extension(ext);
    }
    let stream = MediaSourceStream::new(source, Default::default());
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &Default::default(), &Default::default())
        .map_err(|e| DecodeError::NotAudio { detail: e.to_string() })?;
    let mut reader = probed.format;

    let track =
        reader.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL).ok_or(DecodeError::NoAudioTrack)?;
    let track_id = track.id;
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut channels = track.codec_params.channels.map_or(0, |c| c.count());
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| DecodeError::UnsupportedEncoding { detail: e.to_string() })?;

    let mut mono: Vec<f32> = Vec::new();
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut losses = Losses::default();
    let mut next_ts: Option<u64> = None;

    loop {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            // Symphonia signals the normal end of a stream this way; a truncated file ends here too.
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(failed_after(mono.len(), rate, e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        // The FLAC reader silently drops frames it cannot resynchronise on; the jump in
        // timestamps is the only trace, and silence in their place keeps later timestamps right.
        if let Some(expected) = next_ts.filter(|&t| packet.ts > t) {
            losses.record(packet.ts - expected, "frames missing from the stream", &mut mono)?;
        }
        next_ts = Some(packet.ts.saturating_add(packet.dur));
        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                let frames = decoded.frames();
                if frames == 0 {
                    continue;
                }
                if rate == 0 {
                    rate = spec.rate;
                }
                channels = spec.channels.count();
                // A buffer is only reallocated when a packet is bigger than any before it.
                let buf = match interleaved.take() {
                    Some(buf) if buf.capacity() >= frames * channels => interleaved.insert(buf),
                    _ => interleaved.insert(SampleBuffer::new(frames as u64, spec)),
                };
                buf.copy_interleaved_ref(decoded);
                downmix_into(buf.samples(), channels, &mut mono);
                losses.good_frames += frames as u64;
            }
            // A damaged packet (a FLAC frame failing its checks, a short last block) is recoverable.
            Err(SymphoniaError::DecodeError(reason)) => losses.record(packet.dur, reason, &mut mono)?,
            Err(SymphoniaError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                losses.record(packet.dur, "packet cut short", &mut mono)?;
            }
            Err(e) => return Err(failed_after(mono.len(), rate, e)),
        }
    }

    losses.check(true)?;
    if mono.is_empty() {
        return Err(DecodeError::NoSamples);
    }
    if rate == 0 {
        return Err(DecodeError::NotAudio { detail: "the header gives no sample rate".into() });
    }
    Ok(DecodedAudio {
        samples: mono,
        sample_rate: rate,
        channels_in_source: u16::try_from(channels).unwrap_or(u16::MAX),
    })
}

fn failed_after(decoded: usize, rate: u32, e: SymphoniaError) -> DecodeError {
    let secs = decoded as f64 / f64::from(rate.max(1));
    DecodeError::Corrupt { detail: format!("decoding failed after {secs:.2} s of audio ({e})") }
}

/// Audio lost to damaged or missing packets, replaced by silence.
#[derive(Default)]
struct Losses {
    good_frames: u64,
    lost_frames: u64,
    events: usize,
    last_reason: &'static str,
}

impl Losses {
    /// Frames of damage tolerated on top of the proportional allowance, so that one bad block
    /// early in a file does not fail it.
    const GRACE_FRAMES: u64 = 65_536;

    fn record(&mut self, frames: u64, reason: &'static str, mono: &mut Vec<f32>) -> Result<(), DecodeError> {
        self.lost_frames = self.lost_frames.saturating_add(frames);
        self.events += 1;
        self.last_reason = reason;
        // Checked before filling so that a damaged length field cannot make us allocate gigabytes.
        self.check(false)?;
        let fill = usize::try_from(frames).unwrap_or(usize::MAX);
        mono.resize(mono.len().saturating_add(fill), 0.0);
        Ok(())
    }

    /// A few lost packets leave a usable recording; beyond a tenth of the audio it is mostly gaps,
    /// and a clear error serves the user better than a garbled transcript.
    fn check(&self, at_end: bool) -> Result<(), DecodeError> {
        let grace = if at_end { 0 } else { Self::GRACE_FRAMES };
        let all_lost = at_end && self.events > 0 && self.good_frames == 0;
        if all_lost || self.lost_frames > self.good_frames / 10 + grace {
            let total = self.good_frames.saturating_add(self.lost_frames);
            let detail = format!(
                "{} of {total} frames were damaged or missing, in {} place(s) (last: {})",
                self.lost_frames, self.events, self.last_reason
            );
            return Err(DecodeError::Corrupt { detail });
        }
        Ok(())
    }
}

/// Appends the average of each interleaved frame, clamped to [-1, 1].
///
/// Float sources may exceed full scale or hold NaN; downstream code (VAD, ASR) assumes neither.
fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    let channels = channels.max(1);
    let scale = 1.0 / channels as f32;
    out.extend(interleaved.chunks_exact(channels).map(|frame| {
        let avg = frame.iter().sum::<f32>() * scale;
        if avg.is_finite() { avg.clamp(-1.0, 1.0) } else { 0.0 }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hound::SampleFormat::{Float, Int};

    /// Writes a WAV with hound, each `f64` sample scaled to the format's full range.
    fn wav(spec: (u16, u32, u16, hound::SampleFormat), samples: &[f64]) -> Vec<u8> {
        let (channels, sample_rate, bits_per_sample, sample_format) = spec;
        let spec = hound::WavSpec { channels, sample_rate, bits_per_sample, sample_format };
        let mut cursor = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).expect("in-memory WAV writer");
        let full = (1i64 << (bits_per_sample - 1)) as f64;
        for &v in samples {
            let written = match (sample_format, bits_per_sample) {
                (Float, _) => writer.write_sample(v as f32),
                (Int, 8) => writer.write_sample((v * full) as i8),
                (Int, _) => writer.write_sample((v * full).min(full - 1.0) as i32),
            };
            written.expect("in-memory WAV write");
        }
        writer.finalize().expect("in-memory WAV finalize");
        cursor.into_inner()
    }

    fn sine(n: usize) -> Vec<f64> {
        (0..n).map(|i| 0.5 * (i as f64 * 0.3).sin()).collect()
    }

    /// The variant name of a result, for compact assertions.
    fn outcome<T>(result: Result<T, DecodeError>) -> String {
        let debug = format!("{:?}", result.map(|_| "Ok").map_err(|e| format!("{e:?}")));
        debug.split(['(', ' ', '"', '{']).filter(|w| !w.is_empty()).nth(1).unwrap_or("").into()
    }

    #[test]
    fn decodes_every_pcm_bit_depth_and_float() {
        let tone = sine(800);
        let depths = [(8, Int, 0.016), (16, Int, 1e-4), (24, Int, 1e-6), (32, Int, 1e-6), (32, Float, 1e-7)];
        for (bits, format, tol) in depths {
            let audio = decode_bytes(wav((1, 8000, bits, format), &tone), Some("wav")).expect("decodes");
            assert_eq!((audio.sample_rate, audio.channels_in_source, audio.samples.len()), (8000, 1, 800));
            let err = audio.samples.iter().zip(&tone).map(|(a, b)| (f64::from(*a) - b).abs()).fold(0.0, f64::max);
            assert!(err < tol, "{bits}-bit {format:?}: error {err}");
        }
        // Float sources can exceed full scale or hold NaN; neither may reach the recogniser.
        let loud = wav((1, 16000, 32, Float), &[0.25, 1.5, -3.0, f64::NAN]);
        assert_eq!(decode_bytes(loud, None).expect("decodes").samples, [0.25, 1.0, -1.0, 0.0]);
    }

    #[test]
    fn downmixes_stereo_and_multichannel_by_averaging() {
        let stereo = decode_bytes(wav((2, 48000, 16, Int), &[0.5, 0.0].repeat(100)), None).expect("stereo");
        assert_eq!((stereo.channels_in_source, stereo.samples.len()), (2, 100));
        assert!(stereo.samples.iter().all(|s| (s - 0.25).abs() < 1e-4));
        // hound writes WAVE_FORMAT_EXTENSIBLE for more than two channels.
        let quad = decode_bytes(wav((4, 16000, 24, Int), &[0.25, 0.25, -0.25, 0.5].repeat(50)), None).expect("4ch");
        assert_eq!((quad.channels_in_source, quad.samples.len()), (4, 50));
        assert!(quad.samples.iter().all(|s| (s - 0.1875).abs() < 1e-4));
    }

    /// A WAV built by hand for encodings hound cannot write (A-law = 6, mu-law = 7).
    fn g711_wav(format_tag: u16, payload: &[u8]) -> Vec<u8> {
        let le32 = |v: usize| (v as u32).to_le_bytes();
        // tag, mono, rate (2 halves), byte rate (2 halves), block align, bits, extra size
        let fmt: [u16; 9] = [format_tag, 1, 8000, 0, 8000, 0, 1, 8, 0];
        let mut b = [&b"RIFF"[..], &le32(38 + payload.len()), b"WAVEfmt ", &le32(18)].concat();
        b.extend(fmt.iter().flat_map(|v| v.to_le_bytes()));
        b.extend([&b"data"[..], &le32(payload.len()), payload].concat());
        b
    }

    #[test]
    fn decodes_mu_law_and_a_law() {
        // mu-law: 0xFF silence, 0x80 full scale; A-law: 0xD5 silence, 0xAA near full scale.
        for (tag, bytes) in [(7, [0xFF, 0x80, 0x00]), (6, [0xD5, 0xAA, 0x2A])] {
            let s = decode_bytes(g711_wav(tag, &bytes), None).expect("G.711").samples;
            assert!(s[0].abs() < 0.01 && s[1] > 0.9 && s[2] < -0.9, "format {tag}: {s:?}");
        }
    }

    #[test]
    fn reports_each_failure_clearly() {
        assert_eq!(outcome(decode_bytes(Vec::new(), None)), "Empty");
        let text = b"hello, this is certainly not audio data at all".to_vec();
        assert_eq!(outcome(decode_bytes(text, Some("wav"))), "NotAudio");
        assert_eq!(outcome(decode_bytes(wav((1, 16000, 16, Int), &[]), None)), "NoSamples");

        let err = decode_file(Path::new("/nonexistent/call.wav")).expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/call.wav"), "{err}");
        assert_eq!(outcome(decode_file(&std::env::temp_dir())), "Io");

        let dir = std::env::temp_dir().join(format!("callbot-decode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (tone, empty) = (dir.join("tone.wav"), dir.join("empty.wav"));
        std::fs::write(&tone, wav((1, 22050, 16, Int), &sine(2205))).expect("write wav");
        std::fs::write(&empty, b"").expect("write empty");
        let (tone, empty) = (decode_file(&tone), decode_file(&empty));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(outcome(empty), "Empty");
        assert!((tone.expect("decodes").duration_secs() - 0.1).abs() < 1e-9);
    }

    /// xorshift: deterministic noise without a rand dependency.
    fn noise(seed: &mut u64) -> u8 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 24) as u8
    }

    /// Random bytes, truncations, garbage after a valid header and damaged headers: every
    /// outcome must be a value, never a panic.
    fn assert_survives_hostile_variants_of(good: &[u8], header_len: usize, rounds: usize) {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in [1usize, 3, 4, 12, 44, 100, 1000, 65_536] {
            let bytes: Vec<u8> = (0..len).map(|_| noise(&mut seed)).collect();
            inputs.extend([&b""[..], b"RIFF", b"fLaC"].map(|magic| [magic, &bytes].concat()));
        }
        let step = (good.len() / rounds).max(1);
        inputs.extend((0..good.len()).step_by(step).map(|cut| good[..cut].to_vec()));
        let garbage: Vec<u8> = (0..5000).map(|_| noise(&mut seed)).collect();
        inputs.push([&good[..header_len.min(good.len())], &garbage].concat());
        for _ in 0..2 * rounds {
            let mut bad = good.to_vec();
            for _ in 0..3 {
                let at = usize::from(noise(&mut seed)) % (header_len + 40).min(good.len());
                bad[at] = noise(&mut seed);
            }
            inputs.push(bad);
        }
        for input in inputs {
            if let Ok(audio) = decode_bytes(input, Some("wav")) {
                assert!(audio.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
            }
        }
    }

    #[test]
    fn never_panics_on_hostile_bytes() {
        let stereo = wav((2, 44100, 24, Int), &sine(4410));
        assert_survives_hostile_variants_of(&stereo, 44, 150);
        assert_survives_hostile_variants_of(&wav((6, 48000, 16, Int), &sine(6000)), 68, 150);
        // A recording cut short keeps what it has: 600 bytes are 100 stereo 24-bit frames.
        let cut = decode_bytes(stereo[..stereo.len() - 600].to_vec(), None).expect("truncated file decodes");
        assert_eq!(cut.samples.len(), 2205 - 100);
    }

    #[test]
    fn losses_are_tolerated_up_to_a_tenth() {
        let (mut losses, mut mono) = (Losses { good_frames: 100_000, ..Losses::default() }, Vec::new());
        assert!(losses.record(4096, "bad frame", &mut mono).is_ok() && losses.check(true).is_ok());
        assert_eq!(mono.len(), 4096, "lost audio becomes silence");
        assert!(losses.record(8192, "bad frame", &mut mono).is_ok(), "within the grace allowance");
        assert_eq!(outcome(losses.check(true)), "Corrupt");
        assert_eq!(outcome(losses.record(1 << 40, "bad length", &mut mono)), "Corrupt");
        assert_eq!(mono.len(), 4096 + 8192, "a huge claimed gap is refused before allocating");
    }

    #[test]
    fn shared_test_recordings_decode_and_damage_is_reported() {
        // The shared ASR test set lives beside the repository; skip quietly where it is absent.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/en_asr/audio");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for path in entries.flatten().map(|e| e.path()) {
            let audio = decode_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(audio.duration_secs() > 0.5, "{}", path.display());
            if path.extension().is_none_or(|e| e != "flac") {
                continue;
            }
            let good = std::fs::read(&path).expect("readable");
            assert_survives_hostile_variants_of(&good, 64, 30); // long file: fewer rounds
            // One damaged frame becomes silence of its length; damage throughout is an error.
            let mut bad = good.clone();
            bad[good.len() * 2 / 3] ^= 0x5A;
            let patched = decode_bytes(bad.clone(), None).expect("one bad frame is tolerated");
            assert_eq!(patched.samples.len(), audio.samples.len());
            bad.iter_mut().skip(good.len() / 3).step_by(10_000).for_each(|b| *b ^= 0x5A);
            assert_eq!(outcome(decode_bytes(bad, None)), "Corrupt");
        }
    }
}
