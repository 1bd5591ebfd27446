//! Feature extractors on synthetic signals whose answers are known.

use super::*;

const RATE: f32 = 16000.0;

/// A voice-like sound: harmonics of a (possibly gliding) F0, shaped into syllables by a
/// raised-cosine envelope at `syllables_per_s`.
fn voice(f0_start: f32, f0_end: f32, seconds: f32, amplitude: f32, syllables_per_s: f32) -> Vec<f32> {
    let n = (seconds * RATE) as usize;
    let mut phase = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE;
            let f0 = f0_start + (f0_end - f0_start) * t / seconds;
            phase += 2.0 * std::f32::consts::PI * f0 / RATE;
            let tone: f32 = (1..8).map(|k| (k as f32 * phase).sin() / k as f32).sum();
            let envelope = if syllables_per_s > 0.0 {
                0.55 - 0.45 * (2.0 * std::f32::consts::PI * syllables_per_s * t).cos()
            } else {
                1.0
            };
            amplitude * 0.3 * envelope * tone
        })
        .collect()
}

fn feature(f: &Features, name: &str) -> f32 {
    f.get(name).expect("known feature")
}

#[test]
fn a_200_hz_voice_has_f0_200() {
    let f = extract(&voice(200.0, 200.0, 1.0, 1.0, 0.0)).expect("voiced");
    // 200 Hz is 12 semitones above the 100 Hz reference.
    assert!((feature(&f, "f0_level_st") - 12.0).abs() < 0.2, "{f:?}");
    assert!(feature(&f, "f0_range_st") < 0.3 && feature(&f, "jitter") < 0.01, "{f:?}");
    assert!(feature(&f, "voiced_ratio") > 0.9 && feature(&f, "pause_ratio") < 0.05, "{f:?}");
}

#[test]
fn louder_is_louder_and_nothing_else_changes() {
    let quiet = extract(&voice(150.0, 150.0, 1.0, 0.1, 4.0)).expect("voiced");
    let loud = extract(&voice(150.0, 150.0, 1.0, 1.0, 4.0)).expect("voiced");
    let gain = feature(&loud, "loudness_db") - feature(&quiet, "loudness_db");
    assert!((gain - 20.0).abs() < 0.5, "{gain}");
    for name in ["f0_level_st", "hf_balance_db", "syllable_rate", "loudness_sd_db"] {
        assert!((feature(&loud, name) - feature(&quiet, name)).abs() < 0.3, "{name}: {quiet:?} {loud:?}");
    }
}

#[test]
fn a_rising_voice_has_a_positive_slope_and_a_range() {
    // 120 → 240 Hz over 1 s: one octave, 12 semitones per second.
    let f = extract(&voice(120.0, 240.0, 1.0, 1.0, 0.0)).expect("voiced");
    assert!((feature(&f, "f0_slope_st_per_s") - 12.0).abs() < 1.5, "{f:?}");
    assert!((feature(&f, "f0_range_st") - 9.6).abs() < 1.5, "{f:?}");
    let falling = extract(&voice(240.0, 120.0, 1.0, 1.0, 0.0)).expect("voiced");
    assert!(feature(&falling, "f0_slope_st_per_s") < -10.0, "{falling:?}");
}

#[test]
fn syllable_rate_follows_the_rhythm() {
    for rate in [3.0, 5.0] {
        let f = extract(&voice(130.0, 130.0, 2.0, 1.0, rate)).expect("voiced");
        assert!((feature(&f, "syllable_rate") - rate).abs() < 1.0, "{rate}/s: {f:?}");
    }
}

#[test]
fn a_brighter_voice_has_more_high_band_energy() {
    // Same F0; the bright one adds strong harmonics above 1 kHz, as raised vocal effort does.
    let dull = voice(150.0, 150.0, 1.0, 1.0, 0.0);
    let bright: Vec<f32> = dull
        .iter()
        .enumerate()
        .map(|(i, s)| s + 0.1 * (2.0 * std::f32::consts::PI * 1800.0 * i as f32 / RATE).sin())
        .collect();
    let (d, b) = (extract(&dull).expect("voiced"), extract(&bright).expect("voiced"));
    assert!(feature(&b, "hf_balance_db") > feature(&d, "hf_balance_db") + 6.0, "{d:?} {b:?}");
    assert!(feature(&b, "centroid_khz") > feature(&d, "centroid_khz"), "{d:?} {b:?}");
}

#[test]
fn pauses_inside_speech_are_counted() {
    let mut signal = voice(150.0, 150.0, 0.5, 1.0, 0.0);
    signal.extend(vec![0.0; 8000]);
    signal.extend(voice(150.0, 150.0, 0.5, 1.0, 0.0));
    let f = extract(&signal).expect("voiced");
    assert!((feature(&f, "pause_ratio") - 0.33).abs() < 0.05, "{f:?}");
}

#[test]
fn silence_and_clicks_carry_no_features() {
    assert!(extract(&[]).is_none());
    assert!(extract(&vec![0.0; 16000]).is_none());
    let mut click = vec![0.0; 16000];
    click[8000] = 0.9;
    assert!(extract(&click).is_none());
}
