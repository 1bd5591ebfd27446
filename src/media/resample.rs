//! Sample-rate conversion of mono `f32` audio with rubato's windowed-sinc resampler.
//!
//! - [`resample`] converts a whole buffer (a decoded file).
//! - [`StreamResampler`] converts live audio: it takes frames of any length, works in 10 ms
//!   chunks of input and appends output as soon as a chunk is complete.
//!
//! Both produce output that is time-aligned with the input (sample `k` of the output is the
//! input at time `k / to_hz`, to within half an output sample) and `round(len * to / from)`
//! samples long, so timestamps computed at either rate agree. Equal rates pass audio through.
//!
//! Both use rubato's `SincFixedIn` rather than its FFT resamplers: it accepts any chunk length
//! for any pair of rates (the FFT ones need chunks that are multiples of `from / gcd(from, to)`
//! samples, i.e. 20 ms for 22.05 → 16 kHz and 40 ms for 11.025 kHz), its only latency beyond the
//! chunk is half the filter, and both paths share one filter and the alignment logic below, so a
//! stream's output equals the whole-buffer output to within float rounding.

use rubato::{Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction};

/// Largest conversion ratio accepted either way; beyond it the request is almost surely a bad
/// header, and the output buffer it implies could exhaust memory.
pub const MAX_RATIO: u32 = 256;

/// Filter length in input samples, shared by both paths so that live audio and files come out
/// the same (a 128-tap filter for streams would save 8 ms at 8 kHz, but its output differed from
/// the file path's by 22-35 dB SNR on the test recordings). Its lookahead, half of it, adds to a
/// call's latency: 16 ms at 8 kHz, 2.7 ms at 48 kHz.
const SINC_LEN: usize = 256;
/// Whole buffers go through rubato in chunks of this many input samples.
const BATCH_CHUNK: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("unsupported sample rate 0 Hz (asked to resample from {from_hz} Hz to {to_hz} Hz)")]
    ZeroRate { from_hz: u32, to_hz: u32 },
    #[error("unsupported conversion from {from_hz} Hz to {to_hz} Hz: the ratio is beyond {MAX_RATIO}:1")]
    RatioOutOfRange { from_hz: u32, to_hz: u32 },
    #[error("cannot build the resampler: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
    #[error("resampling failed: {0}")]
    Process(#[from] rubato::ResampleError),
}

/// Converts a whole buffer from `from_hz` to `to_hz`; returns the input unchanged when the rates
/// are equal. The output has `round(len * to_hz / from_hz)` samples.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    check_rates(from_hz, to_hz)?;
    if from_hz == to_hz || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    // Short buffers get a short chunk: flushing pads the last chunk with silence that is
    // resampled too, which at 256:1 upsampling would cost more than the audio itself.
    let mut converter = Converter::new(from_hz, to_hz, BATCH_CHUNK.min(samples.len()))?;
    let mut out = Vec::with_capacity(expected_len(samples.len() as u64, from_hz, to_hz) as usize);
    converter.push(samples, &mut out)?;
    converter.flush(&mut out)?;
    Ok(out)
}

/// Resamples a live stream frame by frame.
///
/// Each [`push`](Self::push) may take any number of samples; output appears once 10 ms of input
/// has gathered, delayed by half the filter (see `SINC_LEN`). [`flush`](Self::flush) at the
/// end of the stream releases what is still held, after which the resampler starts a new stream.
pub struct StreamResampler {
    /// `None` when the rates are equal: audio passes through untouched.
    converter: Option<Converter>,
}

impl StreamResampler {
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        check_rates(from_hz, to_hz)?;
        if from_hz == to_hz {
            return Ok(Self { converter: None });
        }
        let chunk = from_hz.div_ceil(100) as usize; // 10 ms of input
        Ok(Self { converter: Some(Converter::new(from_hz, to_hz, chunk)?) })
    }

    /// Appends the output for `input` (possibly none yet, possibly more than one chunk's worth).
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        match &mut self.converter {
            None => out.extend_from_slice(input),
            Some(converter) => converter.push_infallible(input, out),
        }
    }

    /// Appends everything still held, so that the stream's total output is
    /// `round(total_input * to_hz / from_hz)` samples, and readies the resampler for a new stream.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        if let Some(converter) = &mut self.converter {
            converter.flush_infallible(out);
        }
    }
}

