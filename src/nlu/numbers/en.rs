//! English number words → ASCII digits: "four five six" → "4 5 6" (joined later),
//! "one hundred and twenty" → "120", "three point five" → "3.5", "double five" → "55".
//!
//! A cardinal ends where speech starts a new number: a unit after a unit ("one one"), or tens
//! after tens ("twenty twenty"). That is how digit strings and years are read ("twenty twenty
//! three" → "20 23" → "2023"), so the pieces join up again in the digit-run pass.

use super::{Tok, TokKind, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit(u64),
    /// "oh" / "o": zero only among digits.
    Oh,
    Teen(u64),
    Tens(u64),
    Hundred,
    Scale(u64),
    Ordinal(u64),
    /// "a" / "an", as in "a hundred".
    Article,
    And,
    Point,
    Repeat(usize),
    Other,
}

fn class(word: &str) -> Class {
    const DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    const TEENS: [&str; 10] =
        ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
    const TENS: [&str; 8] = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
    const ORDINALS: [&str; 9] = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"];
    let w = word.to_ascii_lowercase();
    let find = |list: &[&str]| list.iter().position(|&x| x == w).map(|p| p as u64);
    if let Some(d) = find(&DIGITS) {
        return Class::Digit(d);
    }
    if let Some(t) = find(&TEENS) {
        return Class::Teen(10 + t);
    }
    if let Some(t) = find(&TENS) {
        return Class::Tens(20 + 10 * t);
    }
    if let Some(o) = find(&ORDINALS) {
        return Class::Ordinal(o + 1);
    }
    match w.as_str() {
        "oh" | "o" => Class::Oh,
        "hundred" => Class::Hundred,
        "thousand" => Class::Scale(1_000),
        "million" => Class::Scale(1_000_000),
        "billion" => Class::Scale(1_000_000_000),
        "a" | "an" => Class::Article,
        "and" => Class::And,
        "point" => Class::Point,
        "double" => Class::Repeat(2),
        "triple" => Class::Repeat(3),
        _ => Class::Other,
    }
}

/// Words after which "one" is a pronoun: "no one", "this one", "the right one"; ordinals
/// ("the 21st one") count too.
const DETERMINERS: &[&str] = &[
    "the", "this", "that", "which", "each", "every", "any", "no", "some", "another", "other", "only", "right", "wrong",
    "same", "last", "next", "little", "new", "old", "big", "small", "good", "bad", "first", "second", "red", "blue",
];

pub(super) fn normalize(text: &str) -> String {
    let toks = tokenize(text);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < toks.len() {
        match number_at(&toks, i) {
            Some((digits, end)) => {
                out.push_str(&digits);
                i = end;
            }
            None => {
                out.push_str(toks[i].text);
                i += 1;
            }
        }
    }
    out
}

fn word_class(tok: Option<&Tok<'_>>) -> Class {
    match tok {
        Some(t) if t.kind == TokKind::Word => class(t.text),
        _ => Class::Other,
    }
}

