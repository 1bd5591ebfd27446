use super::*;

/// A Wednesday. This week's Monday is the 23rd; last week's Friday the 20th.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
}

fn product(name: &str, aliases: &[&str]) -> Product {
    Product { name: name.to_string(), aliases: aliases.iter().map(|a| a.to_string()).collect() }
}

fn ctx() -> SlotContext {
    SlotContext {
        catalogue: vec![
            product("Mug", &["coffee mug", "杯子", "马克杯"]),
            product("Travel Mug", &["travel mug", "保温杯"]),
            product("AirPods Pro 2", &["耳机"]),
            product("Phone Case", &["iphone case", "手机壳"]),
            product("Battery", &["电池"]),
        ],
        ..SlotContext::default()
    }
}

/// Runs `get` on each case's slots and lists every mismatch at once.
fn check<T: PartialEq + std::fmt::Debug>(
    cases: &[(&str, Lang, Option<T>)],
    ctx: &SlotContext,
    get: impl Fn(Slots) -> Option<T>,
) {
    let mut failed = Vec::new();
    for (text, lang, want) in cases {
        let slots = extract(text, *lang, today(), ctx);
        let got = get(slots.clone());
        if got.as_ref() != want.as_ref() {
            failed.push(format!("{text:?} ({lang}): got {got:?}, want {want:?}; all: {slots:?}"));
        }
    }
    assert!(failed.is_empty(), "{} case(s) failed:\n{}", failed.len(), failed.join("\n"));
}

use Lang::{En, Zh};

#[test]
fn order_ids() {
    let cases = [
        ("my order number is 2023 1188", En, Some("20231188")),
        ("order number two zero two three one one eight eight", En, Some("20231188")),
        ("it's #20231188", En, Some("20231188")),
        ("20231188", En, Some("20231188")),
        ("order twenty twenty three eleven eighty eight please", En, Some("20231188")),
        ("订单号二零二三一一八八", Zh, Some("20231188")),
        ("我的订单号是 2023 1188", Zh, Some("20231188")),
        ("单号是２０２３１１８８", Zh, Some("20231188")),
        ("I have 2 orders", En, None),
        ("order 2 items 3", En, None),
        ("order 1234567", En, None),
        ("order 123456789", En, None),
        ("my phone is 13800138000", En, None),
        ("phone 20231188", En, None),
        ("excellent, 20231188 it is", En, Some("20231188")),
        ("I paid $20.50 on 2026-11-21", En, None),
        ("我有两个订单", Zh, None),
    ];
    check(&cases.map(|(t, l, w)| (t, l, w.map(str::to_string))), &ctx(), |s| s.order_id);
}

#[test]
fn order_id_pattern_is_configurable() {
    let mut ctx = ctx();
    ctx.order_id = OrderIdPattern { min_len: 6, max_len: 10, prefix: Some("ord".to_string()) };
    let cases = [
        ("ORD20231188", En, Some("ORD20231188")),
        ("order O R D 123 456", En, Some("ORD123456")),
        ("order number 1234567890", En, Some("ORD1234567890")),
        ("my order is 12345", En, None),
        ("WORD123456", En, None),
    ];
    check(&cases.map(|(t, l, w)| (t, l, w.map(str::to_string))), &ctx, |s| s.order_id);
}

#[test]
fn phones() {
    let cases = [
        ("call me at 138 0013 8000", En, Some("13800138000")),
        ("幺三八零零幺三八零零零", Zh, Some("13800138000")),
        ("我的手机是一三八 零零一三 八零零零", Zh, Some("13800138000")),
        ("+86 138 0013 8000", Zh, Some("13800138000")),
        ("(415) 555-0134", En, Some("4155550134")),
        ("four one five five five five zero one three four", En, Some("4155550134")),
        ("+1 415 555 0134", En, Some("4155550134")),
        ("415.555.0134", En, Some("4155550134")),
        ("reach me at one three eight, zero zero one three, eight zero zero zero", En, Some("13800138000")),
        ("幺三八，零零幺三，八零零零", Zh, Some("13800138000")),
        ("one four one five five five five zero one three four", En, Some("4155550134")),
        ("14155550134", Zh, Some("14155550134")),
        ("my order number is 20231188", En, None),
        ("order 13800138000", En, None),
        ("电话是 12345", Zh, None),
        ("I paid 1,380,013,800 dollars", En, None),
    ];
    check(&cases.map(|(t, l, w)| (t, l, w.map(str::to_string))), &ctx(), |s| s.phone);
}

