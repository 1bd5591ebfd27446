//! Text normalisation for scoring speech recognition output.
//!
//! Error rates only measure recognition when reference and hypothesis follow the
//! same writing conventions: "Twenty-five percent" and "25%" are the same speech.
//! These functions map both sides to one canonical form, in the spirit of
//! Whisper's English and basic text normalisers. The output is meant for
//! comparison, not display, and both sides must go through the same function.

use crate::asr::Language;

/// Normalises `text` for the language tag `lang`: Mandarin tags as
/// [`Language::from_tag`] reads them (e.g. "zh-TW", "cmn_Hans") use
/// [`normalize_zh`], all others [`normalize_en`].
pub fn normalize(text: &str, lang: &str) -> String {
    if Language::from_tag(lang) == Some(Language::Zh) {
        normalize_zh(text)
    } else {
        split_digit_runs(&normalize_en(text))
    }
}

/// English normalisation: lowercase, drop bracketed annotations and fillers,
/// expand contractions, strip punctuation and write spoken numbers as digits
/// ("twenty first" → "21st", "ten percent" → "10%", "five dollars" → "$5").
pub fn normalize_en(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['\u{2018}', '\u{2019}', '\u{02bc}'], "'");
    let toks = tokenize(&strip_bracketed(&lowered));
    let mut words = Vec::with_capacity(toks.len());
    for (i, tok) in toks.iter().enumerate() {
        match tok {
            Tok::Word(w) if is_filler(w) => {}
            Tok::Word(w) => expand_contraction(w, word_at(&toks, i + 1), &mut words),
            _ => words.push(tok.clone()),
        }
    }
    convert_numbers(&words).join(" ")
}

/// Plain digit strings are compared digit by digit, so a number counts the same however it was
/// grouped: a spoken account number "one zero zero one nine" may be written "10019", "100 19"
/// or "1 0 0 1 9". A dollar sign before them is a word of its own, so "$17 billion" against
/// "17 billion" is one word missing, not a whole number wrong (a digit run weighs one word a
/// digit). Tokens with other characters ("21st", "2.5", "$2.50") stay whole.
fn split_digit_runs(text: &str) -> String {
    let digits = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    let words: Vec<String> = text
        .split(' ')
        .flat_map(|w| match w.strip_prefix('$') {
            Some(amount) if digits(amount) => {
                std::iter::once("$".to_string()).chain(amount.chars().map(String::from)).collect()
            }
            _ if w.len() > 1 && digits(w) => w.chars().map(String::from).collect(),
            _ => vec![w.to_string()],
        })
        .collect();
    // "nine oh two": a spoken "oh" among digits is a zero.
    let digit = |w: Option<&String>| w.is_some_and(|w| w.len() == 1 && w.as_bytes()[0].is_ascii_digit());
    let zeroed: Vec<&str> = (0..words.len())
        .map(|i| {
            let oh = words[i] == "oh" || words[i] == "o";
            if oh && (digit(words.get(i + 1)) || (i > 0 && digit(words.get(i - 1)))) { "0" } else { words[i].as_str() }
        })
        .collect();
    zeroed.join(" ")
}

/// Chinese normalisation: Traditional → Simplified, full-width → half-width,
/// no punctuation, no spaces next to CJK characters, lowercase Latin words kept
/// one space apart. Arabic digits become the characters 〇一二三四五六七八九
/// one by one ("2024" → "二〇二四", "3.5" → "三点五"); reading Chinese numerals
/// back into numbers is ambiguous, whereas this rule is simple and symmetric.
/// It does not make "50" equal "五十".
pub fn normalize_zh(text: &str) -> String {
    let half: String = text.chars().map(to_half_width).collect();
    let simplified = zhconv::zhconv(&strip_bracketed(&half), zhconv::Variant::ZhHans);
    let chars: Vec<char> = simplified.to_lowercase().chars().collect();
    let is_digit = |k: Option<&char>| k.is_some_and(char::is_ascii_digit);
    let mut out = String::with_capacity(simplified.len());
    let mut prev: Option<char> = None;
    let mut gap = false;
    for (i, &c) in chars.iter().enumerate() {
        let c = match c {
            '0'..='9' => CN_DIGITS[usize::from(c as u8 - b'0')],
            // Keeps "3.5" readable as spoken ("三点五") instead of fusing the digits.
            '.' if i > 0 && is_digit(chars.get(i - 1)) && is_digit(chars.get(i + 1)) => '点',
            _ => c,
        };
        if !c.is_alphanumeric() {
            gap = true;
            continue;
        }
        if gap && prev.is_some_and(|p| !is_cjk(p)) && !is_cjk(c) {
            out.push(' ');
        }
        gap = false;
        prev = Some(c);
        out.push(c);
    }
    out
}

