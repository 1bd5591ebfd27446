//! Chinese numerals → ASCII digits: "二零二三" → "2023", "一百零五" → "105", "三点五" → "3.5".
//!
//! Numeral characters also spell ordinary words ("一下", "统一", "十分", "三星"), so a run of
//! numerals is rewritten only when the text around it says it is a number; see
//! [`super::normalize_numbers`] for the rules.

use super::is_cjk;

/// Words whose numerals are not numbers: (word, unless followed by, unless preceded by).
/// Most are also caught by the general rules; listing them keeps them safe from rule changes.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    ("一下", "", ""),
    ("一直", "", ""),
    ("一起", "", ""),
    ("一样", "", ""),
    ("一些", "", ""),
    ("一定", "", ""),
    ("一般", "", ""),
    ("一切", "", ""),
    ("一共", "", ""),
    ("一半", "", ""),
    ("统一", "", ""),
    ("唯一", "", ""),
    ("同一", "", ""),
    ("专一", "", ""),
    ("万一", "", ""),
    ("之一", "", "分"),
    ("初一", "", ""),
    ("五一", "", ""),
    ("十分", "钟之", "点"),
    ("零钱", "", ""),
    ("零件", "", ""),
    ("十足", "", ""),
    ("三星", "期", ""),
    ("三番五次", "", ""),
    ("乱七八糟", "", ""),
    ("三三两两", "", ""),
];

/// Words that follow a number and make the number a count, a date or a time.
const MEASURES: &[&str] = &[
    "个", "位", "件", "只", "条", "张", "本", "台", "部", "支", "把", "瓶", "杯", "盒", "箱", "包", "袋", "双", "对",
    "套", "份", "块", "元", "角", "毛", "分", "钱", "斤", "公斤", "千克", "克", "吨", "米", "公里", "升", "天", "日",
    "号", "月", "年", "周", "星期", "礼拜", "小时", "钟头", "秒", "点", "刻", "岁", "次", "遍", "回", "趟", "楼", "层",
    "栋", "室", "倍", "成", "折", "度", "种", "样", "家", "名", "人", "口", "间", "辆", "颗", "片", "页", "期", "单",
    "笔", "项", "批", "码",
];

/// Characters after which a lone 一 is a number: "第一", "请按一", "十一月一号", "三块一".
const ONE_CUES: &str = "第按拨选项是为号月块元毛角之";

fn digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' | '幺' => 1,
        '二' | '贰' | '两' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1_000,
        '万' => 10_000,
        '亿' => 100_000_000,
        _ => return None,
    })
}

fn is_numeral(c: char) -> bool {
    digit(c).is_some() || unit(c).is_some()
}

fn starts_with(chars: &[char], word: &str) -> bool {
    let n = word.chars().count();
    chars.len() >= n && chars.iter().zip(word.chars()).all(|(&c, w)| c == w)
}

fn ends_with(chars: &[char], word: &str) -> bool {
    let n = word.chars().count();
    chars.len() >= n && starts_with(&chars[chars.len() - n..], word)
}

fn starts_with_measure(chars: &[char]) -> bool {
    MEASURES.iter().any(|m| starts_with(chars, m))
}

pub(super) fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_numeral(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (run, end) = collect_run(&chars, i);
        match rewrite(&run, &chars[..i], &chars[end..]) {
            Some(digits) => out.push_str(&digits),
            None => out.extend(&chars[i..end]),
        }
        i = end;
    }
    out
}

/// The numerals from `start` on, as far as they go: spaces between numerals are skipped (ASR
/// puts stray ones into Chinese), and 点 is kept when decimal digits follow it that are not a
/// time ("三点五分" is 3:05).
fn collect_run(chars: &[char], start: usize) -> (Vec<char>, usize) {
    let mut run = Vec::new();
    let mut j = start;
    let mut end = start;
    let mut decimal = false;
    while j < chars.len() {
        let c = chars[j];
        if is_numeral(c) {
            if decimal && unit(c).is_some() && !matches!(c, '万' | '亿') {
                break;
            }
            run.push(c);
            j += 1;
            end = j;
        } else if c.is_whitespace() && !run.is_empty() {
            let k = j + chars[j..].iter().take_while(|c| c.is_whitespace()).count();
            if k >= chars.len() || !is_numeral(chars[k]) || decimal {
                break;
            }
            j = k;
        } else if c == '点' && !decimal && !run.is_empty() {
            let frac = chars[j + 1..].iter().take_while(|&&c| digit(c).is_some()).count();
            if frac == 0 || chars.get(j + 1 + frac).is_some_and(|&c| c == '分' || c == '刻') {
                break;
            }
            decimal = true;
            run.push(c);
            j += 1;
        } else {
            break;
        }
    }
    (run, end)
}