#[test]
fn dates_past_bias() {
    let cases = [
        ("I ordered it yesterday", En, Some("2026-11-24")),
        ("today", En, Some("2026-11-25")),
        ("it arrives tomorrow", En, Some("2026-11-26")),
        ("the day before yesterday", En, Some("2026-11-23")),
        ("last Friday", En, Some("2026-11-20")),
        ("last Monday", En, Some("2026-11-23")),
        ("on Monday", En, Some("2026-11-23")),
        ("next friday", En, Some("2026-11-27")),
        ("November 21", En, Some("2026-11-21")),
        ("november twenty first", En, Some("2026-11-21")),
        ("21 November", En, Some("2026-11-21")),
        ("the twenty first of november", En, Some("2026-11-21")),
        ("21st of November", En, Some("2026-11-21")),
        ("December 5", En, Some("2025-12-05")),
        ("november twenty one twenty twenty six", En, Some("2026-11-21")),
        ("march first", En, Some("2026-03-01")),
        ("11/21", En, Some("2026-11-21")),
        ("11/21/2025", En, Some("2025-11-21")),
        ("2026-11-21", En, Some("2026-11-21")),
        ("three days ago", En, Some("2026-11-22")),
        ("on the 3rd", En, Some("2026-11-03")),
        ("今天", Zh, Some("2026-11-25")),
        ("昨天下的单", Zh, Some("2026-11-24")),
        ("前天", Zh, Some("2026-11-23")),
        ("明天", Zh, Some("2026-11-26")),
        ("后天", Zh, Some("2026-11-27")),
        ("上周五", Zh, Some("2026-11-20")),
        ("上星期一", Zh, Some("2026-11-16")),
        ("上个礼拜天", Zh, Some("2026-11-22")),
        ("周一", Zh, Some("2026-11-23")),
        ("星期一", Zh, Some("2026-11-23")),
        ("礼拜一", Zh, Some("2026-11-23")),
        ("下周三", Zh, Some("2026-12-02")),
        ("11月21号", Zh, Some("2026-11-21")),
        ("11月21日", Zh, Some("2026-11-21")),
        ("十一月二十一号", Zh, Some("2026-11-21")),
        ("二零二五年十二月一号", Zh, Some("2025-12-01")),
        ("21号", Zh, Some("2026-11-21")),
        ("上个月十五号买的", Zh, Some("2026-10-15")),
        ("这个月一号", Zh, Some("2026-11-01")),
        ("三天前", Zh, Some("2026-11-22")),
        ("I may need help", En, None),
        ("the first time", En, None),
        ("3/4 of it", En, None),
        ("一周一次", Zh, None),
        ("地铁3号线", Zh, None),
        ("订单号20231188", Zh, None),
    ];
    check(&cases.map(|(t, l, w)| (t, l, w.map(date))), &ctx(), |s| s.date);
}

#[test]
fn dates_future_bias() {
    let ctx = SlotContext { date_bias: DateBias::Future, ..ctx() };
    let cases = [
        ("on Friday", En, Some("2026-11-27")),
        ("December 5", En, Some("2026-12-05")),
        ("November 21", En, Some("2027-11-21")),
        ("in two days", En, Some("2026-11-27")),
        ("周一", Zh, Some("2026-11-30")),
        ("3号", Zh, Some("2026-12-03")),
        ("两天后", Zh, Some("2026-11-27")),
    ];
    check(&cases.map(|(t, l, w)| (t, l, w.map(date))), &ctx, |s| s.date);
}

fn date(iso: &str) -> NaiveDate {
    iso.parse().expect("test dates are ISO")
}

#[test]
fn amounts() {
    let usd = |c| Some((c, Some("USD")));
    let cny = |c| Some((c, Some("CNY")));
    let cases = [
        ("$25.50", En, usd(2550)),
        ("it was $1,250", En, usd(125_000)),
        ("25 dollars 50 cents", En, usd(2550)),
        ("twenty five dollars and fifty cents", En, usd(2550)),
        ("twenty five dollars", En, usd(2500)),
        ("fifty cents", En, usd(50)),
        ("€30", En, Some((3000, Some("EUR")))),
        ("30 euros", En, Some((3000, Some("EUR")))),
        ("25.5 yuan", En, cny(2550)),
        ("I was charged 25.50", En, Some((2550, None))),
        ("three point five dollars", En, usd(350)),
        ("二十五块五", Zh, cny(2550)),
        ("二十五元", Zh, cny(2500)),
        ("25块", Zh, cny(2500)),
        ("三百块钱", Zh, cny(30000)),
        ("￥99", Zh, cny(9900)),
        ("¥99.9", Zh, cny(9990)),
        ("一块钱", Zh, cny(100)),
        ("两块五毛三", Zh, cny(253)),
        ("五毛", Zh, cny(50)),
        ("一百美元", Zh, usd(10000)),
        ("我们一块去", Zh, None),
        ("I have 2 orders", En, None),
        ("order 20231188", En, None),
    ];
    let cases =
        cases.map(|(t, l, w)| (t, l, w.map(|(c, cur)| Amount { value_cents: c, currency: cur.map(String::from) })));
    check(&cases, &ctx(), |s| s.amount);
}

