//! Sums of money: "$25.50", "25 dollars 50 cents", "€30", "30 euros", "25.5 yuan", "25块5"
//! (= 25.5), "二十五元", "三百块钱", "￥99", and "charged 25.50" (no currency).

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{Amount, Taken, earliest};

/// An amount: integer part (with optional thousands commas), optional decimals.
const NUM: &str = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?";

fn re(pattern: &str) -> Regex {
    Regex::new(&pattern.replace("NUM", NUM)).expect("amount pattern is valid")
}

/// "$25.50", "€30", "￥99".
static SYMBOL: LazyLock<Regex> = LazyLock::new(|| re(r"([$€£¥￥])\s?NUM"));
/// "25 dollars", "25.5 yuan", "25 dollars and 50 cents".
static WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bNUM\s*(dollars?|bucks?|usd|euros?|eur|pounds?|gbp|yuan|rmb|cny|kuai)\b(?:,?\s*(?:and\s+)?(\d{1,2})\s*cents?\b)?",
    )
});
/// "50 cents".
static CENTS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(\d{1,2})\s*cents?\b"));
/// "25块5", "25元5角3分", "2块5毛3", "300块钱", "一块钱"; 一 and 两 as normalize_numbers keeps 一 before a
/// measure word.
static YUAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(一|两|NUM)\s*(块钱|块|元钱|元|圆)(?:\s*(\d)\s*(?:毛|角)?(?:\s*(\d)\s*分?)?)?"));
/// "5毛", "一毛钱".
static JIAO: LazyLock<Regex> = LazyLock::new(|| re(r"(一|两|\d)\s*(?:毛|角)钱?"));
/// "25美元", "30欧元", "人民币300".
static ZH_CURRENCY: LazyLock<Regex> = LazyLock::new(|| re(r"NUM\s*(美元|美金|欧元|英镑|人民币|日元)"));
static ZH_CURRENCY_FIRST: LazyLock<Regex> = LazyLock::new(|| re(r"(人民币|美元|欧元)\s*NUM\s*(?:元|块)?"));
/// A number after a word that means money, currency unsaid: "charged 25.50", "扣了25".
static CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:\b(?:charged(?:\s+me)?|paid|costs?|refund\s+of|(?:price|total|amount)\s+(?:is|was|of))\s+|花了|付了|扣了|扣款|金额是?|价格是?)\s*NUM",
    )
});

/// The first amount in `text`, and its span; every amount's span is marked taken, so that no
/// sum of money is read again as an order number.
pub(super) fn find(text: &str, taken: &mut Taken) -> Option<(Amount, Range<usize>)> {
    let mut found: Vec<(Range<usize>, Amount)> = Vec::new();
    let mut add = |m: &Captures<'_>, amount: Option<Amount>| {
        if let Some(amount) = amount {
            found.push((m.get(0).expect("group 0").range(), amount));
        }
    };
    for c in SYMBOL.captures_iter(text) {
        let currency = match &c[1] {
            "$" => "USD",
            "€" => "EUR",
            "£" => "GBP",
            _ => "CNY",
        };
        add(&c, money(&c[2], c.get(3).map(|m| m.as_str()), Some(currency)));
    }
    for c in WORD.captures_iter(text) {
        let unit = c[3].to_ascii_lowercase();
        let currency = match unit.trim_end_matches('s') {
            "dollar" | "buck" | "usd" => "USD",
            "euro" | "eur" => "EUR",
            "pound" | "gbp" => "GBP",
            _ => "CNY",
        };
        let mut amount = money(&c[1], c.get(2).map(|m| m.as_str()), Some(currency));
        if let (Some(a), Some(cents)) = (amount.as_mut(), c.get(4)) {
            a.value_cents += cents.as_str().parse::<i64>().unwrap_or(0);
        }
        add(&c, amount);
    }
    for c in CENTS.captures_iter(text) {
        add(&c, money("0", Some(&format!("{:0>2}", &c[1])), Some("USD")));
    }
    for c in YUAN.captures_iter(text) {
        add(&c, yuan(text, &c));
    }
    for c in JIAO.captures_iter(text) {
        add(&c, money("0", Some(small(&c[1])), Some("CNY")));
    }
    for c in ZH_CURRENCY.captures_iter(text) {
        add(&c, money(&c[1], c.get(2).map(|m| m.as_str()), Some(zh_currency(&c[3]))));
    }
    for c in ZH_CURRENCY_FIRST.captures_iter(text) {
        add(&c, money(&c[2], c.get(3).map(|m| m.as_str()), Some(zh_currency(&c[1]))));
    }
    // A cue only counts where no currency was named: "paid 25 dollars" is 25 USD.
    let named: Vec<Range<usize>> = found.iter().map(|(span, _)| span.clone()).collect();
    for c in CUE.captures_iter(text) {
        let number = c.get(1).expect("group 1");
        if !named.iter().any(|n| n.start < number.end() && number.start() < n.end) {
            let amount = money(number.as_str(), c.get(2).map(|m| m.as_str()), None);
            found.extend(amount.map(|a| (c.get(0).expect("group 0").range(), a)));
        }
    }
    found.retain(|(span, _)| !taken.overlaps(span));
    found.iter().for_each(|(span, _)| taken.add(span.clone()));
    earliest(found).map(|(span, amount)| (amount, span))
}

fn zh_currency(word: &str) -> &'static str {
    match word {
        "美元" | "美金" => "USD",
        "欧元" => "EUR",
        "英镑" => "GBP",
        "日元" => "JPY",
        _ => "CNY",
    }
}

/// 一 and 两 as digits (normalize_numbers keeps 一 before a measure word).
fn small(n: &str) -> &str {
    match n {
        "一" => "1",
        "两" => "2",
        digit => digit,
    }
}

/// "25块5毛3" = 25.53: after 块/元 the next digit is 角 (tenths), the one after it 分.
fn yuan(text: &str, c: &Captures<'_>) -> Option<Amount> {
    let int = match &c[1] {
        "一" => "1",
        "两" => "2",
        _ => c.get(2)?.as_str(),
    };
    let (jiao, fen) = (c.get(5), c.get(6));
    if &c[1] == "一" && &c[4] == "块" && jiao.is_none() {
        // "一块儿", "一块去": together, not one yuan.
        let next = text[c.get(0)?.end()..].chars().next();
        if next.is_some_and(crate::nlu::numbers::is_cjk) {
            return None;
        }
    }
    let mut amount = money(int, c.get(3).map(|m| m.as_str()), Some("CNY"))?;
    amount.value_cents += jiao.map_or(0, |j| j.as_str().parse::<i64>().unwrap_or(0) * 10);
    amount.value_cents += fen.map_or(0, |f| f.as_str().parse::<i64>().unwrap_or(0));
    Some(amount)
}

/// Integer part (commas allowed) and decimals → cents; decimals past the second are rounded.
fn money(int: &str, frac: Option<&str>, currency: Option<&str>) -> Option<Amount> {
    let int: i64 = int.replace(',', "").parse().ok()?;
    let frac = frac.unwrap_or("");
    let mut cents: i64 = format!("{:0<2}", &frac[..frac.len().min(2)]).parse().ok()?;
    if frac.as_bytes().get(2).is_some_and(|&d| d >= b'5') {
        cents += 1;
    }
    let value_cents = int.checked_mul(100)?.checked_add(cents)?;
    Some(Amount { value_cents, currency: currency.map(str::to_string) })
}
