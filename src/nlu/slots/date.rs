//! Dates, relative to `today`: "yesterday", "last Friday", "November 21", "21st of November",
//! "11/21", "2026-11-21", "3 days ago"; 昨天, 上周五, 星期一, "11月21号", "3天前".
//!
//! Week days and dates without a year resolve by [`DateBias`]: the latest such day on or before
//! today (`Past`), or the first on or after it (`Future`). "last Friday" is the latest Friday
//! before today, as English speakers mean it; 上周五 is Friday of the previous calendar week
//! (weeks start on Monday), as Chinese speakers mean it.

use std::ops::Range;
use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate, TimeDelta, Weekday};
use regex::{Captures, Regex};

use super::{DateBias, Taken, earliest};

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";
const ORDINALS: [&str; 19] = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];

fn re(pattern: &str) -> Regex {
    let ordinals = format!("{}|twentieth|thirtieth", ORDINALS.join("|"));
    let day = format!(r"(\d+(?:st|nd|rd|th)?|{ordinals})");
    let pattern = pattern.replace("MONTH", &format!("({MONTHS})")).replace("DAY", &day);
    Regex::new(&pattern).expect("date pattern is valid")
}

static REL_EN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:the\s+)?(day\s+before\s+yesterday|day\s+after\s+tomorrow|yesterday|today|tonight|tomorrow)\b")
});
static REL_ZH: LazyLock<Regex> = LazyLock::new(|| re("大前天|前天|昨天|昨日|今天|今日|今晚|明天|明日|大后天|后天"));
static WEEKDAY_EN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:(last|this|next|coming|on)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
});
static WEEKDAY_ZH: LazyLock<Regex> =
    LazyLock::new(|| re("(上上|上|这|本|下下|下)?个?(?:周|星期|礼拜)([一二三四五六日天1-7])"));
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bMONTH\.?\s+(?:the\s+)?DAY\b(?:,?\s*(\d{4})\b)?"));
static DAY_MONTH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:the\s+)?DAY\s+(?:of\s+)?MONTH\b(?:,?\s*(\d{4})\b)?"));
static ON_THE_DAY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bon\s+the\s+DAY\b"));
static ISO: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"));
static SLASH: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b"));
static AGO_EN: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:(in)\s+)?(\d+|an?)\s+(days?|weeks?)(\s+ago)?\b"));
static ZH_MONTH_DAY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*(?:号|日)?"));
static ZH_DAY: LazyLock<Regex> = LazyLock::new(|| re(r"(一|\d{1,2})\s*(?:号|日)"));
/// "上个月15号", "这个月1号", "下月3号".
static ZH_MONTH_REL_DAY: LazyLock<Regex> = LazyLock::new(|| re(r"(上|这|本|下)个?月\s*(一|\d{1,2})\s*(?:号|日)"));
static AGO_ZH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d+|一|两)\s*(个星期|个礼拜|星期|礼拜|周|天)\s*(以前|之前|前|以后|之后|后)"));

