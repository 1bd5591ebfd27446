//! Packet loss concealment for 8 kHz speech in 20 ms frames, after ITU-T G.711 Appendix I in spirit.
//!
//! Speech is locally periodic, so a lost frame is filled by repeating the last pitch period heard:
//! - on the first lost frame the pitch (5–15 ms) is estimated by normalised autocorrelation over
//!   the last 20 ms against the history before it;
//! - the last period is copied, its tail blended into the samples that precede its start, so the
//!   repetition loops without a click;
//! - the first 10 ms play at full level, then the level falls 20 % per 10 ms, silent after 60 ms
//!   (a long gap becomes silence rather than a buzz);
//! - the first good frame after a loss is cross-faded from the continued concealment over 4 ms,
//!   4 ms more per further 10 ms lost (at most 10 ms).
//!
//! Sans-IO and infallible: frames of any length are accepted; an empty history conceals as silence.
//! Samples are i16, or f32 in [-1, 1) (scaled by 32768), kept internally as f32 at i16 scale.

/// Samples in a 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Audio remembered for pitch estimation: 48.75 ms, as in G.711 Appendix I.
const HISTORY_LEN: usize = 390;
/// Pitch search range: 5 ms (200 Hz) to 15 ms (66.7 Hz).
const PITCH_MIN: usize = 40;
const PITCH_MAX: usize = 120;
/// Length of the most recent audio matched against earlier audio to find the pitch.
const CORRELATION_WINDOW: usize = 160;
/// 10 ms: full-level concealment, the step of the fade, and the step of the recovery cross-fade.
const TEN_MS: usize = 80;
/// Recovery cross-fade: 4 ms, plus 4 ms per further 10 ms lost, at most 10 ms.
const RECOVERY_STEP: usize = 32;
const RECOVERY_MAX: usize = 80;

#[derive(Debug, Clone, Default)]
pub struct Plc {
    /// The last `HISTORY_LEN` samples played (received or concealed), oldest first.
    history: Vec<f32>,
    /// One pitch period to repeat while concealing; empty when not concealing or nothing was heard.
    period: Vec<f32>,
    /// Position in `period` of the next concealed sample.
    phase: usize,
    /// Samples concealed since the loss began; 0 when not concealing.
    concealed: usize,
}

impl Plc {
    pub fn new() -> Self {
        Self::default()
    }

    /// True between a `conceal` and the next good frame.
    pub fn is_concealing(&self) -> bool {
        self.concealed > 0
    }

    /// Call with every frame that did arrive, decoded, before playing it. After a loss the start of
    /// `frame` is cross-faded from the concealment, in place.
    pub fn good_frame(&mut self, frame: &mut [i16]) {
        let mut samples: Vec<f32> = frame.iter().map(|&s| f32::from(s)).collect();
        self.good_frame_scaled(&mut samples);
        for (out, sample) in frame.iter_mut().zip(samples) {
            *out = to_i16(sample);
        }
    }

    /// As [`Plc::good_frame`], for f32 samples in [-1, 1).
    pub fn good_frame_f32(&mut self, frame: &mut [f32]) {
        let mut samples: Vec<f32> = frame.iter().map(|&s| sanitize(s * 32768.0)).collect();
        self.good_frame_scaled(&mut samples);
        for (out, sample) in frame.iter_mut().zip(samples) {
            *out = sample / 32768.0;
        }
    }

    /// A 20 ms frame to play in place of a lost one.
    pub fn conceal(&mut self) -> [i16; FRAME_SAMPLES] {
        let mut out = [0.0; FRAME_SAMPLES];
        self.conceal_scaled(&mut out);
        out.map(to_i16)
    }

    /// As [`Plc::conceal`], for f32 samples in [-1, 1).
    pub fn conceal_f32(&mut self) -> [f32; FRAME_SAMPLES] {
        let mut out = [0.0; FRAME_SAMPLES];
        self.conceal_scaled(&mut out);
        out.map(|sample| to_i16(sample) as f32 / 32768.0)
    }

    fn good_frame_scaled(&mut self, frame: &mut [f32]) {
        if self.concealed > 0 {
            let extra_ten_ms = (self.concealed - 1) / TEN_MS;
            let len = (RECOVERY_STEP * (1 + extra_ten_ms)).min(RECOVERY_MAX).min(frame.len());
            for (i, sample) in frame.iter_mut().take(len).enumerate() {
                let weight = (i + 1) as f32 / (len + 1) as f32;
                *sample = self.next_concealed() * (1.0 - weight) + *sample * weight;
            }
            self.concealed = 0;
            self.period.clear();
            self.phase = 0;
        }
        self.remember(frame);
    }

