//! Short-time analysis at 16 kHz: 25 ms Hann windows every 10 ms, each giving its level in dBFS
//! and its energy in two telephone-band regions.

use realfft::RealFftPlanner;

pub const RATE: u32 = 16000;
pub const HOP: usize = 160;
const WINDOW: usize = 400;
const FFT: usize = 512;
/// Bands inside 300–3400 Hz, so that wideband (WebRTC) and narrowband (PSTN) callers compare.
const LOW_BAND: (f32, f32) = (300.0, 1000.0);
const HIGH_BAND: (f32, f32) = (1000.0, 3400.0);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// RMS level in dB re full scale.
    pub db: f32,
    /// Peak absolute sample, for shimmer.
    pub peak: f32,
    pub low_energy: f32,
    pub high_energy: f32,
    /// Power-weighted mean frequency over 300–3400 Hz.
    pub centroid_hz: f32,
}

pub fn analyse(samples: &[f32]) -> Vec<Frame> {
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(FFT);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let hann: Vec<f32> =
        (0..WINDOW).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / WINDOW as f32).cos()).collect();
    let bin_hz = RATE as f32 / FFT as f32;
    let band = |(lo, hi): (f32, f32)| (lo / bin_hz).ceil() as usize..=(hi / bin_hz).floor() as usize;
    let (low, high) = (band(LOW_BAND), band(HIGH_BAND));
    let frames = samples.len().saturating_sub(WINDOW) / HOP + usize::from(samples.len() >= WINDOW);
    (0..frames)
        .map(|f| {
            let x = &samples[f * HOP..f * HOP + WINDOW];
            let power = x.iter().map(|s| s * s).sum::<f32>() / WINDOW as f32;
            let peak = x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            input.fill(0.0);
            for ((dst, s), w) in input.iter_mut().zip(x).zip(&hann) {
                *dst = s * w;
            }
            // The planner's length always matches these buffers.
            fft.process(&mut input, &mut spectrum).expect("buffers sized by the planner");
            let energy = |bins: &std::ops::RangeInclusive<usize>| -> f32 {
                spectrum[bins.clone()].iter().map(|c| c.norm_sqr()).sum()
            };
            let (lo, hi) = (energy(&low), energy(&high));
            let weighted: f32 = (*low.start()..=*high.end()).map(|b| b as f32 * bin_hz * spectrum[b].norm_sqr()).sum();
            Frame {
                db: 10.0 * (power + 1e-10).log10(),
                peak,
                low_energy: lo,
                high_energy: hi,
                centroid_hz: if lo + hi > 0.0 { weighted / (lo + hi) } else { 0.0 },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, amplitude: f32) -> Vec<f32> {
        (0..8000).map(|i| amplitude * (2.0 * std::f32::consts::PI * hz * i as f32 / RATE as f32).sin()).collect()
    }

    #[test]
    fn louder_is_louder_by_the_right_number_of_decibels() {
        let quiet = analyse(&tone(440.0, 0.05));
        let loud = analyse(&tone(440.0, 0.5));
        assert_eq!(quiet.len(), (8000 - WINDOW) / HOP + 1);
        let gain = loud[10].db - quiet[10].db;
        assert!((gain - 20.0).abs() < 0.1, "{gain}");
        // A full-scale sine is -3 dBFS RMS.
        assert!((analyse(&tone(440.0, 1.0))[10].db + 3.01).abs() < 0.1);
    }

    #[test]
    fn band_energy_and_centroid_follow_the_tone() {
        let low = analyse(&tone(500.0, 0.3))[5];
        let high = analyse(&tone(2000.0, 0.3))[5];
        assert!(low.low_energy > 100.0 * low.high_energy);
        assert!(high.high_energy > 100.0 * high.low_energy);
        assert!((low.centroid_hz - 500.0).abs() < 60.0 && (high.centroid_hz - 2000.0).abs() < 60.0);
    }
}