const CN_DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

fn to_half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Characters written without spaces between them, so spacing next to them
/// carries no meaning.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x3005..=0x3007 | 0x3040..=0x30FF | 0x3130..=0x318F
        | 0x31A0..=0x31BF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

/// Drops spans such as "[music]", "(laughs)" or "<unk>": annotators use them
/// for non-speech events that no recogniser is expected to transcribe. An
/// opener without a closer is left for the punctuation pass.
fn strip_bracketed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['[', '(', '<', '{']) {
        out.push_str(&rest[..pos]);
        // The brackets are ASCII, so byte offsets next to them are char boundaries.
        let close = match rest.as_bytes()[pos] {
            b'[' => ']',
            b'(' => ')',
            b'<' => '>',
            _ => '}',
        };
        match rest[pos..].find(close) {
            Some(len) => {
                out.push(' ');
                rest = &rest[pos + len + 1..];
            }
            None => {
                out.push_str(&rest[pos..=pos]);
                rest = &rest[pos + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    /// ASCII digits, possibly with decimal points, as written.
    Num(String),
    Dollar,
    Percent,
}

/// Splits into words, numbers and the two symbols that belong to numbers.
/// Everything else that is not alphanumeric separates words, except an
/// apostrophe inside a word, a decimal point between digits and a comma
/// grouping thousands (which is dropped, so "1,000" → "1000").
fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let is_digit = |k: usize| chars.get(k).is_some_and(char::is_ascii_digit);
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '$' => toks.push(Tok::Dollar),
            '%' => toks.push(Tok::Percent),
            c if c.is_alphanumeric() => {
                let mut word = String::new();
                while let Some(&c) = chars.get(i) {
                    let keep = c.is_alphanumeric()
                        || match c {
                            '\'' => chars.get(i + 1).is_some_and(|n| n.is_alphabetic()),
                            '.' => is_digit(i - 1) && is_digit(i + 1),
                            ',' => is_digit(i - 1) && (1..=3).all(|k| is_digit(i + k)) && !is_digit(i + 4),
                            _ => false,
                        };
                    if !keep {
                        break;
                    }
                    if c != ',' {
                        word.push(c);
                    }
                    i += 1;
                }
                let numeric = word.chars().all(|c| c.is_ascii_digit() || c == '.');
                let make = if numeric { Tok::Num } else { Tok::Word };
                toks.push(make(word));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    toks
}

/// Contractions and informal spellings that transcripts write both ways.
/// "ain't" stays whole: "ai not" is nonsense and its meaning is ambiguous.
const WHOLE_WORDS: &str = "won't:will not|can't:can not|cannot:can not|shan't:shall not|\
    ain't:ain't|let's:let us|y'all:you all|gonna:going to|wanna:want to|gotta:got to|ok:okay|\
    alright:all right";
const SUFFIXES: &str = "n't:not|'re:are|'ve:have|'ll:will|'m:am|'d:would";
/// Words whose "'s" is "is"/"has", never a possessive.
const S_IS: &str = "it that what there here where who how he she when why";

/// Appends the expansion of `word` to `out`. `next` decides "'s"/"'d" as
/// "has"/"had" before a past participle ("it's been", "I'd gone").
fn expand_contraction(word: &str, next: Option<&str>, out: &mut Vec<Tok>) {
    let lookup = |table: &'static str| table.split('|').filter_map(|p| p.split_once(':'));
    if let Some((_, full)) = lookup(WHOLE_WORDS).find(|(w, _)| *w == word) {
        out.extend(full.split(' ').map(|w| Tok::Word(w.to_string())));
        return;
    }
    if let Some(stem) = word.strip_suffix("'s")
        && S_IS.split(' ').any(|w| w == stem)
    {
        let has = matches!(next, Some("been" | "got" | "gone"));
        out.extend([stem, if has { "has" } else { "is" }].map(|w| Tok::Word(w.to_string())));
        return;
    }
    for (suffix, full) in lookup(SUFFIXES) {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.ends_with(char::is_alphanumeric)
        {
            // Handles stacked forms such as "shouldn't've".
            expand_contraction(stem, Some(full), out);
            let had = suffix == "'d" && matches!(next, Some("been" | "gone" | "done" | "got" | "had" | "better"));
            out.push(Tok::Word(if had { "had" } else { full }.to_string()));
            return;
        }
    }
    // Possessives ("john's"), "o'clock" and the like are kept as written.
    out.push(Tok::Word(word.to_string()));
}

/// Hesitations carry no content and annotators disagree on writing them.
fn is_filler(word: &str) -> bool {
    let mut squeezed: Vec<char> = word.chars().collect();
    squeezed.dedup();
    let squeezed: String = squeezed.into_iter().collect();
    match squeezed.as_str() {
        "um" | "uh" | "uhm" | "hm" | "mhm" | "er" | "erm" | "ah" => true,
        // A lone "m" is a letter; "mm", "mmm" are hums.
        "m" => word.len() > 1,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Unit,
    Teen,
    Tens,
    Hundred,
    Scale,
}

/// A number word: its value, the power of ten for "hundred" and the scales
/// (0 otherwise), and whether it is an ordinal ("fifth", "hundredth").
#[derive(Debug, Clone, Copy)]
struct NumWord(Kind, u64, u32, bool);

const UNITS: &str = "zero one two three four five six seven eight nine ten eleven twelve \
    thirteen fourteen fifteen sixteen seventeen eighteen nineteen";
const UNIT_ORDINALS: &str = "zeroth first second third fourth fifth sixth seventh eighth ninth \
    tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth \
    nineteenth";
const TENS: &str = "twenty thirty forty fifty sixty seventy eighty ninety";
const POWERS: &str = "hundred thousand million billion trillion";
const POWER_EXPS: [u32; 5] = [2, 3, 6, 9, 12];

fn number_word(w: &str) -> Option<NumWord> {
    let find = |list: &str, w: &str| list.split(' ').position(|x| x == w).map(|p| p as u64);
    let (value, exp, ordinal) = if let Some(v) = find(UNITS, w) {
        (v, 0, false)
    } else if let Some(v) = find(UNIT_ORDINALS, w) {
        (v, 0, true)
    } else if let Some(v) = find(TENS, w) {
        (20 + 10 * v, 0, false)
    } else if let Some(v) = w.strip_suffix("ieth").and_then(|s| find(TENS, &format!("{s}y"))) {
        (20 + 10 * v, 0, true)
    } else {
        let (stem, ordinal) = w.strip_suffix("th").map_or((w, false), |s| (s, true));
        let exp = POWER_EXPS[usize::try_from(find(POWERS, stem)?).ok()?];
        (10u64.pow(exp), exp, ordinal)
    };
    let kind = match value {
        0..=9 => Kind::Unit,
        10..=19 => Kind::Teen,
        20..=99 => Kind::Tens,
        100 => Kind::Hundred,
        _ => Kind::Scale,
    };
    Some(NumWord(kind, value, exp, ordinal))
}

fn word_at(toks: &[Tok], k: usize) -> Option<&str> {
    match toks.get(k) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

/// Exponent of a cardinal "hundred"/scale word at `toks[k]`.
fn power_at(toks: &[Tok], k: usize) -> Option<u32> {
    word_at(toks, k).and_then(number_word).filter(|n| n.2 > 0 && !n.3).map(|n| n.2)
}

/// A cardinal "zero".."nine" or "oh" at `toks[k]`, as used after "point".
fn digit_at(toks: &[Tok], k: usize) -> Option<u64> {
    match word_at(toks, k)? {
        "oh" => Some(0),
        w => number_word(w).filter(|n| n.0 == Kind::Unit && !n.3).map(|n| n.1),
    }
}

/// Multiplies a decimal digit string by 10^exp ("2.5", 6 → "2500000"). Works
/// on the digits, so no length of input can overflow.
fn shift_decimal(s: &str, exp: u32) -> Option<String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    // Leading zeros ("007") mark identifiers, not quantities to rescale.
    if frac.contains('.') || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let exp = usize::try_from(exp).ok()?;
    let padded = format!("{frac:0<exp$}");
    let (moved, rest) = padded.split_at_checked(exp)?;
    let int = format!("{int}{moved}");
    let int = match int.trim_start_matches('0') {
        "" => "0",
        t => t,
    };
    let point = if rest.is_empty() { "" } else { "." };
    Some(format!("{int}{point}{rest}"))
}

fn ordinal_suffix(n: u64) -> &'static str {
    match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

/// Parses the number starting at `toks[start]`, returning its digit form,
/// how many tokens it used and whether it was an ordinal.
fn parse_number(toks: &[Tok], start: usize) -> Option<(String, usize, bool)> {
    if let Some(Tok::Num(lit)) = toks.get(start) {
        // "5 million", "2.5 billion", "5 hundred thousand"
        let (mut text, mut k, mut exp) = (lit.clone(), start + 1, 0);
        while let Some(e) = power_at(toks, k).filter(|&e| e > exp)
            && let Some(shifted) = shift_decimal(lit, exp + e)
        {
            (text, k, exp) = (shifted, k + 1, exp + e);
        }
        return Some((text, k - start, false));
    }
    let prev = match start.checked_sub(1).and_then(|p| toks.get(p)) {
        Some(Tok::Word(w) | Tok::Num(w)) => w.as_str(),
        _ => "",
    };
    // "a second", "one second", "per second" are durations, not ranks.
    if word_at(toks, start) == Some("second")
        && matches!(prev, "a" | "an" | "one" | "1" | "per" | "each" | "every" | "split")
    {
        return None;
    }
    // `group` is the part below the last scale word. The order rules below
    // keep it under 10^4 and `total` under 10^17, so u64 cannot overflow.
    let (mut total, mut group, mut min_exp) = (0u64, 0u64, u32::MAX);
    let mut last: Option<Kind> = None;
    let mut k = start;
    if word_at(toks, k) == Some("a") && power_at(toks, k + 1).is_some() {
        // "a hundred", "a million"
        (group, last, k) = (1, Some(Kind::Unit), k + 1);
    }
    while let Some(w) = word_at(toks, k) {
        if w == "and" && matches!(last, Some(Kind::Hundred | Kind::Scale)) {
            // Only inside a number: "one hundred and five", not "five and six".
            match word_at(toks, k + 1).and_then(number_word) {
                Some(NumWord(Kind::Teen | Kind::Tens, ..)) => k += 1,
                Some(NumWord(Kind::Unit, v, ..)) if v > 0 => k += 1,
                _ => break,
            }
            continue;
        }
        if w == "point" && last.is_some() && digit_at(toks, k + 1).is_some() {
            let mut text = format!("{}.", total + group);
            k += 1;
            while let Some(d) = digit_at(toks, k) {
                text.push_str(&d.to_string());
                k += 1;
            }
            // "two point five million"
            if min_exp == u32::MAX
                && let Some(shifted) = power_at(toks, k).and_then(|e| shift_decimal(&text, e))
            {
                (text, k) = (shifted, k + 1);
            }
            return Some((text, k - start, false));
        }
        // Years: "nineteen sixty one" → 1961, "twenty twenty" → 2020,
        // "nineteen oh five" → 1905. Ten to twelve are left out because
        // "eleven thirty" is far more often a time of day (written "11:30").
        let year_head = total == 0 && (13..=99).contains(&group);
        if year_head
            && w == "oh"
            && let Some(d) = digit_at(toks, k + 1).filter(|&d| d > 0)
        {
            return Some(((group * 100 + d).to_string(), k + 2 - start, false));
        }
        let Some(NumWord(kind, value, exp, ordinal)) = number_word(w) else {
            break;
        };
        let allowed = match kind {
            Kind::Unit if value == 0 => last.is_none(),
            Kind::Unit => matches!(last, None | Some(Kind::Tens | Kind::Hundred | Kind::Scale)),
            Kind::Teen | Kind::Tens => matches!(last, None | Some(Kind::Hundred | Kind::Scale)),
            Kind::Hundred => !matches!(last, Some(Kind::Hundred | Kind::Scale)) && group < 100,
            Kind::Scale => last != Some(Kind::Scale) && exp < min_exp,
        };
        if !allowed {
            if year_head && !ordinal && matches!(kind, Kind::Teen | Kind::Tens) {
                let mut year = group * 100 + value;
                k += 1;
                if kind == Kind::Tens
                    && let Some(d) = digit_at(toks, k).filter(|&d| d > 0)
                {
                    (year, k) = (year + d, k + 1);
                }
                return Some((year.to_string(), k - start, false));
            }
            break;
        }
        match kind {
            Kind::Unit | Kind::Teen | Kind::Tens => group += value,
            Kind::Hundred => group = group.max(1) * 100,
            Kind::Scale => (total, group, min_exp) = (total + group.max(1) * value, 0, exp),
        }
        (last, k) = (Some(kind), k + 1);
        if ordinal {
            let n = total + group;
            return Some((format!("{n}{}", ordinal_suffix(n)), k - start, true));
        }
    }
    last?;
    Some(((total + group).to_string(), k - start, false))
}

/// Rewrites number words and digit strings into digits, attaching "%" and
/// "$" ("ten percent" → "10%", "five dollars and fifty cents" → "$5.50").
/// Digits spoken one by one stay separate words ("one two" → "1 2").
fn convert_numbers(toks: &[Tok]) -> Vec<String> {
    let mut out = Vec::with_capacity(toks.len());
    let mut dollar = false;
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == Tok::Dollar {
            (dollar, i) = (true, i + 1);
            continue;
        }
        let Some((mut text, used, ordinal)) = parse_number(toks, i) else {
            if let Tok::Word(w) = &toks[i] {
                out.push(w.clone());
            }
            // A "$" or "%" with no number next to it is just punctuation.
            (dollar, i) = (false, i + 1);
            continue;
        };
        i += used;
        let next = if ordinal { None } else { word_at(toks, i) };
        if !ordinal && (toks.get(i) == Some(&Tok::Percent) || next == Some("percent")) {
            text.push('%');
            i += 1;
        } else if next == Some("per") && word_at(toks, i + 1) == Some("cent") {
            text.push('%');
            i += 2;
        } else if matches!(next, Some("dollar" | "dollars")) {
            dollar = true;
            i += 1;
            if !text.contains('.')
                && let Some((cents, used)) = cents_at(toks, i)
            {
                text = format!("{text}.{cents:02}");
                i += used;
            }
        }
        out.push(if dollar { format!("${text}") } else { text });
        dollar = false;
    }
    out
}

/// "[and] fifty cents" after "... dollars".
fn cents_at(toks: &[Tok], start: usize) -> Option<(u64, usize)> {
    let k = start + usize::from(word_at(toks, start) == Some("and"));
    let (text, used, ordinal) = parse_number(toks, k)?;
    let cents: u64 = text.parse().ok().filter(|&c| c < 100 && !ordinal)?;
    let unit = matches!(word_at(toks, k + used), Some("cent" | "cents"));
    unit.then_some((cents, k + used + 1 - start))
}

#[cfg(test)]
mod scoring_tests {
    use super::*;

    #[test]
    fn digit_strings_score_digit_by_digit() {
        let spoken = normalize("one zero zero zero one nine oh two", "en");
        assert_eq!(spoken, normalize("1,0001. 902.", "en"));
        assert_eq!(normalize("twenty five dollars in 2021", "en"), "$ 2 5 in 2 0 2 1");
        assert_eq!(normalize("$17 billion", "en"), format!("$ {}", normalize("17 billion", "en")));
        assert_eq!(normalize("$2.50", "en"), "$2.50");
        assert_eq!(normalize("oh well", "en"), "oh well");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a table of "input => expected" lines (each side trimmed).
    fn check_en(table: &str) {
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (input, expected) = line.split_once("=>").expect("table line without =>");
            let (input, expected) = (input.trim(), expected.trim());
            assert_eq!(normalize_en(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn en_case_punctuation_and_spacing() {
        check_en(
            r#"
            Hello, World! => hello world
            ?!... -- ; =>
            well-known e-mail => well known e mail
            U.S.A. rocks => u s a rocks
            Café Über => café über
            "quoted" 'single' => quoted single
            "#,
        );
        assert_eq!(normalize_en("  a \t b\n\nc "), "a b c");
        assert_eq!(normalize_en(""), "");
    }

    #[test]
    fn en_brackets_and_fillers() {
        check_en(
            "
            [music] Hello (laughs) there <unk> {noise} => hello there
            [Applause] =>
            unclosed ( bracket => unclosed bracket
            Um, I uh think, hmm, that's mm right. Er, ah. => i think that is right
            ummm uhh hmmm mhm erm =>
            m is a letter, ahead of a hum => m is a letter ahead of a hum
            ",
        );
    }

    #[test]
    fn en_contractions() {
        check_en(
            "
            I won't, can't, cannot, shan't => i will not can not can not shall not
            don't isn't didn't => do not is not did not
            you're we've they'll I'm she'd => you are we have they will i am she would
            Let's go => let us go
            It's fine, that's it, what's up => it is fine that is it what is up
            it's been, he's got, she's gone => it has been he has got she has gone
            I'd been there, you'd better => i had been there you had better
            shouldn't've => should not have
            don’t ‘quote’ => do not quote
            John's car, the students' books => john's car the students books
            ain't o'clock y'all => ain't o'clock you all
            gonna wanna gotta ok alright => going to want to got to okay all right
            ",
        );
    }

    #[test]
    fn en_digits_as_written() {
        check_en(
            "
            3.14 is pi. => 3.14 is pi
            1,000 people and 1,000,000 ants => 1000 people and 1000000 ants
            apples, 3, pears,4 => apples 3 pears 4
            12,34 => 12 34
            555-1234 => 555 1234
            007 => 007
            1.2.3 => 1.2.3
            21st 2nd mp3 => 21st 2nd mp3
            ",
        );
    }

    #[test]
    fn en_cardinals() {
        check_en(
            "
            two => 2
            zero => 0
            twenty five => 25
            Twenty-five => 25
            one hundred and five => 105
            one hundred five => 105
            three thousand => 3000
            two thousand and five => 2005
            a hundred and twenty => 120
            a million => 1000000
            one million two hundred thousand three hundred and four => 1200304
            nine hundred ninety nine billion => 999000000000
            twenty five hundred => 2500
            five million => 5000000
            5 million => 5000000
            2.5 billion => 2500000000
            5 hundred thousand => 500000
            0.5 million => 500000
            1.2345 thousand => 1234.5
            no one => no 1
            ",
        );
    }

    #[test]
    fn en_number_boundaries() {
        check_en(
            "
            one two three => 1 2 3
            five six => 5 6
            two and three => 2 and 3
            one hundred and => 100 and
            a cat => a cat
            the point is => the point is
            two point => 2 point
            zero zero seven => 0 0 7
            thousands of people => thousands of people
            eleven thirty => 11 30
            um twenty uh five => 25
            ",
        );
    }

    #[test]
    fn en_decimals_and_years() {
        check_en(
            "
            two point five => 2.5
            three point one four => 3.14
            two point oh => 2.0
            two point five million => 2500000
            nineteen sixty one => 1961
            nineteen sixty => 1960
            twenty twenty four => 2024
            twenty twelve => 2012
            nineteen oh five => 1905
            nineteen hundred => 1900
            nineteen hundred and five => 1905
            in nineteen eighty four we => in 1984 we
            ",
        );
    }

    #[test]
    fn en_ordinals() {
        check_en(
            "
            first => 1st
            twenty first => 21st
            twenty-third => 23rd
            eleventh twelfth thirteenth => 11th 12th 13th
            one hundred and twelfth => 112th
            hundredth => 100th
            twentieth ninetieth => 20th 90th
            the second floor => the 2nd floor
            wait a second => wait a second
            one second => 1 second
            per second => per second
            ",
        );
    }

    #[test]
    fn en_percent_and_dollars() {
        check_en(
            "
            ten percent => 10%
            10 % => 10%
            10% => 10%
            ten per cent => 10%
            two point five percent => 2.5%
            100% sure => 100% sure
            five dollars => $5
            $5 => $5
            $ 5 => $5
            one dollar => $1
            $5 million => $5000000
            five million dollars => $5000000
            five dollars and fifty cents => $5.50
            five dollars five cents => $5.05
            $5.50 => $5.50
            $1,000 => $1000
            a dollar => a dollar
            costs $ and % => costs and
            ",
        );
    }

    #[test]
    fn en_spoken_and_written_forms_meet() {
        let pairs = [
            ("Two", "2"),
            ("It's twenty-five percent.", "it is 25%"),
            ("I can't pay $1,000.", "i cannot pay one thousand dollars"),
            ("Born in 1961.", "born in nineteen sixty one"),
            ("the 21st of May", "the twenty first of may"),
            ("[noise] Um, that costs $5.50", "that costs five dollars and fifty cents"),
            ("2.5 million", "two point five million"),
            ("We're open 24 hours", "we are open twenty four hours"),
        ];
        for (a, b) in pairs {
            assert_eq!(normalize_en(a), normalize_en(b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn en_survives_hostile_input() {
        let long = "9".repeat(200);
        assert_eq!(normalize_en(&format!("{long} trillion")), format!("{long}000000000000"));
        let odd = "a trillion trillion thousandth ((( ]]] $$$ %%% 's n't 'd";
        assert_eq!(normalize_en(odd), "1000000000000 1000000000000 1000th s n't d");
        assert_eq!(normalize_en("first point five"), "1st point 5");
    }

    #[test]
    fn zh_script_punctuation_and_spacing() {
        let cases = [
            ("我們說話", "我们说话"),
            ("你好，世界！", "你好世界"),
            ("今天 天气 很好。", "今天天气很好"),
            ("我用 iPhone  Pro 手机", "我用iphone pro手机"),
            ("Hello, World", "hello world"),
            ("ＡＢＣ　ｄｅｆ，好", "abc def好"),
            ("（笑）你好[噪音]", "你好"),
            ("「引号」《书名》…—", "引号书名"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_zh(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn zh_digits_become_chinese_numerals() {
        assert_eq!(normalize_zh("2024年"), "二〇二四年");
        assert_eq!(normalize_zh("３.５"), "三点五");
        assert_eq!(normalize_zh("第1名 2."), "第一名二");
        assert_eq!(normalize_zh("二〇二四年"), normalize_zh("2024年"));
    }

    #[test]
    fn dispatch_on_language_tag() {
        for zh in ["zh", "ZH", "zh-TW", "zh_CN", "cmn", "cmn-Hans"] {
            assert_eq!(normalize("說，Two", zh), "说two", "{zh}");
        }
        for en in ["en", "en-US", "", "fr", "yue"] {
            assert_eq!(normalize("Two!", en), "2", "{en}");
        }
    }
}