    fn conceal_scaled(&mut self, out: &mut [f32]) {
        if self.concealed == 0 {
            self.period = repetition_period(&self.history);
            self.phase = 0;
        }
        for sample in out.iter_mut() {
            *sample = self.next_concealed();
        }
        self.remember(out);
    }

    /// The next sample of the faded repetition; silence when there is nothing to repeat.
    fn next_concealed(&mut self) -> f32 {
        let Some(&sample) = self.period.get(self.phase) else {
            self.concealed += 1;
            return 0.0;
        };
        let gain = if self.concealed < TEN_MS {
            1.0
        } else {
            (1.0 - 0.2 * (self.concealed - TEN_MS) as f32 / TEN_MS as f32).max(0.0)
        };
        self.phase = (self.phase + 1) % self.period.len();
        self.concealed += 1;
        sample * gain
    }

    fn remember(&mut self, samples: &[f32]) {
        self.history.extend_from_slice(samples);
        let excess = self.history.len().saturating_sub(HISTORY_LEN);
        self.history.drain(..excess);
    }
}

/// The last pitch period of `history`, its tail blended into the samples before its start so that
/// repeating it is smooth. Empty if there is no history.
fn repetition_period(history: &[f32]) -> Vec<f32> {
    let n = history.len();
    let pitch = estimate_pitch(history).unwrap_or(n.min(PITCH_MAX));
    let mut period = history[n - pitch..].to_vec();
    let blend = pitch / 4;
    if n >= pitch + blend {
        let before_start = &history[n - pitch - blend..n - pitch];
        for (i, (sample, &earlier)) in period[pitch - blend..].iter_mut().zip(before_start).enumerate() {
            let weight = (i + 1) as f32 / (blend + 1) as f32;
            *sample = *sample * (1.0 - weight) + earlier * weight;
        }
    }
    period
}

/// The lag in `PITCH_MIN..=PITCH_MAX` at which the last `CORRELATION_WINDOW` samples best match
/// the samples before them (normalised cross-correlation); None with too little or silent history.
fn estimate_pitch(history: &[f32]) -> Option<usize> {
    let n = history.len();
    let window = CORRELATION_WINDOW.min(n.checked_sub(PITCH_MIN)?);
    let max_lag = PITCH_MAX.min(n - window);
    if window < PITCH_MIN || max_lag < PITCH_MIN {
        return None;
    }
    let recent = &history[n - window..];
    let mut best: Option<(usize, f32)> = None;
    for lag in PITCH_MIN..=max_lag {
        let earlier = &history[n - window - lag..n - lag];
        let energy: f32 = earlier.iter().map(|x| x * x).sum();
        if energy <= f32::EPSILON {
            continue;
        }
        let score = recent.iter().zip(earlier).map(|(a, b)| a * b).sum::<f32>() / energy.sqrt();
        if best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((lag, score));
        }
    }
    best.map(|(lag, _)| lag)
}

/// Rounds and saturates (NaN becomes 0).
fn to_i16(sample: f32) -> i16 {
    sample.round() as i16
}

