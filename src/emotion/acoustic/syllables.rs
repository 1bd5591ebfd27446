//! Syllable nuclei (after de Jong & Wempe, 2009): peaks of the smoothed level contour in voiced
//! speech, each separated from the next by a dip of at least 2 dB. Used for speaking rate when
//! no word timings are at hand, and always for the trained model, so that training (German
//! clips, no transcripts) and live calls measure rate the same way.

use super::frames::Frame;

const MIN_DIP_DB: f32 = 2.0;

pub fn count(frames: &[Frame], voiced: &[bool]) -> usize {
    // 50 ms moving average: syllables are 100–300 ms apart, frame noise is 10 ms.
    let smoothed: Vec<f32> = (0..frames.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(2), (i + 3).min(frames.len()));
            frames[lo..hi].iter().map(|f| f.db).sum::<f32>() / (hi - lo) as f32
        })
        .collect();
    let mut peaks = 0;
    // The last accepted peak's level and the lowest level since it.
    let mut state: Option<(f32, f32)> = None;
    for i in 1..smoothed.len().saturating_sub(1) {
        let level = smoothed[i];
        if let Some((_, dip)) = state.as_mut() {
            *dip = dip.min(level);
        }
        let is_peak = voiced[i] && level >= smoothed[i - 1] && level > smoothed[i + 1];
        if !is_peak {
            continue;
        }
        match state {
            None => {
                peaks += 1;
                state = Some((level, level));
            }
            Some((last, dip)) if last - dip >= MIN_DIP_DB && level - dip >= MIN_DIP_DB => {
                peaks += 1;
                state = Some((level, level));
            }
            // A higher peak without a dip between is the same syllable, peaking later.
            Some((last, _)) if level > last => state = Some((level, level)),
            _ => {}
        }
    }
    peaks
}
