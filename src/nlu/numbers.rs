//! Spoken numbers → ASCII digits, so that slot patterns only ever see digits.
//!
//! ASR text reads numbers every way a caller says them: "four five six", "twenty five",
//! "2023 one one eight eight", "二零二三一一八八", "两万", "三点五". [`normalize_numbers`] rewrites
//! them in passes, each a plain `String → String`, repeated until the text stops changing:
//!
//! 1. `zh`: Chinese numerals (digit-by-digit and cardinal), with the idiom rules that keep
//!    "一下", "统一", "万一", "十分" as words.
//! 2. `en`: English number words (digit-by-digit, cardinals, "double five", "point").
//! 3. ASCII digits before 万/亿 are scaled ("2万" → "20000"), after pass 2 so that "two万" is.
//! 4. `merge_digit_runs`: digit groups with only spaces between them ("138 0013 8000", or
//!    "2023 1188" after pass 2) become one run; groups joined by dashes only when they look like
//!    a phone or order number rather than a range or a date.
//!
//! Repeating the passes to a fixed point makes the whole idempotent: normalizing normalized
//! text changes nothing.

mod en;
mod zh;

#[cfg(test)]
mod tests;

/// Rewrites spoken numbers in English and Chinese as ASCII digits, leaving other words as
/// they were.
///
/// Decisions worth knowing (the tests pin each one):
/// - English "one" becomes "1" ("return one item" → "return 1 item", "one of my orders" →
///   "1 of my orders") except as a pronoun after a determiner ("no one", "this one") or in
///   "one another". Whole words only: "someone", "often", "tennis" stay.
/// - "oh"/"o" is 0 only beside other digits ("four oh five", "oh one two"), never alone.
/// - English ordinals stay words ("first", "third"), except a tens-and-unit compound, which
///   becomes "21st" so that "twenty first" cannot turn into "20 first".
/// - Chinese ordinals are numbers: "第一次" → "第1次".
/// - A lone 一 is an article or part of a word ("一个", "一下", "统一") and stays, unless it
///   is a date ("一号", "十一月一号"), follows a cue such as 按/第/块 ("请按一"), or stands
///   alone. Other lone digits (二…九, 两, 十) stay only before a character that is neither a
///   measure word nor a unit ("三星", "四川", "两边"); "两个" → "2个".
/// - A run that starts with 百/千/万/亿 is a word ("千万", "万一", "百分之"); "一万" is 10000.
/// - Two consecutive digits before a measure word are an estimate and stay ("七八个", "三五天").
/// - "三点五" is 3.5 but "三点五分" is a time ("3点5分").
/// - Weekdays stay words ("周一", "星期三") so that date patterns see them whole.
/// - Numbers with only spaces between them join, as digit strings are read in groups: "2023
///   1188" → "20231188", and so also "thirty nine ninety nine" → "3999", "at 3 30" → "330".
///   A comma or a word keeps them apart ("3, 4", "3 or 4").
pub fn normalize_numbers(text: &str) -> String {
    let mut text = fold_width(text);
    // The passes look at each other's output at their edges ("this one 三" reads "one" as a
    // pronoun until 三 has become "3"), so they repeat until nothing changes. Every change turns
    // words or separators into digits, so this ends; it takes two rounds for almost all text.
    for _ in 0..8 {
        let next = pass(&text);
        if next == text {
            break;
        }
        text = next;
    }
    text
}

fn pass(text: &str) -> String {
    let text = zh::normalize(text);
    let text = en::normalize(&text);
    let text = zh::scale_ascii(&text);
    merge_digit_runs(&text)
}

/// Han characters (and 〇), which Chinese words are made of.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '〇')
}

/// Full-width digits and the few symbols that go with numbers, to ASCII. Other full-width
/// characters (the Chinese comma, full stop) are left to the caller's text.
fn fold_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '０'..='９' | '＋' | '＄' | '＃' | '％' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokKind {
    /// ASCII letters, with inner apostrophes ("don't").
    Word,
    /// ASCII digits, with inner '.' or ',' between digits ("3.5", "1,250").
    Digits,
    /// Letters and digits mixed ("21st", "mp3"): never a number to rewrite.
    Alnum,
    Space,
    Dash,
    /// Any other single character (CJK, punctuation).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: TokKind,
    text: &'a str,
}

impl Tok<'_> {
    fn is_separator(&self) -> bool {
        matches!(self.kind, TokKind::Space | TokKind::Dash)
    }

    /// Plain digits that may join a neighbouring group (not "3.5", not "1,250").
    fn is_plain_digits(&self) -> bool {
        self.kind == TokKind::Digits && self.text.bytes().all(|b| b.is_ascii_digit())
    }
}

fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().expect("i is on a char boundary");
        let start = i;
        let kind = if c.is_ascii_alphanumeric() {
            let (mut letters, mut digits) = (false, false);
            while i < bytes.len() {
                let b = bytes[i];
                let inner =
                    |ok: fn(u8) -> bool| i > start && ok(bytes[i - 1]) && bytes.get(i + 1).is_some_and(|&n| ok(n));
                if b.is_ascii_alphabetic() {
                    letters = true;
                } else if b.is_ascii_digit() {
                    digits = true;
                } else if !(b == b'\'' && inner(|x| x.is_ascii_alphabetic())
                    || (b == b'.' || b == b',') && inner(|x| x.is_ascii_digit()))
                {
                    break;
                }
                i += 1;
            }
            match (letters, digits) {
                (true, false) => TokKind::Word,
                (false, true) => TokKind::Digits,
                _ => TokKind::Alnum,
            }
        } else if c.is_whitespace() {
            while let Some(n) = text[i..].chars().next().filter(|n| n.is_whitespace()) {
                i += n.len_utf8();
            }
            TokKind::Space
        } else {
            i += c.len_utf8();
            if c == '-' { TokKind::Dash } else { TokKind::Other }
        };
        toks.push(Tok { kind, text: &text[start..i] });
    }
    toks
}

/// Joins digit groups separated only by spaces ("138 0013 8000" → "13800138000"), and then
/// those chunks across a dash when both have at least 3 digits and the whole run at least 7
/// ("555-0134", "2023-1188"), which keeps ranges ("5-10", "100-200") and ISO dates
/// ("2026-11-21") apart. A word, or any other character, between two groups keeps them apart
/// ("order 2 items 3").
fn merge_digit_runs(text: &str) -> String {
    let toks = tokenize(text);
    let chunks = digit_chunks(&toks);
    let mut out = String::with_capacity(text.len());
    let mut next_tok = 0;
    let mut c = 0;
    while c < chunks.len() {
        // The chain of chunks from `c` linked by acceptable dashes.
        let mut last = c;
        while last + 1 < chunks.len() && dash_link(&toks, &chunks[last], &chunks[last + 1]) {
            last += 1;
        }
        let total: usize = chunks[c..=last].iter().map(|ch| ch.digits.len()).sum();
        let chain_end = if total >= 7 { last } else { c };
        toks[next_tok..chunks[c].start].iter().for_each(|t| out.push_str(t.text));
        chunks[c..=chain_end].iter().for_each(|ch| out.push_str(&ch.digits));
        next_tok = chunks[chain_end].end;
        c = chain_end + 1;
    }
    toks[next_tok..].iter().for_each(|t| out.push_str(t.text));
    out
}

/// Plain digit tokens joined by spaces only: tokens `start..end`, digits concatenated.
struct Chunk {
    start: usize,
    end: usize,
    digits: String,
}

fn digit_chunks(toks: &[Tok<'_>]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !toks[i].is_plain_digits() {
            i += 1;
            continue;
        }
        let mut chunk = Chunk { start: i, end: i + 1, digits: toks[i].text.to_string() };
        while toks.get(chunk.end).is_some_and(|t| t.kind == TokKind::Space)
            && toks.get(chunk.end + 1).is_some_and(Tok::is_plain_digits)
        {
            chunk.digits.push_str(toks[chunk.end + 1].text);
            chunk.end += 2;
        }
        i = chunk.end;
        chunks.push(chunk);
    }
    chunks
}

/// Whether two chunks are one number written with a dash: one dash (spaces around it allowed)
/// between them, and at least 3 digits on each side.
fn dash_link(toks: &[Tok<'_>], a: &Chunk, b: &Chunk) -> bool {
    let between = &toks[a.end..b.start];
    let dashes = between.iter().filter(|t| t.kind == TokKind::Dash).count();
    dashes == 1 && between.iter().all(Tok::is_separator) && a.digits.len() >= 3 && b.digits.len() >= 3
}

/// `digits` (an integer or decimal string) times 10^`zeros`, as a plain decimal string:
/// "1.5" × 10^4 → "15000", "2" × 10^3 → "2000", "1.23456" × 10^4 → "12345.6".
fn scale_decimal(digits: &str, zeros: usize) -> String {
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut all: String = format!("{int}{frac}");
    let point = int.len() + zeros;
    while all.len() < point {
        all.push('0');
    }
    let (int, frac) = all.split_at(point);
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}
