//! What one utterance decode costs with and without whisper.cpp's word alignment (DTW over
//! alignment heads) and with flash attention, as the live recogniser decodes: `audio_ctx`
//! sized to the clip plus a margin, greedy, no fallback. Median of 6 runs after 2 warm-ups.
//!
//!   cargo run --release --example decode_cost -- MODEL.bin CLIP.wav [MARGIN_FRAMES] [THREADS]
use std::time::Instant;

use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, model, clip, ..] = &args[..] else {
        eprintln!("usage: decode_cost MODEL.bin CLIP.wav [MARGIN_FRAMES] [THREADS]");
        std::process::exit(2);
    };
    let margin: i32 = args.get(3).map_or(192, |m| m.parse().expect("margin: frames"));
    let threads: i32 = args.get(4).map_or(2, |t| t.parse().expect("threads: a number"));
    let pcm = callbot::media::load_for_asr(std::path::Path::new(clip)).expect("a readable audio file");
    let seconds = pcm.len() as f64 / 16_000.0;
    for (aligned, flash) in [(true, false), (false, false), (false, true)] {
        let mut params = WhisperContextParameters::default();
        params.flash_attn(flash);
        if aligned {
            // tiny.en's heads; for another model the figures are only indicative.
            let mode = DtwMode::ModelPreset { model_preset: DtwModelPreset::TinyEn };
            params.dtw_parameters(DtwParameters { mode, ..Default::default() });
        }
        let ctx = WhisperContext::new_with_params(model, params).expect("model loads");
        let mut state = ctx.create_state().expect("state");
        let mut times = Vec::new();
        let mut text = String::new();
        for run in 0..8 {
            let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
            p.set_n_threads(threads);
            p.set_print_progress(false);
            p.set_print_realtime(false);
            p.set_print_timestamps(false);
            p.set_suppress_nst(true);
            p.set_temperature(0.0);
            p.set_temperature_inc(0.0);
            p.set_language(Some("en"));
            p.set_audio_ctx(((seconds * 50.0).ceil() as i32 + margin).min(1500));
            p.set_no_context(true);
            p.set_token_timestamps(aligned);
            let started = Instant::now();
            state.full(p, &pcm).expect("decodes");
            if run >= 2 {
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            text = state.as_iter().map(|s| s.to_str_lossy().map(|t| t.into_owned()).unwrap_or_default()).collect();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "aligned={aligned:<5} flash_attn={flash:<5} median {:4.0} ms  {}",
            times[times.len() / 2],
            text.trim()
        );
    }
}
