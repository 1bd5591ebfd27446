//! WAV in both directions: decoding the stream an engine writes to a pipe, and writing files.
//!
//! A WAV written to a pipe cannot be seeked back to fill in its sizes, so espeak-ng writes
//! placeholders (0x7ffff000 for the data chunk). The decoder reads only the format and where the
//! samples start, and then takes everything up to end of file as samples.

use std::path::Path;

use hound::{SampleFormat, WavSpec, WavWriter};

use super::{TtsError, check_rate};
use crate::media::resample::StreamResampler;

/// A header longer than this is not what any engine writes; stop looking for the data chunk.
const MAX_HEADER: usize = 64 * 1024;

/// What the decoder needs from the `fmt ` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    sample_rate: u32,
}

/// Finds the format and the offset of the first sample in `buf`, or `None` if more bytes are
/// needed. Only 16-bit mono PCM is accepted: that is what espeak-ng writes.
fn parse_header(buf: &[u8]) -> Result<Option<(Format, usize)>, TtsError> {
    let bad = |reason: &str| Err(TtsError::BadAudio(reason.to_string()));
    if buf.len() < 12 {
        return Ok(None);
    }
    if &buf[..4] != b"RIFF" || &buf[8..12] != b"WAVE" {
        return bad("not a WAV stream (no RIFF/WAVE header)");
    }
    let u16_at = |at: usize| u16::from_le_bytes([buf[at], buf[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    let mut format = None;
    let mut pos = 12;
    while pos + 8 <= buf.len() {
        let (id, size) = (&buf[pos..pos + 4], u32_at(pos + 4) as usize);
        let body = pos + 8;
        if id == b"data" {
            // The data size is the streaming placeholder: ignored.
            return match format {
                Some(format) => Ok(Some((format, body))),
                None => bad("data chunk before the fmt chunk"),
            };
        }
        if body.saturating_add(size) > MAX_HEADER {
            return bad("no data chunk within the first 64 KiB");
        }
        if buf.len() < body + size {
            return Ok(None);
        }
        if id == b"fmt " {
            if size < 16 {
                return bad("fmt chunk too short");
            }
            let (tag, channels, rate, bits) = (u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14));
            if tag != 1 || channels != 1 || bits != 16 || rate == 0 {
                let found = format!("format {tag}, {channels} channel(s), {bits} bits, {rate} Hz");
                return Err(TtsError::BadAudio(format!("expected 16-bit mono PCM, found {found}")));
            }
            format = Some(Format { sample_rate: rate });
        }
        pos = body + size + size % 2; // chunks are padded to even sizes
    }
    if buf.len() > MAX_HEADER {
        return bad("no data chunk within the first 64 KiB");
    }
    Ok(None)
}

/// Turns a WAV byte stream, in pieces of any size, into `f32` samples at `out_rate`.
pub(super) struct PcmDecoder {
    out_rate: u32,
    state: State,
}

enum State {
    Header(Vec<u8>),
    Audio {
        // Boxed: it is large, and the header state is short-lived.
        resampler: Box<StreamResampler>,
        /// The first byte of a sample split between two reads.
        odd_byte: Option<u8>,
        samples: Vec<f32>,
    },
}

impl PcmDecoder {
    pub(super) fn new(out_rate: u32) -> Self {
        Self { out_rate, state: State::Header(Vec::new()) }
    }

    /// Appends the samples that `bytes` completes to `out` (resampled, so possibly fewer yet).
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), TtsError> {
        if let State::Header(header) = &mut self.state {
            header.extend_from_slice(bytes);
            let Some((format, start)) = parse_header(header)? else {
                return Ok(());
            };
            let rest = header.split_off(start);
            let resampler = Box::new(StreamResampler::new(format.sample_rate, self.out_rate)?);
            self.state = State::Audio { resampler, odd_byte: None, samples: Vec::new() };
            return self.push(&rest, out);
        }
        let State::Audio { resampler, odd_byte, samples } = &mut self.state else {
            unreachable!("header handled above")
        };
        samples.clear();
        let mut bytes = bytes;
        if let (Some(low), Some((&high, rest))) = (*odd_byte, bytes.split_first()) {
            samples.push(to_f32([low, high]));
            *odd_byte = None;
            bytes = rest;
        }
        let mut pairs = bytes.chunks_exact(2);
        samples.extend((&mut pairs).map(|p| to_f32([p[0], p[1]])));
        if let [last] = pairs.remainder() {
            *odd_byte = Some(*last);
        }
        resampler.push(samples, out);
        Ok(())
    }

    /// Ends the stream: appends what the resampler still holds. No bytes at all is an empty
    /// stream (espeak-ng writes nothing for blank input), a partial header is an error.
    pub(super) fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), TtsError> {
        match &mut self.state {
            State::Header(header) if header.is_empty() => Ok(()),
            State::Header(_) => Err(TtsError::BadAudio("the stream ended inside the WAV header".into())),
            State::Audio { resampler, .. } => {
                resampler.flush(out);
                Ok(())
            }
        }
    }
}

