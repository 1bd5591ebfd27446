//! `callbot transcribe` end to end on real recordings and real models.

mod common;
use common::*;

#[test]
fn jfk_is_transcribed_in_file_mode() {
    let out = run(&["transcribe", &data("en_asr/audio/jfk.wav")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one file → one line: {text:?}");
    assert!(words(&text).contains("ask not what your country can do"), "{text}");
}

#[test]
fn several_files_give_one_prefixed_line_each_and_json_has_segments() {
    let files = [data("en_asr/audio/jfk.wav"), data("telephone_8k/audio/timit_LDC93S1_8k.wav")];
    let out = run(&["transcribe", &files[0], &files[1]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(&format!("{}: ", files[0])), "{text}");
    // 8 kHz telephone-rate audio is resampled and understood.
    assert!(lines[1].starts_with(&format!("{}: ", files[1])), "{text}");
    assert!(words(lines[1]).contains("greasy wash"), "{text}");

    let out = run(&["transcribe", "--json", &files[0]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(v["model"], "tiny.en");
    let segments = v["segments"].as_array().expect("segments");
    assert!(!segments.is_empty());
    let mut last_end = 0;
    for s in segments {
        let (start, end) = (s["start_ms"].as_u64().unwrap(), s["end_ms"].as_u64().unwrap());
        assert!(start <= end && end <= 11_100 && start + 50 >= last_end.min(start + 50), "{v}");
        last_end = end;
    }
}

#[test]
fn stereo_flac_at_44_1_khz_gives_the_same_words_as_the_16_khz_original() {
    let dir = tempfile::tempdir().unwrap();
    let flac = dir.path().join("jfk-stereo-44k.flac");
    let status = std::process::Command::new("sox")
        .arg(data("en_asr/audio/jfk.wav"))
        .args(["-r", "44100", "-c", "2"])
        .arg(&flac)
        .status()
        .expect("sox");
    assert!(status.success());
    let original = run(&["transcribe", &data("en_asr/audio/jfk.wav")]);
    let out = run(&["transcribe", "--json", flac.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(words(v["text"].as_str().unwrap()), words(&stdout(&original)), "{v}");
    let end = v["segments"].as_array().unwrap().last().unwrap()["end_ms"].as_u64().unwrap();
    assert!((10_000..=11_100).contains(&end), "timings are in the original's time base: {v}");
}

#[test]
fn mandarin_is_transcribed_in_simplified_chinese() {
    let out = run(&["transcribe", "--lang", "zh", &data("zh_asr/audio/fireredasr_BAC009S0764W0121.wav")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out).trim().to_string();
    // Reference: 甚至出现交易几乎停滞的情况
    let hits = ["交易", "停滞", "情况"].iter().filter(|w| text.contains(*w)).count();
    assert!(hits >= 2, "{text}");
    assert_eq!(zhconv::zhconv(&text, zhconv::Variant::ZhHans), text, "output must be Simplified: {text}");
}

#[test]
fn auto_language_follows_the_speaker() {
    let zh = data("zh_asr/audio/fireredasr_BAC009S0764W0121.wav");
    let en = data("en_asr/audio/jfk.wav");
    let out = run(&["transcribe", "--lang", "auto", "--json", &zh, &en]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[0]["model"], "base");
    assert_eq!(rows[0]["language"], "zh", "{}", rows[0]);
    let text = rows[0]["text"].as_str().unwrap();
    assert_eq!(zhconv::zhconv(text, zhconv::Variant::ZhHans), text, "Simplified even when detected: {text}");
    assert_eq!(rows[1]["language"], "en", "{}", rows[1]);
    assert!(words(rows[1]["text"].as_str().unwrap()).contains("your country"), "{}", rows[1]);
}

#[test]
fn silence_noise_and_music_give_an_empty_transcript_not_invented_text() {
    let dir = tempfile::tempdir().unwrap();
    fn square(f: f32, t: f32) -> f32 {
        if (t * f).fract() < 0.5 { 1.0 } else { -1.0 }
    }
    type Signal = fn(usize) -> f32;
    let signals: [(&str, Signal); 3] = [
        // Near-silence with faint noise.
        ("silence", |i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.002),
        // Loud hiss: a pseudo-random sequence at -20 dBFS.
        ("hiss", |i| ((i as u64).wrapping_mul(2_654_435_761) % 65_536) as f32 / 65_536.0 * 0.2 - 0.1),
        // An organ-like A-minor chord with tremolo, on which Whisper writes "♪♪".
        ("music", |i| {
            let t = i as f32 / 16_000.0;
            let tremolo = 0.75 + 0.25 * (t * 4.0 * std::f32::consts::TAU).sin();
            0.07 * tremolo * (square(220.0, t) + square(330.0, t) + square(440.0, t))
        }),
    ];
    for (name, signal) in &signals {
        let path = dir.path().join(format!("{name}.wav"));
        write_wav(&path, 16_000, &(0..160_000).map(*signal).collect::<Vec<f32>>());
        for mode in [&[][..], &["--streaming"][..]] {
            let mut args = vec!["transcribe"];
            args.extend_from_slice(mode);
            let p = path.to_string_lossy().into_owned();
            args.push(&p);
            let out = run(&args);
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(stdout(&out).trim(), "", "{name}, mode {mode:?}");
        }
    }
}

#[test]
fn bad_inputs_give_clear_errors_and_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let text_file = dir.path().join("notes.wav");
    std::fs::write(&text_file, "this is not audio, just text pretending to be a wav file\n").unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.wav");
    for (file, expect) in [(&text_file, "audio"), (&empty, "empty"), (&missing, "")] {
        let out = run(&["transcribe", &file.to_string_lossy()]);
        assert!(!out.status.success(), "{} should fail", file.display());
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.to_lowercase().contains(expect), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A bad file among good ones: the good one is still transcribed.
    let out = run(&["transcribe", &data("en_asr/audio/jfk.wav"), &empty.to_string_lossy()]);
    assert!(!out.status.success());
    assert!(words(&stdout(&out)).contains("ask not"), "{}", stdout(&out));
}

#[test]
fn corrupt_or_wrong_models_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let installed = callbot_models_dir().join("ggml-tiny.en.bin");
    let bytes = std::fs::read(&installed).expect("tiny.en is installed by scripts/test.sh");
    let truncated = dir.path().join("ggml-truncated.bin");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.path().join("ggml-garbage.bin");
    std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
    let jfk = data("en_asr/audio/jfk.wav");
    for (model, expect) in [(&truncated, "truncated"), (&garbage, "not a GGML")] {
        let out = run(&["transcribe", "--model", &model.to_string_lossy(), &jfk]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("corrupt") && err.contains(expect), "{err}");
    }
    let out = run(&["transcribe", "--model", "nonexistent-model", &jfk]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown model"), "{}", stderr(&out));
    let out = run(&["transcribe", "--model", "tiny.en", "--lang", "zh", &jfk]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("English-only"), "{}", stderr(&out));
}

fn callbot_models_dir() -> std::path::PathBuf {
    let out = run(&["models", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("models list --json");
    let path = rows.as_array().and_then(|r| r.iter().find(|r| r["name"] == "tiny.en")).expect("tiny.en listed")["path"]
        .as_str()
        .unwrap()
        .to_string();
    std::path::Path::new(&path).parent().unwrap().to_path_buf()
}
