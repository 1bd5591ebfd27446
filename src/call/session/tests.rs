use super::*;
use crate::asr::endpoint::EndReason;
use crate::dialplan::Dialplan;
use crate::orders::SqliteStore;

fn session() -> CallSession {
    let plan = Dialplan::demo().expect("demo dialplan is valid");
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date");
    let store = SqliteStore::in_memory().expect("sqlite");
    store.seed_file(plan.store_seed.as_ref().expect("demo has a seed"), today).expect("seeded");
    CallSession::new(SessionConfig::default(), Arc::new(Brain::new(plan)), Arc::new(store), Lang::En, today)
}

fn started(utterance: u64) -> Input {
    Input::Asr(AsrEvent::SpeechStarted { utterance, at_ms: 0 })
}

fn partial(utterance: u64, text: &str) -> Input {
    Input::Asr(AsrEvent::Partial { utterance, text: text.into(), start_ms: 0, end_ms: 500 })
}

fn final_(utterance: u64, text: &str) -> Input {
    Input::Asr(AsrEvent::Final {
        utterance,
        text: text.into(),
        language: "en".into(),
        start_ms: 0,
        end_ms: 900,
        end_reason: EndReason::Silence,
        voice: None,
    })
}

fn says(out: &[Output]) -> Vec<(u64, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Say { turn, text, .. } => Some((*turn, text.clone())),
            _ => None,
        })
        .collect()
}

fn has(out: &[Output], pred: impl Fn(&Output) -> bool) -> bool {
    out.iter().any(pred)
}

fn decision(out: &[Output]) -> Option<&BotTurn> {
    out.iter().find_map(|o| match o {
        Output::Event(CallEvent::Decision { decision, .. }) => Some(decision.as_ref()),
        _ => None,
    })
}

#[test]
fn the_call_opens_with_the_greeting() {
    let mut s = session();
    let out = s.start();
    let said = says(&out);
    assert_eq!(said.len(), 1);
    assert!(said[0].1.contains("AI assistant"), "{said:?}");
    assert!(has(&out, |o| matches!(o, Output::Event(CallEvent::Transcript(l)) if l.speaker == Speaker::Bot)));
}

#[test]
fn a_question_after_the_greeting_gets_an_answer_citing_its_rule() {
    let mut s = session();
    s.start();
    s.handle(3000, Input::PlaybackFinished { turn: 0 });
    let out = s.handle(5000, final_(0, "Where is my order 20231188?"));
    let turn = decision(&out).expect("a decision");
    assert!(turn.rule.is_some(), "{turn:?}");
    let said = says(&out);
    assert_eq!(said.len(), 1);
    assert!(said[0].1.contains("20231188"), "{said:?}");
    assert!(!has(&out, |o| matches!(o, Output::StopPlayback)), "nothing was playing");
}

#[test]
fn speech_over_the_bot_pauses_it_and_a_backchannel_resumes_it() {
    let mut s = session();
    s.start();
    let out = s.handle(800, started(0));
    assert!(has(&out, |o| matches!(o, Output::PausePlayback)));
    let out = s.handle(1100, partial(0, "Uh-huh."));
    assert!(!has(&out, |o| matches!(o, Output::StopPlayback)));
    let out = s.handle(1600, final_(0, "Uh-huh."));
    assert!(has(&out, |o| matches!(o, Output::ResumePlayback)));
    assert!(decision(&out).is_none(), "a backchannel is not a turn");
}

#[test]
fn noise_over_the_bot_resumes_it() {
    let mut s = session();
    s.start();
    s.handle(800, started(0));
    let out = s.handle(1500, Input::Asr(AsrEvent::Dropped { utterance: 0, reason: "no words".into() }));
    assert!(has(&out, |o| matches!(o, Output::ResumePlayback)));
}