fn check_rates(from_hz: u32, to_hz: u32) -> Result<(), ResampleError> {
    if from_hz == 0 || to_hz == 0 {
        return Err(ResampleError::ZeroRate { from_hz, to_hz });
    }
    if from_hz / to_hz > MAX_RATIO || to_hz / from_hz > MAX_RATIO {
        return Err(ResampleError::RatioOutOfRange { from_hz, to_hz });
    }
    Ok(())
}

/// `round(len * to / from)`, exactly, in integers.
fn expected_len(len: u64, from_hz: u32, to_hz: u32) -> u64 {
    let (len, from, to) = (u128::from(len), u128::from(from_hz), u128::from(to_hz));
    u64::try_from((len * to + from / 2) / from).unwrap_or(u64::MAX)
}

/// Rubato's `SincFixedIn` plus what it leaves to the caller: gathering input into fixed chunks,
/// aligning the output in time, and ending a stream at the right length.
///
/// Alignment: rubato 0.16's `SincFixedIn` emits output sample `k` at input position
/// `(k + 1) * from / to - 1`. (Its `output_delay()` reports half the filter, which does not match
/// what this version does: trimming by it would shift audio 16 ms early at 8 kHz.) Prepending `pad`
/// zeros and dropping the first `skip` outputs moves sample `k` to `k * from / to`, to within
/// half an output sample (exact whenever one rate divides the other).
struct Converter {
    inner: SincFixedIn<f32>,
    chunk: usize,
    /// Input gathered towards the next chunk.
    pending: Vec<f32>,
    out_buf: Vec<Vec<f32>>,
    pad: usize,
    skip: usize,
    /// Leading outputs still to drop for alignment.
    to_skip: usize,
    from_hz: u32,
    to_hz: u32,
    /// Real input samples taken and output samples given since the stream began.
    taken: u64,
    given: u64,
}

impl Converter {
    fn new(from_hz: u32, to_hz: u32, chunk: usize) -> Result<Self, ResampleError> {
        let window = WindowFunction::BlackmanHarris2;
        let params = SincInterpolationParameters {
            sinc_len: SINC_LEN,
            // The widest passband this filter length allows without letting aliases through
            // (0.947 of the lower Nyquist frequency).
            f_cutoff: rubato::calculate_cutoff(SINC_LEN, window),
            oversampling_factor: 256,
            interpolation: SincInterpolationType::Cubic,
            window,
        };
        let ratio = f64::from(to_hz) / f64::from(from_hz);
        let inner = SincFixedIn::new(ratio, 1.0, params, chunk, 1)?;
        let out_buf = inner.output_buffer_allocate(true);
        let step = f64::from(from_hz) / f64::from(to_hz); // input samples per output sample
        let pad = if step > 1.0 { step.ceil() as usize - 1 } else { 0 };
        let skip = ((pad as f64 + 1.0) / step - 1.0).round().max(0.0) as usize;
        let mut converter = Self {
            inner,
            chunk,
            pending: Vec::with_capacity(chunk),
            out_buf,
            pad,
            skip,
            to_skip: 0,
            from_hz,
            to_hz,
            taken: 0,
            given: 0,
        };
        converter.restart();
        Ok(converter)
    }

    fn restart(&mut self) {
        self.inner.reset();
        self.pending.clear();
        self.pending.resize(self.pad, 0.0);
        self.to_skip = self.skip;
        self.taken = 0;
        self.given = 0;
    }

