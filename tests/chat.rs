//! `callbot chat --json`: each conversation policy of the demo dialplan as a scripted
//! conversation with the real binary, the real classifier and the seeded SQLite order store.

mod common;

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

/// The demo data's dates are relative to the day the store is seeded; fix it.
const TODAY: &str = "2026-11-23";

/// Runs a conversation; returns the bot's turns (greeting first).
fn chat(lang: &str, lines: &[&str]) -> Vec<Value> {
    let mut child = common::callbot()
        .args(["chat", "--json", "--today", TODAY, "--lang", lang])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("callbot chat starts");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for line in lines {
            writeln!(stdin, "{line}").expect("write utterance");
        }
    }
    let out = child.wait_with_output().expect("callbot chat finishes");
    assert!(out.status.success(), "chat failed: {}", common::stderr(&out));
    common::stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

fn say(turn: &Value) -> &str {
    turn["say"].as_str().unwrap_or_default()
}

#[test]
fn greeting_comes_first_says_it_is_an_ai_and_a_human_is_one_word_away() {
    let en = chat("en", &[]);
    assert_eq!(en.len(), 1);
    let g = say(&en[0]).to_lowercase();
    assert!(g.contains("ai") && g.contains("human"), "{g}");
    let zh = chat("zh", &[]);
    assert!(say(&zh[0]).contains("AI") && say(&zh[0]).contains("人工"), "{}", say(&zh[0]));
    for key in ["say", "intent", "confidence", "slots", "action", "rule", "reason", "queue", "priority"] {
        assert!(en[0].get(key).is_some(), "missing {key} in {}", en[0]);
    }
}

#[test]
fn asking_for_a_human_transfers_at_once_in_any_wording() {
    for (lang, line) in [("en", "human"), ("en", "agent please"), ("en", "operator"), ("zh", "人工"), ("zh", "转人工")]
    {
        let turns = chat(lang, &[line]);
        assert_eq!(turns[1]["action"], "transfer", "{line}: {}", turns[1]);
        assert_eq!(turns[1]["rule"], "T1", "{line}");
        assert!(turns[1]["queue"].is_string() && turns[1]["priority"].is_u64(), "{}", turns[1]);
    }
}

#[test]
fn answers_use_the_order_store_with_spoken_digits_in_both_languages() {
    let en = chat("en", &["where is my order two zero two three one one eight eight"]);
    let s = say(&en[1]);
    for want in ["20231188", "SF Express", "SF1428365079012", "tomorrow"] {
        assert!(s.contains(want), "{want} missing: {s}");
    }
    assert_eq!(en[1]["slots"]["order_id"], "20231188");
    assert_eq!(en[1]["rule"], "S2");
    let zh = chat("zh", &["我的快递到哪了", "订单号二零二三一一八八"]);
    assert_eq!(zh[1]["action"], "ask", "asks for the order number first: {}", zh[1]);
    let s = say(&zh[2]);
    assert!(s.contains("20231188") && s.contains("顺丰") && s.contains("明天"), "{s}");
}

#[test]
fn a_repeated_question_is_explained_more_simply_then_transferred() {
    let turns = chat(
        "en",
        &["where's my parcel, order 20231188", "so when is my package coming", "I asked you where my parcel is"],
    );
    assert_eq!(turns[1]["action"], "answer");
    let second = say(&turns[2]);
    assert!(second.starts_with("Let me put that more simply"), "{second}");
    assert_ne!(second, say(&turns[1]));
    assert_eq!(turns[3]["action"], "transfer", "{}", turns[3]);
    assert_eq!(turns[3]["rule"], "T6");
}

#[test]
fn complaints_quality_issues_and_lost_parcels_go_to_humans_lost_ones_urgently() {
    let complaint = chat("en", &["this is ridiculous, I want to make a complaint"]);
    assert_eq!(complaint[1]["action"], "transfer");
    assert_eq!(complaint[1]["queue"], "complaints");
    let quality = chat("en", &["the mug arrived smashed"]);
    assert_eq!(quality[1]["intent"], "quality_issue");
    assert_eq!(quality[1]["slots"]["product"], "Engraved Ceramic Mug", "catalogue slot: {}", quality[1]);
    assert_eq!(quality[1]["action"], "transfer");
    let lost = chat("zh", &["快递显示签收了但我根本没收到"]);
    assert_eq!(lost[1]["intent"], "lost_package", "{}", lost[1]);
    assert_eq!(lost[1]["action"], "transfer");
    let urgent = lost[1]["priority"].as_u64().expect("priority");
    assert!(urgent < complaint[1]["priority"].as_u64().expect("priority"), "lost parcels are most urgent");
}

#[test]
fn a_refusal_cites_the_rule_that_caused_it() {
    // Order 20231160 holds an engraved (custom-made) mug.
    let zh = chat("zh", &["这鞋磨脚，想退", "订单号二零二三一一六零"]);
    assert_eq!(zh[1]["intent"], "return_request");
    assert_eq!(zh[2]["rule"], "R3", "{}", zh[2]);
    assert!(say(&zh[2]).contains("R3") && say(&zh[2]).contains("定制"), "{}", say(&zh[2]));
    assert!(zh[2]["reason"].as_str().unwrap_or_default().contains("Custom-made"));
    // A shipped order cannot be cancelled: rule K1, cited.
    let en = chat("en", &["cancel order 20231188"]);
    assert_eq!(en[1]["rule"], "K1");
    assert!(say(&en[1]).contains("K1"), "{}", say(&en[1]));
}

