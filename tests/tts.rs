//! `callbot say` speaks with espeak-ng; `callbot transcribe` (Whisper) must hear the same words.

mod common;

#[test]
fn spoken_prompts_transcribe_back_to_the_same_words() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prompts = [
        "Hello, how can I help you today?",
        "Your parcel is on its way and should arrive tomorrow.",
        "Your refund has been completed.",
    ];
    for (i, text) in prompts.iter().enumerate() {
        let wav = dir.path().join(format!("p{i}.wav"));
        let wav = wav.to_string_lossy();
        let out = common::run(&["say", "--lang", "en", text, "-o", &wav]);
        assert!(out.status.success(), "say failed: {}", common::stderr(&out));
        let out = common::run(&["transcribe", "--model", "tiny.en", &wav]);
        assert!(out.status.success(), "transcribe failed: {}", common::stderr(&out));
        let heard = common::words(&common::stdout(&out));
        let want = common::words(text);
        assert_eq!(heard, want, "said {text:?}, heard {heard:?}");
    }
}

#[test]
fn mandarin_and_any_rate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("zh.wav");
    let out = common::run(&["say", "--lang", "zh", "--rate", "8000", "您好，欢迎致电", "-o", &wav.to_string_lossy()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let reader = hound::WavReader::open(&wav).expect("valid wav");
    assert_eq!(reader.spec().sample_rate, 8000);
    assert!(reader.duration() > 8000 / 2, "at least half a second of speech");
}