/// The first date in `text`, and its span, which is marked taken.
pub(super) fn find(
    text: &str,
    today: NaiveDate,
    bias: DateBias,
    taken: &mut Taken,
) -> Option<(NaiveDate, Range<usize>)> {
    let mut found: Vec<(Range<usize>, NaiveDate)> = Vec::new();
    let mut each = |regex: &Regex, resolve: &dyn Fn(&Captures<'_>) -> Option<NaiveDate>| {
        for c in regex.captures_iter(text) {
            let span = c.get(0).expect("group 0").range();
            if let Some(date) = resolve(&c).filter(|_| !taken.overlaps(&span)) {
                found.push((span, date));
            }
        }
    };
    let days = |n: i64| today.checked_add_signed(TimeDelta::days(n));
    each(&REL_EN, &|c| {
        let word = c[1].to_ascii_lowercase();
        days(match word.split_whitespace().collect::<Vec<_>>()[..] {
            ["day", "before", _] => -2,
            ["day", "after", _] => 2,
            ["yesterday"] => -1,
            ["tomorrow"] => 1,
            _ => 0,
        })
    });
    each(&REL_ZH, &|c| {
        days(match &c[0] {
            "大前天" => -3,
            "前天" => -2,
            "昨天" | "昨日" => -1,
            "明天" | "明日" => 1,
            "后天" => 2,
            "大后天" => 3,
            _ => 0,
        })
    });
    each(&WEEKDAY_EN, &|c| {
        let day: Weekday = c[2].parse().ok()?;
        let relation = c.get(1).map(|m| m.as_str().to_ascii_lowercase());
        match relation.as_deref() {
            Some("last") => last_before(today, day, 1),
            Some("next") => first_after(today, day, 1),
            Some("this" | "coming") => in_week(today, day, 0),
            _ => by_bias(today, day, bias),
        }
    });
    each(&WEEKDAY_ZH, &|c| {
        // "一周一次" (once a week), "每周一" (every Monday): not a date.
        let start = c.get(0)?.start();
        let before = text[..start].chars().next_back();
        if c.get(1).is_none() && before.is_some_and(|b| "一两几每0123456789".contains(b)) {
            return None;
        }
        let day = match &c[2] {
            "一" | "1" => Weekday::Mon,
            "二" | "2" => Weekday::Tue,
            "三" | "3" => Weekday::Wed,
            "四" | "4" => Weekday::Thu,
            "五" | "5" => Weekday::Fri,
            "六" | "6" => Weekday::Sat,
            _ => Weekday::Sun,
        };
        match c.get(1).map(|m| m.as_str()) {
            Some("上上") => in_week(today, day, -2),
            Some("上") => in_week(today, day, -1),
            Some("这" | "本") => in_week(today, day, 0),
            Some("下") => in_week(today, day, 1),
            Some("下下") => in_week(today, day, 2),
            _ => by_bias(today, day, bias),
        }
    });
    each(&MONTH_DAY, &|c| month_day(today, bias, month(&c[1])?, &c[2], c.get(3)));
    each(&DAY_MONTH, &|c| month_day(today, bias, month(&c[2])?, &c[1], c.get(3)));
    each(&ON_THE_DAY, &|c| day_of_month(today, bias, day(&c[1])?));
    each(&ISO, &|c| NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?));
    each(&SLASH, &|c| {
        let (a, b) = (&c[1], &c[2]);
        // "3/4" is as likely a fraction as a date.
        if a.len() + b.len() < 3 && c.get(3).is_none() {
            return None;
        }
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        let year = c.get(3).map(|y| if y.len() == 2 { format!("20{}", y.as_str()) } else { y.as_str().to_string() });
        let (m, d) = if a <= 12 { (a, b) } else { (b, a) };
        resolve_month_day(today, bias, m, d, year.and_then(|y| y.parse().ok()))
    });
    each(&AGO_EN, &|c| {
        let n: i64 = if c[2].starts_with(['a', 'A']) { 1 } else { c[2].parse().ok()? };
        let n = if c[3].to_ascii_lowercase().starts_with("week") { n * 7 } else { n };
        match (c.get(1).is_some(), c.get(4).is_some()) {
            (false, true) => days(-n),
            (true, false) => days(n),
            _ => None,
        }
    });
    each(&ZH_MONTH_DAY, &|c| {
        let start = c.get(0)?.start();
        if text[..start].ends_with(|b: char| b.is_ascii_digit()) {
            return None;
        }
        let year = c.get(1).and_then(|y| y.as_str().parse().ok());
        resolve_month_day(today, bias, c[2].parse().ok()?, c[3].parse().ok()?, year)
    });
    each(&ZH_DAY, &|c| {
        let m = c.get(0)?;
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        // Digits of a longer run, the day of "11月21号" (read whole above), "3号线" (a metro
        // line), "2号楼", "5日元" (yen).
        let month_before = text[..m.start()].trim_end_matches('月').ends_with(|b: char| b.is_ascii_digit());
        if before.is_some_and(|b| b.is_ascii_digit()) || before == Some('月') && month_before {
            return None;
        }
        if after.is_some_and(|a| "线楼房床键码单元本".contains(a)) {
            return None;
        }
        let d = if &c[1] == "一" { 1 } else { c[1].parse().ok()? };
        day_of_month(today, bias, d)
    });
    each(&ZH_MONTH_REL_DAY, &|c| {
        let first = today.with_day(1)?;
        let month = match &c[1] {
            "上" => first.checked_sub_months(Months::new(1))?,
            "下" => first.checked_add_months(Months::new(1))?,
            _ => first,
        };
        month.with_day(if &c[2] == "一" { 1 } else { c[2].parse().ok()? })
    });
    each(&AGO_ZH, &|c| {
        let n: i64 = match &c[1] {
            "一" => 1,
            "两" => 2,
            digits => digits.parse().ok()?,
        };
        let n = if &c[2] == "天" { n } else { n * 7 };
        if c[3].ends_with('前') { days(-n) } else { days(n) }
    });
    let (span, date) = earliest(found)?;
    taken.add(span.clone());
    Some((date, span))
}