#[test]
fn cross_order_requests_go_to_a_human_with_the_reason() {
    let turns = chat("en", &["can the gift from order 20231188 be returned together with order 20231201"]);
    assert_eq!(turns[1]["action"], "transfer", "{}", turns[1]);
    assert_eq!(turns[1]["rule"], "T5");
    assert!(turns[1]["reason"].as_str().unwrap_or_default().contains("several orders"));
}

#[test]
fn low_confidence_asks_a_clarifying_question_instead_of_guessing() {
    let turns = chat("en", &["money and delivery"]);
    assert_eq!(turns[1]["action"], "ask", "{}", turns[1]);
    assert_eq!(turns[1]["rule"], "C1");
    assert!(turns[1]["confidence"].as_f64().unwrap_or(1.0) < 0.45);
}

#[test]
fn changes_are_made_only_after_the_caller_confirms() {
    let declined = chat("en", &["please cancel order 20231201", "no wait"]);
    assert_eq!(declined[1]["action"], "ask");
    assert!(say(&declined[2]).contains("haven't changed"), "{}", say(&declined[2]));
    let done = chat("en", &["please cancel order 20231201", "yes please", "what's the status of order 20231201"]);
    assert!(say(&done[2]).starts_with("Done"), "{}", say(&done[2]));
    assert_eq!(done[3]["rule"], "S4", "the store now says cancelled: {}", done[3]);
    let address = chat("zh", &["我要改收货地址，订单20231201", "上海市浦东新区世纪大道100号", "对"]);
    assert_eq!(address[2]["rule"], "A3", "{}", address[2]);
    assert!(say(&address[3]).contains("世纪大道100号"), "{}", say(&address[3]));
}

#[test]
fn the_bot_follows_the_caller_into_the_other_language() {
    let turns = chat("en", &["我的订单怎么样了"]);
    assert_eq!(turns[1]["lang"], "zh");
    assert!(say(&turns[1]).contains("订单号"), "{}", say(&turns[1]));
}

#[test]
fn intent_accuracy_on_the_held_out_set_is_reported() {
    let out = common::run(&["eval", "intents", "tests/data/intents_test.jsonl", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let report: Value = serde_json::from_str(&common::stdout(&out)).expect("json report");
    assert_eq!(report["total"], 280);
    // A regression floor; the measured figure is in docs/benchmarks.md.
    assert!(report["accuracy"].as_f64().unwrap_or(0.0) >= 0.90, "{}", report["accuracy"]);
    assert!(report["per_intent"]["lost_package"]["recall"].is_f64());
}

/// A line may state how the caller sounds (`[angry] …`), standing in for the voice.
#[test]
fn a_caller_angry_twice_in_a_row_is_transferred_with_top_priority() {
    let turns = chat("en", &["[angry] where is my order", "[angry] I said where is my order"]);
    // First angry utterance: answered, the wording acknowledging the frustration (tone W1).
    assert_eq!(turns[1]["rule"], "O1", "{}", turns[1]);
    assert_eq!(turns[1]["tone"], "W1", "{}", turns[1]);
    assert_eq!(turns[1]["emotion"]["label"], "angry", "{}", turns[1]);
    assert!(say(&turns[1]).starts_with("I'm sorry this has been frustrating."), "{}", say(&turns[1]));
    // Second in a row: rule E1, priority 1, and the reason says why.
    assert_eq!(turns[2]["action"], "transfer", "{}", turns[2]);
    assert_eq!((&turns[2]["rule"], &turns[2]["priority"]), (&Value::from("E1"), &Value::from(1)), "{}", turns[2]);
    assert!(turns[2]["reason"].as_str().unwrap_or_default().contains("sounds angry"), "{}", turns[2]);
}

#[test]
fn one_calm_utterance_breaks_an_angry_streak() {
    let turns = chat("en", &["[angry] where is my order", "[neutral] 20231188", "[angry] and when does it come"]);
    assert!(turns.iter().all(|t| t["rule"] != "E1"), "{turns:#?}");
    assert!(turns[2]["tone"].is_null(), "a calm utterance gets the plain wording: {}", turns[2]);
}

#[test]
fn an_anxious_caller_with_a_lost_parcel_goes_to_the_urgent_queue() {
    // Stated, and from the words alone (worry in both languages).
    for (lang, line) in [
        ("en", "[anxious] my parcel is lost"),
        ("en", "I'm really worried, my parcel is lost"),
        ("zh", "我很担心，我的包裹丢了"),
    ] {
        let turns = chat(lang, &[line]);
        assert_eq!(turns[1]["rule"], "E2", "{line}: {}", turns[1]);
        assert_eq!((&turns[1]["queue"], &turns[1]["priority"]), (&Value::from("urgent"), &Value::from(0)), "{line}");
    }
    // The same parcel, reported calmly, goes to the parcel team as before.
    let calm = chat("en", &["my parcel is lost"]);
    assert_eq!(calm[1]["rule"], "T2", "{}", calm[1]);
}

#[test]
fn frustrated_words_shape_the_answer_and_an_unknown_feeling_is_an_error_not_a_crash() {
    let turns = chat("en", &["[shouting] hello", "where is order 20231188, it is late again and still not here"]);
    assert_eq!(turns.len(), 2, "the bad line was refused, the next one answered: {turns:#?}");
    assert_eq!(turns[1]["emotion"]["label"], "frustrated", "{}", turns[1]);
    assert_eq!(turns[1]["tone"], "W1", "{}", turns[1]);
    // The short answer (the rule's `brief`), after the acknowledgement.
    assert_eq!(
        say(&turns[1]),
        "I'm sorry this has been frustrating. Order 20231188 is on its way with SF Express, expected tomorrow."
    );
}