/// The next token after `from` past spaces and dashes, if there were any to pass.
fn next_index(toks: &[Tok<'_>], from: usize) -> Option<usize> {
    let k = from + toks.get(from..)?.iter().take_while(|t| t.is_separator()).count();
    (k > from && k < toks.len()).then_some(k)
}

fn prev_index(toks: &[Tok<'_>], at: usize) -> Option<usize> {
    let k = toks[..at].iter().rev().take_while(|t| t.is_separator()).count();
    (k > 0 && k < at).then(|| at - k - 1)
}

/// A single digit, spoken ("five", "oh") or written ("5").
fn single_digit(tok: Option<&Tok<'_>>) -> Option<u64> {
    let tok = tok?;
    match (tok.kind, word_class(Some(tok))) {
        (TokKind::Digits, _) if tok.text.len() == 1 => tok.text.parse().ok(),
        (TokKind::Word, Class::Digit(d)) => Some(d),
        (TokKind::Word, Class::Oh) => Some(0),
        _ => None,
    }
}

/// The number that starts at token `i`, as digits, and the index after its last token.
fn number_at(toks: &[Tok<'_>], i: usize) -> Option<(String, usize)> {
    if toks[i].kind == TokKind::Digits {
        return digits_times_scale(toks, i);
    }
    match word_class(toks.get(i)) {
        Class::Oh => oh_is_zero(toks, i).then(|| ("0".to_string(), i + 1)),
        Class::Repeat(n) => {
            let k = next_index(toks, i + 1)?;
            let d = single_digit(toks.get(k))?;
            Some((d.to_string().repeat(n), k + 1))
        }
        Class::Digit(1) if one_is_pronoun(toks, i) => None,
        Class::Article => {
            let k = next_index(toks, i + 1)?;
            matches!(word_class(toks.get(k)), Class::Hundred | Class::Scale(_)).then_some(())?;
            cardinal(toks, k, Cardinal { cur: 1, last: Last::Small, ..Cardinal::default() })
        }
        Class::Digit(_) | Class::Teen(_) | Class::Tens(_) => cardinal(toks, i, Cardinal::default()),
        _ => None,
    }
}

/// "5 hundred" → 500, "2 thousand 500" → 2500, "2.5 million" → 2500000. Digits alone are left
/// for the digit-run pass.
fn digits_times_scale(toks: &[Tok<'_>], i: usize) -> Option<(String, usize)> {
    let k = next_index(toks, i + 1)?;
    let text = toks[i].text;
    match word_class(toks.get(k)) {
        Class::Scale(s) if text.contains('.') && !text.contains(',') => {
            Some((super::scale_decimal(text, s.ilog10() as usize), k + 1))
        }
        Class::Hundred | Class::Scale(_) if toks[i].is_plain_digits() => {
            let cur = text.parse().ok().filter(|&n| n > 0 && n < 1000)?;
            cardinal(toks, k, Cardinal { cur, last: Last::Small, ..Cardinal::default() })
        }
        _ => None,
    }
}

/// "oh" is zero after a digit ("four oh five") or before two single digits ("oh one two"),
/// never on its own ("oh I see", "oh two things").
fn oh_is_zero(toks: &[Tok<'_>], i: usize) -> bool {
    let numberish = |k: Option<usize>| {
        let Some(t) = k.map(|k| &toks[k]) else { return false };
        t.kind == TokKind::Digits
            || matches!(class(t.text), Class::Digit(_) | Class::Teen(_) | Class::Tens(_) | Class::Oh)
    };
    if numberish(prev_index(toks, i)) {
        return true;
    }
    let a = next_index(toks, i + 1);
    let b = a.and_then(|a| next_index(toks, a + 1));
    single_digit(a.map(|a| &toks[a])).is_some() && single_digit(b.map(|b| &toks[b])).is_some()
}

fn one_is_pronoun(toks: &[Tok<'_>], i: usize) -> bool {
    let next = next_index(toks, i + 1).map(|k| &toks[k]);
    let next_is_number = next.is_some_and(|t| {
        t.kind == TokKind::Digits
            || matches!(word_class(Some(t)), Class::Digit(_) | Class::Oh | Class::Teen(_) | Class::Tens(_))
    });
    if next.is_some_and(|t| t.text.eq_ignore_ascii_case("another")) {
        return true;
    }
    let prev = prev_index(toks, i).map(|k| &toks[k]);
    let ordinal =
        |t: &Tok<'_>| t.kind == TokKind::Alnum && ["st", "nd", "rd", "th"].iter().any(|s| t.text.ends_with(s));
    let after_determiner =
        prev.is_some_and(|t| ordinal(t) || DETERMINERS.iter().any(|d| t.text.eq_ignore_ascii_case(d)));
    after_determiner && !next_is_number
}

/// What the last word of a cardinal was, which decides what may follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Last {
    #[default]
    Start,
    Unit,
    Teen,
    Tens,
    Hundred,
    Scale,
    And,
    /// "a" or written digits before "hundred"/"thousand".
    Small,
}

#[derive(Debug, Clone, Copy)]
struct Cardinal {
    total: u64,
    cur: u64,
    last: Last,
    last_scale: u64,
}

impl Default for Cardinal {
    fn default() -> Self {
        Cardinal { total: 0, cur: 0, last: Last::Start, last_scale: u64::MAX }
    }
}

/// Reads a cardinal from token `k` on, continuing the state `c`.
fn cardinal(toks: &[Tok<'_>], mut k: usize, mut c: Cardinal) -> Option<(String, usize)> {
    let mut end = k;
    loop {
        let tok = &toks[k];
        let after_big = matches!(c.last, Last::Hundred | Last::Scale | Last::And);
        let fresh = c.last == Last::Start || after_big;
        match word_class(Some(tok)) {
            Class::Digit(0) if c.last == Last::Start => c.last = Last::Unit,
            Class::Digit(d) if d > 0 && (fresh || c.last == Last::Tens) => {
                c.cur += d;
                c.last = Last::Unit;
            }
            Class::Teen(v) if fresh => {
                c.cur += v;
                c.last = Last::Teen;
            }
            Class::Tens(v) if fresh => {
                c.cur += v;
                c.last = Last::Tens;
            }
            Class::Hundred if matches!(c.last, Last::Unit | Last::Teen | Last::Tens | Last::Small) && c.cur < 100 => {
                c.cur *= 100;
                c.last = Last::Hundred;
            }
            Class::Scale(s)
                if matches!(c.last, Last::Unit | Last::Teen | Last::Tens | Last::Hundred | Last::Small)
                    && c.cur > 0
                    && s < c.last_scale =>
            {
                c.total = c.total.checked_add(c.cur.checked_mul(s)?)?;
                c.cur = 0;
                c.last_scale = s;
                c.last = Last::Scale;
            }
            Class::And if matches!(c.last, Last::Hundred | Last::Scale) => {
                let next = next_index(toks, k + 1);
                if !matches!(word_class(next.map(|n| &toks[n])), Class::Digit(1..) | Class::Teen(_) | Class::Tens(_)) {
                    break;
                }
                c.last = Last::And;
            }
            Class::Point if !fresh || c.last == Last::Scale || c.last == Last::Hundred => {
                if let Some((frac, after)) = fraction(toks, k) {
                    return Some((format!("{}.{frac}", c.total + c.cur), after));
                }
                break;
            }
            Class::Ordinal(d) if c.last == Last::Tens => {
                let n = c.total + c.cur + d;
                let suffix = match d {
                    1 => "st",
                    2 => "nd",
                    3 => "rd",
                    _ => "th",
                };
                return Some((format!("{n}{suffix}"), k + 1));
            }
            _ if tok.is_plain_digits() && matches!(c.last, Last::Scale | Last::And) => {
                // "2 thousand 500"
                c.cur += tok.text.parse::<u64>().ok().filter(|&n| n < 1000)?;
                c.last = Last::Small;
            }
            _ => break,
        }
        if c.last != Last::And {
            end = k + 1;
        }
        match next_index(toks, k + 1) {
            Some(n) => k = n,
            None => break,
        }
    }
    (c.last != Last::Start && end > 0).then(|| ((c.total + c.cur).to_string(), end))
}

/// The digits after "point", read one by one ("point one four"), and the index after them.
fn fraction(toks: &[Tok<'_>], point: usize) -> Option<(String, usize)> {
    let mut frac = String::new();
    let mut end = point;
    let mut k = next_index(toks, point + 1);
    while let Some(i) = k {
        let tok = &toks[i];
        if tok.is_plain_digits() {
            frac.push_str(tok.text);
        } else if let Some(d) = single_digit(Some(tok)) {
            frac.push_str(&d.to_string());
        } else {
            break;
        }
        end = i + 1;
        k = next_index(toks, i + 1);
    }
    (!frac.is_empty()).then_some((frac, end))
}