    fn push(&mut self, mut input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.taken += input.len() as u64;
        // Complete the held-back partial chunk first. At a stream's start it holds the alignment
        // padding, which can exceed a chunk when the chunk is tiny (very low input rates).
        while !self.pending.is_empty() {
            let take = self.chunk.saturating_sub(self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < self.chunk {
                return Ok(());
            }
            self.process_pending(out)?;
        }
        // Whole chunks straight from the caller's slice: no copy of long buffers.
        let mut chunks = input.chunks_exact(self.chunk);
        for chunk in &mut chunks {
            self.process(chunk, out)?;
        }
        self.pending.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Feeds silence until the output reaches its exact expected length, then restarts.
    fn flush(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let target = expected_len(self.taken, self.from_hz, self.to_hz);
        let start_len = out.len();
        // What is missing is at most the filter's lookahead plus the padding and one chunk, each
        // chunk adding at least one output; the bound only guards against a logic error.
        let mut rounds = 0;
        while self.given < target && rounds < 4 * SINC_LEN + 2 * MAX_RATIO as usize {
            let padded = self.pending.len().max(self.chunk);
            self.pending.resize(padded, 0.0);
            self.process_pending(out)?;
            rounds += 1;
        }
        let excess = usize::try_from(self.given.saturating_sub(target)).unwrap_or(usize::MAX);
        out.truncate(out.len() - excess.min(out.len() - start_len));
        self.restart();
        Ok(())
    }

    /// Processes the first chunk of `pending` and removes it.
    fn process_pending(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let mut pending = std::mem::take(&mut self.pending);
        let done = self.process(&pending[..self.chunk], out);
        pending.drain(..self.chunk);
        self.pending = pending;
        done
    }

    fn process(&mut self, chunk: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let (_, produced) = self.inner.process_into_buffer(&[chunk], &mut self.out_buf, None)?;
        let fresh = &self.out_buf[0][..produced];
        let dropped = self.to_skip.min(fresh.len());
        self.to_skip -= dropped;
        out.extend_from_slice(&fresh[dropped..]);
        self.given += (fresh.len() - dropped) as u64;
        Ok(())
    }

    /// For the stream API, which cannot fail once built: rubato only errors on buffer sizes,
    /// and those are fixed by construction here.
    fn push_infallible(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if let Err(e) = self.push(input, out) {
            unreachable!("rubato rejected buffers sized by its own allocator: {e}");
        }
    }

    fn flush_infallible(&mut self, out: &mut Vec<f32>) {
        if let Err(e) = self.flush(out) {
            unreachable!("rubato rejected buffers sized by its own allocator: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn tone(freq: f64, amplitude: f64, rate: u32, secs: f64) -> Vec<f32> {
        let n = (secs * f64::from(rate)).round() as usize;
        (0..n).map(|i| (amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32).collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    /// Goertzel power at `freq`, normalised so a full-length sine of amplitude `a` gives `a`.
    fn amplitude_at(x: &[f32], freq: f64, rate: u32) -> f64 {
        let w = 2.0 * PI * freq / f64::from(rate);
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in x {
            let s0 = f64::from(v) + 2.0 * w.cos() * s1 - s2;
            (s2, s1) = (s1, s0);
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() * 2.0 / x.len() as f64
    }

    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count()
    }

    #[test]
    fn sine_keeps_frequency_amplitude_and_length() {
        for from in [8000, 11025, 22050, 24000, 44100, 48000] {
            let input = tone(440.0, 0.5, from, 2.0);
            let out = resample(&input, from, 16000).expect("resamples");
            assert_eq!(out.len(), (input.len() as f64 * 16000.0 / f64::from(from)).round() as usize, "{from} Hz");
            // 440 Hz over 2 s crosses zero 1760 times; the edges are skipped (filter run-in).
            let body = &out[800..out.len() - 800];
            let seconds = body.len() as f64 / 16000.0;
            let crossings = zero_crossings(body) as f64;
            assert!((crossings / seconds / 2.0 - 440.0).abs() < 2.0, "{from} Hz: {crossings} crossings");
            let rms_ratio = rms(body) / (0.5 / 2f64.sqrt());
            assert!((rms_ratio - 1.0).abs() < 0.05, "{from} Hz: RMS ratio {rms_ratio}");
            assert!((amplitude_at(body, 440.0, 16000) - 0.5).abs() < 0.01, "{from} Hz");
            assert!(amplitude_at(body, 1000.0, 16000) < 0.01, "{from} Hz: energy off the tone");
        }
    }

    #[test]
    fn click_stays_where_it_was() {
        let pairs = [(8000, 16000), (16000, 8000), (22050, 16000), (44100, 16000), (48000, 16000), (16000, 48000)];
        for (from, to) in pairs {
            let mut input = vec![0.0f32; from as usize]; // 1 s
            input[from as usize / 2] = 1.0; // at 0.5 s
            let out = resample(&input, from, to).expect("resamples");
            let peak = out.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).map_or(0, |p| p.0);
            let error_secs = (peak as f64 / f64::from(to) - 0.5).abs();
            // Far tighter than the 1 ms that matters: at most one output sample.
            assert!(error_secs <= 1.0 / f64::from(to), "{from}->{to}: peak at {peak} ({error_secs} s off)");
            let mut stream = StreamResampler::new(from, to).expect("builds");
            let mut streamed = Vec::new();
            for frame in input.chunks(from as usize / 50) {
                stream.push(frame, &mut streamed);
            }
            stream.flush(&mut streamed);
            let peak = streamed.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).map_or(0, |p| p.0);
            assert!((peak as f64 / f64::from(to) - 0.5).abs() <= 1.0 / f64::from(to), "stream {from}->{to}");
        }
    }

    /// Speech-band test signal: a few tones and their sum, well inside both filters' passband.
    fn speechlike(rate: u32, secs: f64) -> Vec<f32> {
        let parts = [tone(220.0, 0.3, rate, secs), tone(1230.0, 0.2, rate, secs), tone(3100.0, 0.1, rate, secs)];
        (0..parts[0].len()).map(|i| parts.iter().map(|p| p[i]).sum()).collect()
    }

    #[test]
    fn stream_matches_whole_buffer_for_any_frame_sizes() {
        for (from, to) in [(8000, 16000), (22050, 16000), (44100, 16000), (48000, 16000), (16000, 8000)] {
            let input = speechlike(from, 1.5);
            let whole = resample(&input, from, to).expect("resamples");
            let mut stream = StreamResampler::new(from, to).expect("builds");
            let mut streamed = Vec::new();
            let sizes = [from as usize / 100, 7, from as usize / 50, 1, 333];
            let mut rest = &input[..];
            for size in sizes.iter().cycle() {
                let (frame, tail) = rest.split_at((*size).min(rest.len()));
                stream.push(frame, &mut streamed);
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
            stream.flush(&mut streamed);
            assert_eq!(streamed.len(), whole.len(), "{from}->{to}");
            // Same filter, same alignment: only float rounding may differ (positions are summed in
            // different chunk sizes).
            let worst = whole.iter().zip(&streamed).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst < 1e-4, "{from}->{to}: stream differs from whole buffer by {worst}");
        }
    }

    #[test]
    fn stream_output_is_prompt_and_restarts_after_flush() {
        let mut stream = StreamResampler::new(8000, 16000).expect("builds");
        let (frame, mut out) = (speechlike(8000, 0.02), Vec::new()); // one 20 ms frame
        stream.push(&frame, &mut out);
        stream.push(&frame, &mut out);
        // 40 ms in (640 samples at 16 kHz); held back: at most one 10 ms chunk (160) plus the
        // filter's lookahead of just over 128 input samples (~260).
        assert!(out.len() >= 640 - 160 - 270, "only {} samples out", out.len());
        stream.flush(&mut out);
        assert_eq!(out.len(), 640);
        let mut again = Vec::new();
        stream.push(&frame, &mut again);
        stream.push(&frame, &mut again);
        stream.flush(&mut again);
        assert_eq!(again, out, "a flushed stream starts afresh");
    }

    #[test]
    fn equal_rates_pass_through_and_bad_rates_are_refused() {
        let input = speechlike(16000, 0.1);
        assert_eq!(resample(&input, 16000, 16000).expect("passes"), input);
        let mut stream = StreamResampler::new(16000, 16000).expect("builds");
        let mut out = Vec::new();
        stream.push(&input, &mut out);
        stream.flush(&mut out);
        assert_eq!(out, input);
        assert!(resample(&[], 8000, 16000).expect("empty is fine").is_empty());
        assert!(matches!(resample(&input, 0, 16000), Err(ResampleError::ZeroRate { .. })));
        assert!(matches!(StreamResampler::new(16000, 0), Err(ResampleError::ZeroRate { .. })));
        assert!(matches!(resample(&input, 1, 1_000_000), Err(ResampleError::RatioOutOfRange { .. })));
    }

    #[test]
    fn extreme_rates_and_tiny_inputs_keep_their_length() {
        // Odd and extreme pairs: one-sample chunks, padding longer than a chunk, 256:1 both ways.
        for (from, to) in [(100, 1), (1, 256), (25_600, 100), (7, 1792), (44_100, 8000), (8000, 44_100)] {
            for len in [0usize, 1, 2, 5, 300, 1001] {
                let input: Vec<f32> = (0..len).map(|i| ((i % 7) as f32 - 3.0) / 4.0).collect();
                let expected = expected_len(len as u64, from, to) as usize;
                assert_eq!(resample(&input, from, to).expect("resamples").len(), expected, "{from}->{to} x{len}");
                let (mut stream, mut out) = (StreamResampler::new(from, to).expect("builds"), Vec::new());
                for frame in input.chunks(3) {
                    stream.push(frame, &mut out);
                }
                stream.flush(&mut out);
                assert_eq!(out.len(), expected, "stream {from}->{to} x{len}");
            }
        }
    }
}
