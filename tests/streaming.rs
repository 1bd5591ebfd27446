//! The streaming engine on real speech: a recording of several utterances separated by pauses
//! yields one final per utterance, in order, with timestamps where the speech really is.

mod common;
use common::*;

use callbot::asr::Language;
use callbot::asr::engine::{DecodeOptions, Window};
use callbot::asr::offline::{load_model, pool_for, transcribe_streaming};
use callbot::asr::stream::StreamConfig;
use callbot::eval::metrics::word_errors;
use callbot::eval::normalize::normalize;
use callbot::media::load_for_asr;
use callbot::models::ModelsDir;

#[test]
fn one_final_per_utterance_in_order_with_sane_timestamps() {
    let clips = [
        ("en_asr/audio/speechbrain_spk1_snt1.wav", "child almost hurt the small dog"),
        ("en_asr/audio/speechbrain_spk1_snt3.wav", "high level the air is pure"),
        ("en_asr/audio/speechbrain_spk1_snt2.wav", "when you add the figures"),
    ];
    let pause = vec![0.0f32; 24_000]; // 1.5 s
    let mut pcm = pause.clone();
    let mut spans = Vec::new();
    for (file, _) in &clips {
        let clip = load_for_asr(std::path::Path::new(&data(file))).expect("decode clip");
        let start = pcm.len() as u64 * 1000 / 16_000;
        pcm.extend_from_slice(&clip);
        spans.push((start, pcm.len() as u64 * 1000 / 16_000));
        pcm.extend_from_slice(&pause);
    }
    let model = load_model(&ModelsDir::from_env(), Some("tiny.en"), Language::En).expect("tiny.en installed");
    let pool = pool_for(model).unwrap();
    let out = transcribe_streaming(&pool, &pcm, Language::En, &StreamConfig::default(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.utterances.len(), clips.len(), "{:#?}", out.utterances);
    for ((u, (_, expected)), (start, end)) in out.utterances.iter().zip(&clips).zip(&spans) {
        assert!(words(&u.text).contains(expected), "{:?} should contain {expected:?}", u.text);
        // Speech lies inside the clip, give or take the VAD's resolution.
        assert!(u.start_ms + 150 >= *start && u.start_ms < start + 600, "{u:?} vs clip {start}..{end}");
        assert!(u.end_ms <= end + 150 && u.end_ms + 600 > *end, "{u:?} vs clip {start}..{end}");
    }
    assert!(out.utterances.windows(2).all(|w| w[0].end_ms <= w[1].start_ms));
}

#[test]
fn words_heard_only_as_left_context_are_left_out_of_the_text() {
    // What the caller said before (context) and the utterance itself, back to back as in
    // running speech. The context's words are placed by word alignment and dropped.
    let before = load_for_asr(std::path::Path::new(&data("en_asr/audio/speechbrain_spk1_snt1.wav"))).unwrap();
    let mut pcm = before.clone();
    pcm.extend(load_for_asr(std::path::Path::new(&data("en_asr/audio/speechbrain_spk1_snt2.wav"))).unwrap());
    let model = load_model(&ModelsDir::from_env(), Some("tiny.en"), Language::En).unwrap();
    let mut decoder = model.decoder().unwrap();
    let mut opts = DecodeOptions::new(Language::En, Window::Utterance);
    let whole = words(&decoder.decode(&pcm, &opts).unwrap().transcript.text);
    assert!(whole.contains("small dog") && whole.contains("add the figures"), "{whole:?}");
    opts.context_ms = before.len() as u64 * 1000 / 16_000;
    let text = words(&decoder.decode(&pcm, &opts).unwrap().transcript.text);
    assert!(text.contains("add the figures"), "{text:?}");
    assert!(!text.contains("child") && !text.contains("dog"), "context words kept: {text:?}");
    // And the same decoder, without context again, hears it all.
    opts.context_ms = 0;
    assert_eq!(words(&decoder.decode(&pcm, &opts).unwrap().transcript.text), whole);
}

#[test]
fn utterances_split_at_a_short_pause_are_decoded_again_together_for_the_transcript() {
    // Two sentences 1.5 s apart: two turns (the hangover is 560 ms), one run of speech for a
    // revision that accepts pauses up to 3 s.
    let mut pcm = vec![0.0f32; 8_000];
    for file in ["en_asr/audio/speechbrain_spk1_snt1.wav", "en_asr/audio/speechbrain_spk1_snt3.wav"] {
        pcm.extend(load_for_asr(std::path::Path::new(&data(file))).expect("decode clip"));
        pcm.extend(vec![0.0f32; 24_000]);
    }
    let model = load_model(&ModelsDir::from_env(), Some("tiny.en"), Language::En).expect("tiny.en installed");
    let pool = pool_for(model).unwrap();
    let cfg = StreamConfig { revise_gap_ms: 3000, ..StreamConfig::default() };
    let out = transcribe_streaming(&pool, &pcm, Language::En, &cfg, false).unwrap();
    assert_eq!(out.utterances.len(), 2, "{:#?}", out.utterances);
    let revised = out.utterances[0].revised.as_deref().expect("the first utterance carries the run's text");
    assert_eq!(out.utterances[1].revised.as_deref(), Some(""), "the second one's words are in it");
    let heard = words(revised);
    assert!(heard.contains("child almost hurt the small dog") && heard.contains("the air is pure"), "{revised:?}");
    assert_eq!(out.text, revised);
    let segments = out.segments();
    assert_eq!(segments.len(), 1);
    assert_eq!((segments[0].start_ms, segments[0].end_ms), (out.utterances[0].start_ms, out.utterances[1].end_ms));
}

#[test]
fn long_speech_is_cut_into_several_finals_without_losing_words() {
    // The 60 s conference call: far beyond whisper's 30 s window and the 20 s utterance cap.
    let manifest = std::fs::read_to_string(data("en_asr/manifest.csv")).unwrap();
    let row = manifest.lines().find(|l| l.contains("earnings")).expect("earnings call clip in manifest");
    let file = row.split(',').next().unwrap();
    let reference = row.split('"').nth(1).expect("quoted transcript");
    let pcm = load_for_asr(std::path::Path::new(&data(&format!("en_asr/{file}")))).unwrap();
    let model = load_model(&ModelsDir::from_env(), Some("tiny.en"), Language::En).unwrap();
    let pool = pool_for(model).unwrap();
    let out = transcribe_streaming(&pool, &pcm, Language::En, &StreamConfig::default(), false).unwrap();
    assert!(out.utterances.len() >= 3, "{:#?}", out.utterances);
    for u in &out.utterances {
        assert!(u.end_ms - u.start_ms <= 20_000, "{u:?}");
    }
    // Nothing lost at the cuts: the words still match the reference closely.
    let errors = word_errors(&normalize(reference, "en"), &normalize(&out.text, "en"));
    assert!(errors.rate() < 0.12, "WER {:.1}%: {}", errors.rate() * 100.0, out.text);
}

#[test]
fn partials_arrive_while_the_caller_is_still_speaking() {
    // Real-time pacing, as in a call: decodes of the utterance so far come back before it ends.
    let pcm = load_for_asr(std::path::Path::new(&data("en_asr/audio/jfk.wav"))).unwrap();
    let model = load_model(&ModelsDir::from_env(), Some("tiny.en"), Language::En).unwrap();
    let pool = pool_for(model).unwrap();
    let cfg = StreamConfig { partial_interval_ms: 500, ..StreamConfig::default() };
    let out = transcribe_streaming(&pool, &pcm, Language::En, &cfg, true).unwrap();
    assert!(out.partials > 0, "{out:#?}");
    assert!(words(&out.text).contains("what you can do for your country"), "{}", out.text);
}

#[test]
fn a_telephone_utterance_ends_soon_after_the_voice_does() {
    // earshot alone kept 8 kHz speech "voiced" through seconds of quiet line (see media::vad),
    // so the caller waited for an answer that long.
    let dir = tempfile::tempdir().expect("tempdir");
    let src = data("en_asr/audio/speechbrain_spk1_snt2.wav");
    let phone = common::server::pcm_8k(std::path::Path::new(&src), dir.path());
    let mut pcm = load_for_asr(&phone).expect("decode clip");
    // Where a listener hears the speech end: the last 20 ms above -40 dBFS.
    let loud = |f: &[f32]| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt() > 0.01;
    let speech_end_ms = pcm.chunks(320).rposition(loud).expect("speech") as u64 * 20 + 20;
    // Then 2 s of a quiet line (-70 dBFS hiss, deterministic).
    let mut x = 1u32;
    pcm.extend((0..32_000).map(|_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 8) as f32 / (1u32 << 24) as f32 * 0.001 - 0.0005
    }));
    let model = load_model(&ModelsDir::from_env(), Some("tiny.en"), Language::En).unwrap();
    let pool = pool_for(model).unwrap();
    let out = transcribe_streaming(&pool, &pcm, Language::En, &StreamConfig::default(), false).unwrap();
    assert_eq!(out.utterances.len(), 1, "{out:#?}");
    let end = out.utterances[0].end_ms;
    assert!(end <= speech_end_ms + 300, "voice ended at {end} ms, the speech at {speech_end_ms} ms");
}
