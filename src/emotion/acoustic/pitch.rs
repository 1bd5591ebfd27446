//! F0 by YIN (de Cheveigné & Kawahara, 2002) on the signal decimated to 8 kHz: telephone speech
//! carries nothing above 4 kHz anyway, and the difference function costs a quarter as much.

use realfft::RealFftPlanner;

/// Analysis rate of the pitch tracker.
pub const RATE: u32 = 8000;
/// 10 ms hop at 8 kHz, aligned with the 16 kHz loudness frames (160 samples).
pub const HOP: usize = 80;
/// Integration window: 32 ms holds two periods of a 60 Hz voice.
const WINDOW: usize = 256;
const MIN_HZ: f32 = 60.0;
const MAX_HZ: f32 = 500.0;
/// First dip of the normalised difference below this is taken as the period (YIN's threshold).
const THRESHOLD: f32 = 0.15;
/// A frame whose best dip stays above this is unvoiced.
const VOICED_MAX: f32 = 0.35;

/// One frame's pitch estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchFrame {
    /// Period in seconds, `None` when unvoiced.
    pub period: Option<f32>,
}

impl PitchFrame {
    pub fn hz(&self) -> Option<f32> {
        self.period.map(|p| 1.0 / p)
    }
}

/// Halves a 16 kHz signal to 8 kHz through a windowed-sinc low-pass at 3.6 kHz.
pub fn decimate_16k(samples: &[f32]) -> Vec<f32> {
    const TAPS: usize = 31;
    let cutoff = 3600.0 / 16000.0;
    let centre = (TAPS / 2) as f32;
    let mut kernel: Vec<f32> = (0..TAPS)
        .map(|i| {
            let t = i as f32 - centre;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f32::consts::PI * cutoff * t).sin() / (std::f32::consts::PI * t)
            };
            let hamming = 0.54 - 0.46 * (2.0 * std::f32::consts::PI * i as f32 / (TAPS - 1) as f32).cos();
            sinc * hamming
        })
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    (0..samples.len() / 2)
        .map(|n| {
            let at = 2 * n;
            kernel
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let j = at as isize + i as isize - centre as isize;
                    if j < 0 || j as usize >= samples.len() { 0.0 } else { k * samples[j as usize] }
                })
                .sum()
        })
        .collect()
}

/// YIN over an 8 kHz signal, one frame per 10 ms hop. The difference function
/// `d(τ) = Σ (x_j − x_{j+τ})²` is computed as `e(0) + e(τ) − 2·r(τ)`: window energies from
/// running sums and the cross-correlation `r` by FFT, a tenth of the direct sum's work.
pub fn track(signal: &[f32]) -> Vec<PitchFrame> {
    let tau_min = (RATE as f32 / MAX_HZ) as usize;
    let tau_max = (RATE as f32 / MIN_HZ).ceil() as usize;
    let span = WINDOW + tau_max;
    let size = (WINDOW + span).next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let (forward, inverse) = (planner.plan_fft_forward(size), planner.plan_fft_inverse(size));
    let (mut head, mut whole) = (forward.make_input_vec(), forward.make_input_vec());
    let (mut head_spec, mut whole_spec) = (forward.make_output_vec(), forward.make_output_vec());
    let mut correlation = inverse.make_output_vec();
    // Running sums of squares (f64: long signals would lose the small windows' precision).
    let mut squares = Vec::with_capacity(signal.len() + 1);
    squares.push(0.0f64);
    for x in signal {
        squares.push(squares[squares.len() - 1] + f64::from(x * x));
    }
    let energy = |from: usize| (squares[from + WINDOW] - squares[from]) as f32;
    let mut diff = vec![0.0f32; tau_max + 1];
    let frames = signal.len() / HOP;
    (0..frames)
        .map(|f| {
            let start = f * HOP;
            if start + span > signal.len() {
                return PitchFrame { period: None };
            }
            head.fill(0.0);
            head[..WINDOW].copy_from_slice(&signal[start..start + WINDOW]);
            whole.fill(0.0);
            whole[..span].copy_from_slice(&signal[start..start + span]);
            // Buffers come from the plans, so their lengths always match.
            forward.process(&mut head, &mut head_spec).expect("planned buffer sizes");
            forward.process(&mut whole, &mut whole_spec).expect("planned buffer sizes");
            for (w, h) in whole_spec.iter_mut().zip(&head_spec) {
                *w *= h.conj();
            }
            // The spectrum of a real signal has real DC and Nyquist bins; the inverse insists.
            for bin in [0, whole_spec.len() - 1] {
                whole_spec[bin].im = 0.0;
            }
            inverse.process(&mut whole_spec, &mut correlation).expect("planned buffer sizes");
            let e0 = energy(start);
            for (tau, d) in diff.iter_mut().enumerate().skip(1) {
                let r = correlation[tau] / size as f32;
                *d = (e0 + energy(start + tau) - 2.0 * r).max(0.0);
            }
            PitchFrame { period: best_lag(&diff, tau_min, tau_max).map(|tau| tau / RATE as f32) }
        })
        .collect()
}