#[test]
fn a_real_interruption_stops_the_bot_and_is_answered() {
    let mut s = session();
    s.start();
    s.handle(800, started(0));
    let out = s.handle(1300, partial(0, "I want to talk"));
    assert!(has(&out, |o| matches!(o, Output::StopPlayback)));
    assert!(has(&out, |o| matches!(o, Output::Event(CallEvent::PlaybackStopped { reason: StopReason::BargeIn, .. }))));
    let out = s.handle(2000, final_(0, "I want to talk to a human"));
    let turn = decision(&out).expect("answered");
    assert_eq!(turn.action, Action::Transfer);
    assert!(has(&out, |o| matches!(o, Output::Event(CallEvent::TransferRequested { .. }))));
    s.handle(4000, Input::PlaybackFinished { turn: 1 });
    assert_eq!(s.state(), CallState::Queued);
}

#[test]
fn the_keypad_zero_reaches_an_agent_after_the_menu_wait() {
    let mut s = session();
    s.start();
    let out = s.handle(1000, Input::Dtmf('0'));
    assert!(has(&out, |o| matches!(o, Output::StopPlayback)), "a key press interrupts the bot");
    assert!(decision(&out).is_none(), "waits to see if more digits follow");
    assert_eq!(s.next_deadline(), Some(2200));
    let out = s.handle_timeout(2200);
    assert_eq!(decision(&out).expect("decided").action, Action::Transfer);
}

#[test]
fn typed_digits_are_read_as_an_order_number() {
    let mut s = session();
    s.start();
    s.handle(100, Input::PlaybackFinished { turn: 0 });
    s.handle(200, final_(0, "where is my order"));
    s.handle(300, Input::PlaybackFinished { turn: 1 });
    let mut out = Vec::new();
    for (i, d) in "20231188#".chars().enumerate() {
        out = s.handle(1000 + i as u64 * 300, Input::Dtmf(d));
    }
    let said = says(&out);
    assert!(said.iter().any(|(_, t)| t.contains("20231188")), "{said:?}");
}

#[test]
fn keypad_two_switches_to_mandarin() {
    let mut s = session();
    s.start();
    s.handle(500, Input::Dtmf('2'));
    let out = s.handle_timeout(1700);
    assert!(has(&out, |o| matches!(o, Output::SetLanguage(Lang::Zh))));
    let said = says(&out);
    assert!(said.iter().any(|(_, t)| t.contains("您好")), "{said:?}");
    assert_eq!(s.lang(), Lang::Zh);
}

#[test]
fn speaking_mandarin_switches_the_language() {
    let mut s = session();
    s.start();
    s.handle(100, Input::PlaybackFinished { turn: 0 });
    let out = s.handle(2000, final_(0, "我的订单20231188到哪里了"));
    assert!(has(&out, |o| matches!(o, Output::SetLanguage(Lang::Zh))));
    assert!(has(&out, |o| matches!(o, Output::Say { lang: Lang::Zh, .. })));
}

#[test]
fn a_remote_hangup_ends_the_call_once() {
    let mut s = session();
    s.start();
    let out = s.handle(100, Input::Hangup { reason: "BYE".into() });
    assert!(has(&out, |o| matches!(o, Output::StopPlayback)));
    assert!(!has(&out, |o| matches!(o, Output::Hangup { .. })), "the caller already hung up");
    let out = s.handle(200, final_(0, "where is my order"));
    assert!(has(&out, |o| matches!(o, Output::Event(CallEvent::Transcript(_)))), "last words still transcribed");
    assert!(decision(&out).is_none(), "but not answered");
    let out = s.close();
    assert!(matches!(&out[..], [Output::Event(CallEvent::Ended { reason })] if reason == "BYE"), "{out:?}");
    assert!(s.close().is_empty(), "ended once");
}

#[test]
fn a_revised_transcript_is_recorded_and_decides_nothing() {
    let mut s = session();
    s.start();
    s.handle(3000, Input::PlaybackFinished { turn: 0 });
    s.handle(5000, final_(0, "I want to return"));
    let revised =
        AsrEvent::Revised { first: 0, last: 1, text: "I want to return my shoes".into(), start_ms: 0, end_ms: 2900 };
    let out = s.handle(7000, Input::Asr(revised));
    assert!(decision(&out).is_none() && says(&out).is_empty(), "{out:?}");
    assert!(has(&out, |o| matches!(o,
        Output::Event(CallEvent::TranscriptRevised { utterances: [0, 1], line }) if line.text == "I want to return my shoes" && line.is_final)));
}