fn to_f32(bytes: [u8; 2]) -> f32 {
    f32::from(i16::from_le_bytes(bytes)) / 32768.0
}

/// Writes `pcm` (mono, `rate` Hz) as a 16-bit PCM WAV file. Samples beyond ±1 are clipped.
pub fn write_wav(path: &Path, pcm: &[f32], rate: u32) -> Result<(), TtsError> {
    check_rate(rate)?;
    let spec = WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: SampleFormat::Int };
    let wrap = |source| TtsError::Wav { path: path.to_path_buf(), source };
    let mut writer = WavWriter::create(path, spec).map_err(wrap)?;
    for &sample in pcm {
        // The inverse of `to_f32`, so 16-bit audio survives a round trip unchanged.
        let value = (sample * 32768.0).round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        writer.write_sample(value).map_err(wrap)?;
    }
    writer.finalize().map_err(wrap)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as espeak-ng writes it to a pipe, with its placeholder sizes.
    fn streaming_header(rate: u32, extra_chunk: bool) -> Vec<u8> {
        let mut h = b"RIFF\x24\xf0\xff\x7fWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00".to_vec();
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * 2).to_le_bytes());
        h.extend_from_slice(b"\x02\x00\x10\x00");
        if extra_chunk {
            h.extend_from_slice(b"LIST\x03\x00\x00\x00abc\x00"); // odd size, padded
        }
        h.extend_from_slice(b"data\x00\xf0\xff\x7f");
        h
    }

    fn samples_bytes(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn decodes_a_streaming_header_split_anywhere() {
        let samples: Vec<i16> = (0..301).map(|i| (i * 97 % 2000 - 1000) as i16).collect();
        for extra in [false, true] {
            let mut stream = streaming_header(16000, extra);
            stream.extend(samples_bytes(&samples));
            for piece in [1, 2, 3, 7, 44, 4096] {
                let (mut decoder, mut out) = (PcmDecoder::new(16000), Vec::new());
                for bytes in stream.chunks(piece) {
                    decoder.push(bytes, &mut out).expect("decodes");
                }
                decoder.finish(&mut out).expect("ends");
                let expected: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
                assert_eq!(out, expected, "pieces of {piece}, extra chunk {extra}");
            }
        }
    }

    #[test]
    fn resamples_to_the_requested_rate() {
        let mut stream = streaming_header(22050, false);
        stream.extend(samples_bytes(&vec![1000; 22050]));
        let (mut decoder, mut out) = (PcmDecoder::new(8000), Vec::new());
        decoder.push(&stream, &mut out).expect("decodes");
        decoder.finish(&mut out).expect("ends");
        assert_eq!(out.len(), 8000);
    }

    #[test]
    fn refuses_what_it_cannot_play() {
        let decode = |bytes: &[u8]| {
            let (mut decoder, mut out) = (PcmDecoder::new(16000), Vec::new());
            decoder.push(bytes, &mut out).and_then(|()| decoder.finish(&mut out)).map(|()| out)
        };
        assert!(decode(b"").expect("nothing is empty audio").is_empty());
        assert!(matches!(decode(&streaming_header(16000, false)[..20]), Err(TtsError::BadAudio(_))));
        assert!(matches!(decode(b"ID3\x03 not a wav at all"), Err(TtsError::BadAudio(_))));
        let mut stereo = streaming_header(16000, false);
        stereo[22] = 2;
        let err = decode(&stereo).expect_err("stereo refused");
        assert!(err.to_string().contains("2 channel(s)"), "{err}");
        let mut huge = b"RIFF\0\0\0\0WAVEjunk\0\0\x10\0".to_vec();
        huge.resize(100, 0);
        assert!(matches!(decode(&huge), Err(TtsError::BadAudio(_))));
    }

    #[test]
    fn written_files_read_back_as_16_bit_mono() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("out.wav");
        let pcm = [0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0];
        write_wav(&path, &pcm, 8000).expect("writes");
        let mut reader = hound::WavReader::open(&path).expect("reads");
        assert_eq!(
            reader.spec(),
            WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: SampleFormat::Int }
        );
        let back: Vec<i16> = reader.samples::<i16>().map(|s| s.expect("sample")).collect();
        assert_eq!(back, [0, 16384, -16384, 32767, -32768, 32767, -32768]);
        assert!(matches!(write_wav(&path, &pcm, 0), Err(TtsError::BadRate(0))));
        let missing = dir.path().join("no/such/dir/out.wav");
        let err = write_wav(&missing, &pcm, 8000).expect_err("no directory");
        assert!(err.to_string().contains("out.wav"), "{err}");
    }
}