fn month(name: &str) -> Option<u32> {
    let name = name.to_ascii_lowercase();
    let names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    names.iter().position(|&n| name.starts_with(n)).map(|p| p as u32 + 1)
}

fn day(word: &str) -> Option<u32> {
    let word = word.to_ascii_lowercase();
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !digits.is_empty() {
        return digits.parse().ok();
    }
    match word.as_str() {
        "twentieth" => Some(20),
        "thirtieth" => Some(30),
        _ => ORDINALS.iter().position(|&o| o == word).map(|p| p as u32 + 1),
    }
}

/// A month name with a day and perhaps a year. "november 212026" is "November 21 2026" whose
/// day and year the digit-run pass joined.
fn month_day(
    today: NaiveDate,
    bias: DateBias,
    month: u32,
    day_word: &str,
    year: Option<regex::Match<'_>>,
) -> Option<NaiveDate> {
    let mut year: Option<i32> = year.and_then(|y| y.as_str().parse().ok());
    let mut d = day(day_word)?;
    if (5..=6).contains(&day_word.len()) && day_word.bytes().all(|b| b.is_ascii_digit()) && year.is_none() {
        let (dd, yyyy) = day_word.split_at(day_word.len() - 4);
        year = Some(yyyy.parse().ok().filter(|y| (1900..=2100).contains(y))?);
        d = dd.parse().ok()?;
    }
    resolve_month_day(today, bias, month, d, year)
}

/// A month and day in the given year, or else in the year the bias points to.
fn resolve_month_day(today: NaiveDate, bias: DateBias, month: u32, day: u32, year: Option<i32>) -> Option<NaiveDate> {
    if let Some(y) = year {
        return NaiveDate::from_ymd_opt(y, month, day);
    }
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day);
    match (bias, this_year) {
        (DateBias::Past, Some(d)) if d <= today => Some(d),
        (DateBias::Past, _) => NaiveDate::from_ymd_opt(today.year() - 1, month, day),
        (DateBias::Future, Some(d)) if d >= today => Some(d),
        (DateBias::Future, _) => NaiveDate::from_ymd_opt(today.year() + 1, month, day),
    }
}

/// A day of this month, or of the month before (after) when that day is still to come (gone).
fn day_of_month(today: NaiveDate, bias: DateBias, day: u32) -> Option<NaiveDate> {
    let this_month = today.with_day(day);
    match (bias, this_month) {
        (DateBias::Past, Some(d)) if d <= today => Some(d),
        (DateBias::Past, _) => today.checked_sub_months(Months::new(1))?.with_day(day),
        (DateBias::Future, Some(d)) if d >= today => Some(d),
        (DateBias::Future, _) => today.checked_add_months(Months::new(1))?.with_day(day),
    }
}

/// Days back from `today` to the latest `day`, at least `min` days back.
fn last_before(today: NaiveDate, day: Weekday, min: i64) -> Option<NaiveDate> {
    let back = (today.weekday().num_days_from_monday() as i64 - day.num_days_from_monday() as i64).rem_euclid(7);
    let back = if back < min { back + 7 } else { back };
    today.checked_sub_signed(TimeDelta::days(back))
}

fn first_after(today: NaiveDate, day: Weekday, min: i64) -> Option<NaiveDate> {
    let ahead = (day.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64).rem_euclid(7);
    let ahead = if ahead < min { ahead + 7 } else { ahead };
    today.checked_add_signed(TimeDelta::days(ahead))
}

/// `day` in the calendar week `weeks` from this one (weeks start on Monday).
fn in_week(today: NaiveDate, day: Weekday, weeks: i64) -> Option<NaiveDate> {
    let monday = today.checked_sub_signed(TimeDelta::days(today.weekday().num_days_from_monday() as i64))?;
    monday.checked_add_signed(TimeDelta::days(7 * weeks + day.num_days_from_monday() as i64))
}

fn by_bias(today: NaiveDate, day: Weekday, bias: DateBias) -> Option<NaiveDate> {
    match bias {
        DateBias::Past => last_before(today, day, 0),
        DateBias::Future => first_after(today, day, 0),
    }
}