/// Keeps NaN and infinities out of the history, where they would spread into every later frame.
fn sanitize(sample: f32) -> f32 {
    if sample.is_finite() { sample.clamp(-32768.0, 32767.0) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::SplitMix64;

    /// A voiced-speech stand-in: 100 Hz fundamental (80-sample period) with two harmonics.
    fn voiced(start: usize, len: usize) -> Vec<i16> {
        (start..start + len)
            .map(|n| {
                let t = std::f32::consts::TAU * n as f32 / 80.0;
                (8000.0 * t.sin() + 3000.0 * (2.0 * t).sin() + 1000.0 * (3.0 * t + 0.5).sin()).round() as i16
            })
            .collect()
    }

    fn rms(samples: &[i16]) -> f32 {
        (samples.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / samples.len().max(1) as f32).sqrt()
    }

    fn primed(frames: usize) -> Plc {
        let mut plc = Plc::new();
        for i in 0..frames {
            plc.good_frame(&mut voiced(i * FRAME_SAMPLES, FRAME_SAMPLES));
        }
        plc
    }

    #[test]
    fn finds_the_pitch_period() {
        for period in [40usize, 57, 80, 119] {
            let history: Vec<f32> =
                (0..HISTORY_LEN).map(|n| (std::f32::consts::TAU * n as f32 / period as f32).sin() * 5000.0).collect();
            let found = estimate_pitch(&history).unwrap();
            assert!(found == period || (period < 60 && found.is_multiple_of(period)), "period {period}: found {found}");
        }
        assert_eq!(estimate_pitch(&[0.0; HISTORY_LEN]), None);
        assert_eq!(estimate_pitch(&[1.0; 79]), None, "too little history to compare");
        assert_eq!(estimate_pitch(&[1.0; 80]), Some(PITCH_MIN));
    }

    #[test]
    fn the_first_lost_frame_continues_the_waveform() {
        let mut plc = primed(3);
        let concealed = plc.conceal();
        let truth = voiced(3 * FRAME_SAMPLES, FRAME_SAMPLES);
        // Full level for 10 ms, and close to what was lost while the signal is periodic.
        let error: Vec<i16> = concealed[..TEN_MS].iter().zip(&truth).map(|(a, b)| a - b).collect();
        assert!(rms(&error) < 0.05 * rms(&truth), "error {} vs signal {}", rms(&error), rms(&truth));
        assert!(plc.is_concealing());
    }

    #[test]
    fn a_long_loss_fades_to_silence() {
        let mut plc = primed(3);
        let levels: Vec<f32> = (0..5).map(|_| rms(&plc.conceal())).collect();
        let reference = rms(&voiced(0, FRAME_SAMPLES));
        assert!(levels[0] > 0.8 * reference, "{levels:?}");
        assert!(levels[1] < levels[0] && levels[2] < levels[1], "{levels:?}");
        assert_eq!(levels[3], 0.0, "silent after 60 ms: {levels:?}");
        assert_eq!(levels[4], 0.0);
    }

    #[test]
    fn recovery_cross_fades_without_a_click() {
        let mut plc = primed(3);
        let concealed = plc.conceal();
        let mut good = voiced(4 * FRAME_SAMPLES, FRAME_SAMPLES);
        let untouched = good.clone();
        plc.good_frame(&mut good);
        assert!(!plc.is_concealing());
        let jump = (i32::from(good[0]) - i32::from(concealed[FRAME_SAMPLES - 1])).abs();
        let raw_jump = (i32::from(untouched[0]) - i32::from(concealed[FRAME_SAMPLES - 1])).abs();
        assert!(jump <= raw_jump, "cross-fade made the boundary worse: {jump} > {raw_jump}");
        // 20 ms lost: the cross-fade covers 8 ms; the rest of the frame is untouched.
        assert_eq!(good[64..], untouched[64..]);
        assert_ne!(good[..64], untouched[..64]);
    }

    #[test]
    fn recovery_after_a_long_loss_fades_in_from_silence() {
        let mut plc = primed(3);
        for _ in 0..5 {
            plc.conceal();
        }
        let mut good = vec![10_000i16; FRAME_SAMPLES];
        plc.good_frame(&mut good);
        assert!(good[0] < 1000, "starts near silence: {}", good[0]);
        assert!(good[..RECOVERY_MAX].windows(2).all(|w| w[0] <= w[1]), "ramps up");
        assert_eq!(good[RECOVERY_MAX..], [10_000; FRAME_SAMPLES - RECOVERY_MAX]);
    }

    #[test]
    fn nothing_heard_conceals_as_silence() {
        let mut plc = Plc::new();
        assert_eq!(plc.conceal(), [0; FRAME_SAMPLES]);
        let mut quiet = primed(0);
        quiet.good_frame(&mut [0; FRAME_SAMPLES]);
        assert_eq!(quiet.conceal(), [0; FRAME_SAMPLES]);
    }

    #[test]
    fn f32_matches_i16() {
        let (mut a, mut b) = (primed(2), Plc::new());
        for i in 0..2 {
            let mut frame: Vec<f32> =
                voiced(i * FRAME_SAMPLES, FRAME_SAMPLES).iter().map(|&s| f32::from(s) / 32768.0).collect();
            b.good_frame_f32(&mut frame);
        }
        let (x, y) = (a.conceal(), b.conceal_f32());
        for (int, float) in x.iter().zip(y) {
            assert!((f32::from(*int) / 32768.0 - float).abs() < 1.0 / 16384.0);
        }
        let mut bad = [f32::NAN, f32::INFINITY, -7.0, 0.5];
        b.good_frame_f32(&mut bad);
        assert!(bad.iter().all(|s| s.is_finite() && (-1.0..1.0).contains(s)), "{bad:?}");
    }

    #[test]
    fn random_frames_and_losses_never_panic() {
        let mut rng = SplitMix64::new(711);
        let mut plc = Plc::new();
        for _ in 0..3000 {
            if rng.below(3) == 0 {
                let out = plc.conceal();
                assert_eq!(out.len(), FRAME_SAMPLES);
            } else {
                let len = rng.below(500) as usize;
                let mut frame: Vec<i16> = (0..len).map(|_| rng.next_u64() as i16).collect();
                plc.good_frame(&mut frame);
                assert_eq!(frame.len(), len);
            }
            assert!(plc.history.len() <= HISTORY_LEN);
        }
    }
}
