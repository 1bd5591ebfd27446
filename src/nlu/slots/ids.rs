//! Order and phone numbers: digit runs told apart by length, shape and the words before them.
//!
//! Phones: a Chinese mobile (11 digits, 1[3-9]…, maybe +86) or a US number (10 digits, area
//! code and exchange starting 2-9, maybe +1). Order numbers: [`OrderIdPattern`]. A run that
//! could be both goes by the nearest cue word before it ("order", 订单 / "phone", 电话), else
//! it is a phone. A run after an order cue that is not an order number is not taken as a phone,
//! and the other way round: "phone 20231188" is neither.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{OrderIdPattern, Taken};
use crate::lang::Lang;

/// A digit run, with a + before it; a US number written "(415) 555-0134" / "415.555.0134";
/// or groups that ASR punctuated like a list ("138, 0013, 8000", "138，0013，8000").
static RUN: LazyLock<Regex> = LazyLock::new(|| {
    let us = r"(?:\+\s?1[\s.-]?)?\(\s*\d{3}\s*\)\s*[-.]?\s*\d{3}\s*[-.]?\s*\d{4}|\b\d{3}\.\d{3}\.\d{4}\b";
    let listed = r"\d{2,4}(?:(?:,\s|，\s?)\d{2,4})+\b";
    Regex::new(&format!(r"{us}|{listed}|(\+\s?)?\d+")).expect("run pattern is valid")
});

const ORDER_CUES: &[&str] = &["order", "订单", "单号", "#"];
const PHONE_CUES: &[&str] = &["phone", "mobile", "cell", "call me", "reach me", "电话", "手机", "联系"];

#[derive(Debug, Default)]
pub(super) struct Ids {
    pub phone: Option<(String, Range<usize>)>,
    pub order: Option<(String, Range<usize>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    Order,
    Phone,
}

pub(super) fn find(text: &str, lang: Lang, pattern: &OrderIdPattern, taken: &mut Taken) -> Ids {
    let mut ids = Ids::default();
    for m in RUN.find_iter(text) {
        let mut span = m.range();
        if taken.overlaps(&span) || glued_to_number(text, &span) {
            continue;
        }
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        let plus = m.as_str().starts_with('+');
        let prefix = prefix_before(text, span.start, pattern);
        if prefix.is_none() && text[..span.start].ends_with(|c: char| c.is_ascii_alphabetic()) {
            // Part of a word or code ("mp3", "A123"), unless it is the configured prefix.
            continue;
        }
        let phone = phone_number(&digits, plus, lang);
        let order = (!plus && (pattern.min_len..=pattern.max_len).contains(&digits.len())).then(|| {
            let prefix = pattern.prefix.as_deref().unwrap_or("").to_uppercase();
            format!("{prefix}{digits}")
        });
        let (is_phone, is_order) = match (nearest_cue(&text[..span.start]), phone.is_some(), order.is_some()) {
            (Some(Cue::Order), _, order) => (false, order),
            (Some(Cue::Phone), phone, _) => (phone, false),
            (None, true, _) => (true, false),
            (None, false, order) => (false, order),
        };
        if is_order && ids.order.is_none() {
            if let Some(start) = prefix {
                span.start = start;
            }
            taken.add(span.clone());
            ids.order = order.map(|o| (o, span));
        } else if is_phone && ids.phone.is_none() {
            taken.add(span.clone());
            ids.phone = phone.map(|p| (p, span));
        }
    }
    ids
}

/// Digits that continue a decimal or a thousands group ("25.50", "1,250") are not a run.
fn glued_to_number(text: &str, span: &Range<usize>) -> bool {
    let before = &text.as_bytes()[..span.start];
    let after = &text.as_bytes()[span.end..];
    let joins = |b: u8| b == b'.' || b == b',';
    matches!(before, [.., d, j] if joins(*j) && d.is_ascii_digit())
        || matches!(after, [j, d, ..] if joins(*j) && d.is_ascii_digit())
        || after.first().is_some_and(u8::is_ascii_alphanumeric)
}

/// Where the configured prefix starts, when it stands right before the digits: "ORD20231188",
/// "ord-2023", "O R D 2023".
fn prefix_before(text: &str, digits_start: usize, pattern: &OrderIdPattern) -> Option<usize> {
    let prefix = pattern.prefix.as_deref()?.to_ascii_lowercase();
    let before = text[..digits_start].trim_end_matches([' ', '-', '#', ':']);
    let mut rest = before;
    for want in prefix.chars().rev() {
        rest = rest.trim_end_matches([' ', '.', '-']);
        let c = rest.chars().next_back()?;
        if !c.eq_ignore_ascii_case(&want) {
            return None;
        }
        rest = &rest[..rest.len() - c.len_utf8()];
    }
    let word_goes_on = rest.ends_with(|c: char| c.is_ascii_alphanumeric());
    (!word_goes_on).then_some(rest.len())
}

/// The cue word nearest before a run, within a few words of it.
fn nearest_cue(before: &str) -> Option<Cue> {
    let window_start = before.char_indices().rev().nth(24).map_or(0, |(i, _)| i);
    let window = before[window_start..].to_lowercase();
    // English cues start a word: "cell" is no cue in "excellent".
    let starts_word = |at: usize| !window[..at].ends_with(|c: char| c.is_ascii_alphabetic());
    let last = |cues: &[&str]| {
        let found = cues.iter().flat_map(|c| window.match_indices(c).map(|(at, _)| at));
        found.filter(|&at| starts_word(at)).max()
    };
    match (last(ORDER_CUES), last(PHONE_CUES)) {
        (Some(o), Some(p)) => Some(if o > p { Cue::Order } else { Cue::Phone }),
        (Some(_), None) => Some(Cue::Order),
        (None, Some(_)) => Some(Cue::Phone),
        (None, None) => None,
    }
}

/// The national number for a phone-shaped run, or None.
fn phone_number(digits: &str, plus: bool, lang: Lang) -> Option<String> {
    let cn = |d: &str| d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9');
    let us = |d: &str| {
        let b = d.as_bytes();
        d.len() == 10 && (b'2'..=b'9').contains(&b[0]) && (b'2'..=b'9').contains(&b[3])
    };
    if let Some(rest) = digits.strip_prefix("86")
        && (plus || digits.len() == 13)
        && cn(rest)
    {
        return Some(rest.to_string());
    }
    let us_with_1 = digits.strip_prefix('1').filter(|rest| us(rest));
    if plus {
        return us_with_1.map(str::to_string);
    }
    match (cn(digits), us_with_1) {
        (true, Some(rest)) if lang == Lang::En => Some(rest.to_string()),
        (true, _) => Some(digits.to_string()),
        (false, Some(rest)) => Some(rest.to_string()),
        (false, None) => us(digits).then(|| digits.to_string()),
    }
}
