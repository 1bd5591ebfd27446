//! `callbot eval asr` on a small manifest: table rows and the summary line.

mod common;
use common::*;

#[test]
fn eval_asr_reports_per_file_rows_and_a_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.csv");
    let audio = data_dir().join("en_asr/audio");
    std::fs::write(
        &manifest,
        format!(
            "file,language,transcript\n{jfk},en,\"And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.\"\n{timit},en,She had your dark suit in greasy wash water all year.\n{vad},en,\n",
            jfk = audio.join("jfk.wav").display(),
            timit = data_dir().join("telephone_8k/audio/timit_LDC93S1_8k.wav").display(),
            vad = audio.join("jfk.wav").display(),
        ),
    )
    .unwrap();
    for mode in [&[][..], &["--streaming"][..]] {
        let mut args = vec!["eval", "asr"];
        let m = manifest.to_string_lossy().into_owned();
        args.push(&m);
        args.extend_from_slice(mode);
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let last = text.lines().last().unwrap();
        // Rows without a transcript are not scored.
        assert!(last.starts_with("WER ") && last.ends_with("CER n/a files 2"), "{text}");
        let wer: f64 = last[4..last.find('%').unwrap()].parse().unwrap();
        assert!(wer < 15.0, "{mode:?}: {text}");
        assert!(text.contains("jfk.wav"), "{text}");
    }
}

#[test]
fn asr_load_replays_streams_through_one_pool() {
    let out = run(&["eval", "asr-load", &data("en_asr/audio/speechbrain_spk1_snt1.wav"), "--streams", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    assert_eq!(report["streams"], 2);
    assert_eq!(report["finals"], 2, "one utterance per replay: {report}");
    assert_eq!(report["failures"], 0);
    assert!(report["latency_p50_ms"].as_u64().unwrap() > 0, "{report}");
}