#[test]
fn products() {
    let cases = [
        ("I want to return my mug", En, Some("Mug")),
        ("two MUGS arrived broken", En, Some("Mug")),
        ("the coffee mug is cracked", En, Some("Mug")),
        ("my travel mug leaks", En, Some("Travel Mug")),
        ("airpods pro two", En, Some("AirPods Pro 2")),
        ("batteries", En, Some("Battery")),
        ("iPhone-case", En, Some("Phone Case")),
        ("杯子碎了", Zh, Some("Mug")),
        ("保温杯漏水", Zh, Some("Travel Mug")),
        ("耳 机 坏了", Zh, Some("AirPods Pro 2")),
        ("我的手机壳", Zh, Some("Phone Case")),
        ("they smuggle things", En, None),
        ("我想退货", Zh, None),
    ];
    check(&cases.map(|(t, l, w)| (t, l, w.map(str::to_string))), &ctx(), |s| s.product);
}

#[test]
fn several_slots_and_their_mentions() {
    let text = "order 2023 1188, I paid twenty five dollars yesterday for the coffee mug, call me at 415 555 0134";
    let slots = extract(text, En, today(), &ctx());
    assert_eq!(slots.order_id.as_deref(), Some("20231188"));
    assert_eq!(slots.phone.as_deref(), Some("4155550134"));
    assert_eq!(slots.date, Some(date("2026-11-24")));
    assert_eq!(slots.amount, Some(Amount { value_cents: 2500, currency: Some("USD".to_string()) }));
    assert_eq!(slots.product.as_deref(), Some("Mug"));
    let mentions: Vec<(SlotKind, &str)> = slots.mentions.iter().map(|m| (m.kind, m.text.as_str())).collect();
    assert_eq!(
        mentions,
        [
            (SlotKind::OrderId, "20231188"),
            (SlotKind::Phone, "4155550134"),
            (SlotKind::Date, "yesterday"),
            (SlotKind::Amount, "25 dollars"),
            (SlotKind::Product, "coffee mug"),
        ]
    );

    let slots = extract(
        "订单号二零二三一一八八，昨天买的杯子，花了二十五块五，电话幺三八零零幺三八零零零",
        Zh,
        today(),
        &ctx(),
    );
    assert_eq!(slots.order_id.as_deref(), Some("20231188"));
    assert_eq!(slots.phone.as_deref(), Some("13800138000"));
    assert_eq!(slots.date, Some(date("2026-11-24")));
    assert_eq!(slots.amount.map(|a| a.value_cents), Some(2550));
    assert_eq!(slots.product.as_deref(), Some("Mug"));
}

#[test]
fn json_leaves_out_what_was_not_found() {
    let slots = extract("order 20231188", En, today(), &ctx());
    let json = serde_json::to_value(&slots).expect("slots serialize");
    assert_eq!(
        json,
        serde_json::json!({"order_id": "20231188", "mentions": [{"kind": "order_id", "text": "20231188"}]})
    );
    let json = serde_json::to_value(extract("hello", En, today(), &ctx())).expect("slots serialize");
    assert_eq!(json, serde_json::json!({}));
    let slots = extract("I paid 25 dollars on 2026-11-21", En, today(), &ctx());
    let json = serde_json::to_value(&slots).expect("slots serialize");
    assert_eq!(json["date"], "2026-11-21");
    assert_eq!(json["amount"], serde_json::json!({"value_cents": 2500, "currency": "USD"}));
}

#[test]
fn context_reads_from_json_with_defaults() {
    let ctx: SlotContext = serde_json::from_str(r#"{"catalogue": [{"name": "Mug"}]}"#).expect("context parses");
    assert_eq!(ctx.order_id, OrderIdPattern::default());
    assert_eq!(ctx.date_bias, DateBias::Past);
    assert_eq!(ctx.catalogue, [product("Mug", &[])]);
}
