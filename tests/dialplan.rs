//! `callbot dialplan check`: the demo dialplan is valid; broken copies of it give errors that
//! name the file, line and column, and a non-zero exit.

mod common;

use std::path::{Path, PathBuf};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/demo")
}

/// A copy of the demo dialplan with `file` edited by `edit`.
fn broken(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(demo()).expect("demo dialplan") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, edit(&text)).expect("write");
    dir
}

/// Runs `dialplan check`, expects failure, returns stderr.
fn check_fails(dir: &Path) -> String {
    let out = common::run(&["dialplan", "check", &dir.to_string_lossy()]);
    assert!(!out.status.success(), "check passed: {}", common::stdout(&out));
    common::stderr(&out)
}

/// The 1-based line of the first occurrence of `needle` in `file`.
fn line_of(dir: &Path, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(dir.join(file)).expect("read");
    text.lines().position(|l| l.contains(needle)).expect("needle present") + 1
}

#[test]
fn the_demo_dialplan_is_valid() {
    let out = common::run(&["dialplan", "check", &demo().to_string_lossy()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(common::stdout(&out).contains("ok"));
}

#[test]
fn a_rule_naming_an_unknown_intent_is_reported_at_its_line() {
    let dir = broken("rules.toml", |t| t.replacen("intent = \"complaint\"", "intent = \"complain_loudly\"", 1));
    let err = check_fails(dir.path());
    let line = line_of(dir.path(), "rules.toml", "complain_loudly");
    assert!(err.contains(&format!("rules.toml:{line}:")), "{err}");
    assert!(err.contains("unknown intent 'complain_loudly'"), "{err}");
}

#[test]
fn syntax_errors_unknown_fields_and_placeholders_are_line_precise() {
    let dir = broken("dialplan.toml", |t| t.replacen("clarify_choices = 2", "clarify_choices = = 2", 1));
    let err = check_fails(dir.path());
    let line = line_of(dir.path(), "dialplan.toml", "clarify_choices = = 2");
    assert!(err.contains(&format!("dialplan.toml:{line}:")), "{err}");

    let dir = broken("rules.toml", |t| t.replacen("action = \"answer\"", "acton = \"answer\"", 1));
    let err = check_fails(dir.path());
    assert!(err.contains("acton"), "{err}");

    let dir = broken("rules.toml", |t| t.replacen("{shipment.carrier}", "{shipment.courier}", 1));
    let err = check_fails(dir.path());
    let line = line_of(dir.path(), "rules.toml", "{shipment.courier}");
    assert!(err.contains(&format!("rules.toml:{line}:")) && err.contains("shipment.courier"), "{err}");
}

#[test]
fn policy_mistakes_are_caught() {
    // A transfer without a queue, a refusal that does not cite its rule, a duplicate rule id.
    let dir = broken("rules.toml", |t| {
        t.replacen("queue = \"complaints\"\n", "", 1)
            .replacen("under rule {rule.id} orders can be cancelled", "orders can be cancelled", 1)
            .replacen("id = \"K2\"", "id = \"K1\"", 1)
    });
    let err = check_fails(dir.path());
    for want in ["a transfer needs a queue", "must cite the rule", "'K1': defined twice"] {
        assert!(err.contains(want), "{want} missing: {err}");
    }
    assert!(err.contains("3 problem(s)"), "every problem is reported: {err}");
}

#[test]
fn a_bad_training_line_is_reported_with_its_line_number() {
    let dir = broken("training.jsonl", |t| {
        let mut lines: Vec<&str> = t.lines().collect();
        lines.insert(4, r#"{"text": "hello", "lang": "en", "intent": "teleport"}"#);
        lines.join("\n")
    });
    let err = check_fails(dir.path());
    assert!(err.contains("training.jsonl:5:") && err.contains("teleport"), "{err}");
}

#[test]
fn tone_and_emotion_condition_mistakes_are_caught() {
    // A tone naming an unknown intent or emotion, and a streak with no emotions to count.
    let dir = broken("rules.toml", |t| {
        t.replacen("when = { emotion = \"anxious\" }", "when = { emotion = \"grumpy\", intent = \"moaning\" }", 1)
            .replacen(
                "when = { emotion = \"angry\", emotion_streak_at_least = 2 }",
                "when = { emotion_streak_at_least = 2 }",
                1,
            )
    });
    let err = check_fails(dir.path());
    for want in [
        "tone 'W2': unknown emotion 'grumpy'",
        "tone 'W2': unknown intent 'moaning'",
        "rule 'E1': emotion_streak_at_least needs `emotion`",
    ] {
        assert!(err.contains(want), "{want} in {err}");
    }
}