/// YIN steps 3–5 on a difference function: cumulative-mean normalisation, absolute threshold,
/// parabolic interpolation. Returns the lag in samples, `None` when unvoiced.
fn best_lag(diff: &[f32], tau_min: usize, tau_max: usize) -> Option<f32> {
    let mut cmnd = vec![1.0f32; tau_max + 1];
    let mut running = 0.0f32;
    for tau in 1..=tau_max {
        running += diff[tau];
        cmnd[tau] = if running > 0.0 { diff[tau] * tau as f32 / running } else { 1.0 };
    }
    let mut chosen = None;
    let mut tau = tau_min;
    while tau <= tau_max {
        if cmnd[tau] < THRESHOLD {
            while tau < tau_max && cmnd[tau + 1] < cmnd[tau] {
                tau += 1;
            }
            chosen = Some(tau);
            break;
        }
        tau += 1;
    }
    let tau =
        chosen.unwrap_or_else(|| (tau_min..=tau_max).min_by(|a, b| cmnd[*a].total_cmp(&cmnd[*b])).unwrap_or(tau_min));
    if cmnd[tau] > VOICED_MAX {
        return None;
    }
    // Parabola through the dip and its neighbours refines the lag below one sample.
    if tau > 1 && tau < tau_max {
        let (a, b, c) = (cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]);
        let denom = a - 2.0 * b + c;
        if denom.abs() > 1e-9 {
            let shift = 0.5 * (a - c) / denom;
            return Some(tau as f32 + shift.clamp(-0.5, 0.5));
        }
    }
    Some(tau as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f32, rate: u32) -> Vec<f32> {
        let n = (seconds * rate as f32) as usize;
        (0..n).map(|i| 0.3 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin()).collect()
    }

    fn median_hz(frames: &[PitchFrame]) -> f32 {
        let mut hz: Vec<f32> = frames.iter().filter_map(PitchFrame::hz).collect();
        assert!(hz.len() > frames.len() / 2, "mostly voiced: {} of {}", hz.len(), frames.len());
        hz.sort_by(f32::total_cmp);
        hz[hz.len() / 2]
    }

    #[test]
    fn tones_have_their_own_frequency_as_f0() {
        for hz in [80.0, 200.0, 310.0, 450.0] {
            let f0 = median_hz(&track(&decimate_16k(&tone(hz, 0.5, 16000))));
            assert!((f0 - hz).abs() < hz * 0.01, "{hz} Hz tone tracked as {f0}");
        }
    }

    /// A voice-like pulse train (rich in harmonics) is tracked at its fundamental, not an octave off.
    #[test]
    fn a_harmonic_rich_voice_is_tracked_at_its_fundamental() {
        let rate = 16000.0;
        let f0 = 140.0;
        let signal: Vec<f32> = (0..8000)
            .map(|i| {
                let t = i as f32 / rate;
                (1..12).map(|k| 0.2 / k as f32 * (2.0 * std::f32::consts::PI * f0 * k as f32 * t).sin()).sum()
            })
            .collect();
        let tracked = median_hz(&track(&decimate_16k(&signal)));
        assert!((tracked - f0).abs() < 2.0, "{tracked}");
    }

    #[test]
    fn noise_and_silence_are_unvoiced() {
        let silence = vec![0.0f32; 4000];
        assert!(track(&silence).iter().all(|f| f.period.is_none()));
        let mut seed = 7u32;
        let noise: Vec<f32> = (0..4000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let voiced = track(&noise).iter().filter(|f| f.period.is_some()).count();
        assert!(voiced * 10 < track(&noise).len(), "{voiced} noise frames voiced");
    }
}