/// The digits for one run, or None to keep it as written. `before` and `after` are the whole
/// text on either side.
fn rewrite(run: &[char], before: &[char], after: &[char]) -> Option<String> {
    let text: String = run.iter().collect();
    let prev = before.last().copied();
    let next = after.first().copied();
    if is_exception(&text, before, after) {
        return None;
    }
    if matches!(run[0], '百' | '千' | '万' | '亿' | '佰' | '仟') {
        return None;
    }
    let ordinal = prev == Some('第');
    if run.len() == 1 && !ordinal {
        let c = run[0];
        let weekday = ["周", "星期", "礼拜"].iter().any(|w| ends_with(before, w));
        if weekday && matches!(c, '一' | '二' | '三' | '四' | '五' | '六') {
            return None;
        }
        let next_cjk = next.is_some_and(is_cjk);
        let keep = if c == '一' {
            let date = ["号", "日", "月"].iter().any(|w| starts_with(after, w));
            let cue = prev.is_some_and(|p| ONE_CUES.contains(p));
            // A number only where neither side reads as a word around it.
            let word_before = !cue && prev.is_some_and(is_cjk);
            word_before || next_cjk && !date
        } else {
            next_cjk && !starts_with_measure(after)
        };
        if keep {
            return None;
        }
    }
    if run.len() == 2 && !ordinal && run.iter().all(|&c| digit(c).is_some()) && starts_with_measure(after) {
        // "七八个", "两三天", "三五天": an estimate, not the number 78.
        let (a, b) = (digit(run[0])?, digit(run[1])?);
        if b == a + 1 || (a, b) == (3, 5) {
            return None;
        }
    }
    cardinal_or_digits(run)
}

fn is_exception(run: &str, before: &[char], after: &[char]) -> bool {
    EXCEPTIONS.iter().any(|&(word, not_after, not_before)| {
        let Some(at) = word.find(run) else { return false };
        let (head, tail) = (&word[..at], &word[at + run.len()..]);
        if !ends_with(before, head) || !starts_with(after, tail) {
            return false;
        }
        let head_len = head.chars().count();
        let tail_len = tail.chars().count();
        let outside_before = before.len().checked_sub(head_len + 1).map(|k| before[k]);
        let outside_after = after.get(tail_len).copied();
        !outside_after.is_some_and(|c| not_after.contains(c)) && !outside_before.is_some_and(|c| not_before.contains(c))
    })
}

/// A run with units is a cardinal ("一百零五"); one without is read digit by digit ("二零二三").
/// Either may have a decimal part after 点, and a final 万/亿 may scale a decimal ("一点五万").
fn cardinal_or_digits(run: &[char]) -> Option<String> {
    let (int, frac, scale) = match run.iter().position(|&c| c == '点') {
        Some(p) => {
            let rest = &run[p + 1..];
            let (frac, scale) = match rest.last() {
                Some(&u @ ('万' | '亿')) => (&rest[..rest.len() - 1], unit(u)),
                _ => (rest, None),
            };
            (&run[..p], Some(frac), scale)
        }
        None => (run, None, None),
    };
    let int = if int.iter().any(|&c| unit(c).is_some()) { cardinal(int)?.to_string() } else { digits(int)? };
    let Some(frac) = frac else { return Some(int) };
    let number = format!("{int}.{}", digits(frac)?);
    Some(match scale {
        Some(s) => super::scale_decimal(&number, s.ilog10() as usize),
        None => number,
    })
}

/// Numerals read one by one ("二零二三" → "2023"), or None if one is a unit.
fn digits(run: &[char]) -> Option<String> {
    run.iter().map(|&c| digit(c).map(|d| char::from(b'0' + d as u8))).collect()
}

/// The value of a numeral with units, or None if it is not a well-formed number ("三四十",
/// "一五一十"). A final digit straight after a unit is the next unit down, as speech elides it:
/// "一百二" = 120, "两万五" = 25000.
fn cardinal(run: &[char]) -> Option<u64> {
    let mut total: u64 = 0;
    let mut section: u64 = 0;
    let mut pending: Option<u64> = None;
    let mut zero = false;
    let mut last_unit: Option<u64> = None;
    for &c in run {
        if let Some(d) = digit(c) {
            if pending.is_some() {
                return None;
            }
            if d == 0 {
                zero = true;
            } else {
                pending = Some(d);
            }
        } else {
            let u = unit(c)?;
            if u < 10_000 {
                if last_unit.is_some_and(|l| l <= u && l < 10_000) {
                    return None;
                }
                let n = match pending.take() {
                    Some(n) => n,
                    // "十五" is 15, but "百五" is not a number.
                    None if u == 10 => 1,
                    None => return None,
                };
                section += n * u;
            } else {
                let value = section + pending.take().unwrap_or(0);
                if value == 0 && total == 0 {
                    return None;
                }
                // Checked: a run of 亿 would overflow.
                total = if u == 100_000_000 {
                    total.checked_add(value)?.checked_mul(u)?
                } else {
                    total.checked_add(value.checked_mul(u)?)?
                };
                section = 0;
            }
            last_unit = Some(u);
            zero = false;
        }
    }
    let tail = match (pending, last_unit) {
        (Some(d), Some(u)) if !zero && u >= 100 => d * (u / 10),
        (Some(d), _) => d,
        (None, _) => 0,
    };
    total.checked_add(section + tail)
}

/// "2万" → "20000", "1.5亿" → "150000000": ASCII digits times a Chinese unit. A pass of its own
/// after the English one, so that "two万" (→ "2万") is scaled too.
pub(super) fn scale_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let zeros = match c {
            '万' => 4,
            '亿' => 8,
            _ => {
                out.push(c);
                continue;
            }
        };
        let n = out.len() - out.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.').len();
        let number = &out[out.len() - n..];
        let dots = number.matches('.').count();
        if n > 0 && !number.starts_with('.') && !number.ends_with('.') && dots <= 1 {
            let scaled = super::scale_decimal(number, zeros);
            out.truncate(out.len() - n);
            out.push_str(&scaled);
        } else {
            out.push(c);
        }
    }
    out
}
