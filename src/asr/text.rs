//! Clean-up of raw Whisper text: Simplified Chinese for Mandarin, removal of the phrases Whisper
//! invents on noise or silence, and collapse of the loops short clips sometimes fall into.

use crate::nlu::numbers::is_cjk;

/// Phrases Whisper is known to produce on silence, music or noise (learned from subtitle data).
/// Dropped only when the decoder itself doubted there was speech, so a caller who really says
/// "thank you" is kept.
const HALLUCINATIONS: &[&str] = &[
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "please subscribe",
    "you",
    "bye",
    "字幕",
    "谢谢观看",
    "谢谢大家",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "优优独播剧场",
    "中文字幕",
];

const MUSIC_NOTES: &[char] = &['♪', '♫', '♬', '♩', '🎵', '🎶'];

/// Final text for one decoded span.
pub fn clean(raw: &str, language: &str) -> String {
    // Whisper marks music with notes ("♪♪", "♪ la la ♪"); the notes are not words anyone said.
    let mut text: String = strip_annotations(raw).chars().filter(|c| !MUSIC_NOTES.contains(c)).collect();
    if language.starts_with("zh") {
        text = zhconv::zhconv(&text, zhconv::Variant::ZhHans);
    }
    collapse_repetitions(text.split_whitespace().collect::<Vec<_>>().join(" ").trim())
}

/// Words a sentence does not end on: a caller pausing after one of these has more to say.
const DANGLING_EN: &[&str] = &[
    "and", "but", "or", "so", "because", "the", "a", "an", "to", "of", "my", "your", "is", "are", "was", "uh", "um",
    "er", "with", "for", "that", "if", "then", "in", "on", "at", "it's", "i'm", "i", "we",
];
const DANGLING_ZH: &[char] = &['和', '跟', '但', '因', '把', '那', '呃', '还', '或'];

/// A cheap signal that a turn is over: Whisper closed the sentence (`.`, `?`, `!`, `。`, `？`,
/// `！`) and it does not end on a word that leads somewhere ("and", "the", "的"). A trailing
/// ellipsis is Whisper hearing the voice trail off: not complete.
pub fn looks_complete(text: &str) -> bool {
    let t = text.trim();
    if t.ends_with("...") || t.ends_with('…') {
        return false;
    }
    let Some(body) = t.strip_suffix(['.', '?', '!', '。', '？', '！']) else { return false };
    let body = body.trim_end_matches(['.', '?', '!', '。', '？', '！', ',', '，', ' ']);
    let Some(last_char) = body.chars().last() else { return false };
    if is_cjk(last_char) {
        return !DANGLING_ZH.contains(&last_char);
    }
    let last_word = body.rsplit(|c: char| c.is_whitespace()).next().unwrap_or("").to_lowercase();
    let last_word = last_word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
    !last_word.is_empty() && !DANGLING_EN.contains(&last_word)
}

/// True when the text is one of Whisper's stock inventions and the evidence for speech is weak.
pub fn is_hallucination(text: &str, no_speech_prob: f32, voiced_ms: u64) -> bool {
    let key: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let key_no_space = letters(&key);
    if key.is_empty() {
        return true;
    }
    let stock = HALLUCINATIONS.iter().any(|h| *h == key || *h == key_no_space);
    stock && (no_speech_prob > 0.3 || voiced_ms < 600)
}

/// Whether `current` only repeats the start of `previous` (ignoring case and punctuation):
/// the shape of Whisper's loop over trailing silence ("扎自己的脚。扎自己的").
pub fn repeats_previous(previous: &str, current: &str) -> bool {
    let current = letters(current);
    !current.is_empty() && letters(previous).starts_with(&current)
}

/// `text` without its opening `prefix` when `prefix` repeats the end of `previous` (ignoring
/// case, spacing and punctuation). Stays whole if nothing would be left: losing a caller's
/// short answer is worse than echoing a word.
pub fn strip_repeated_prefix(previous: &str, prefix: &str, text: &str) -> String {
    let key = letters(prefix);
    if key.is_empty() || !letters(previous).ends_with(&key) {
        return text.to_string();
    }
    let mut seen = String::new();
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            seen.extend(c.to_lowercase());
        }
        if seen == key {
            let rest = text[i + c.len_utf8()..].trim_start_matches(|c: char| !c.is_alphanumeric());
            return if rest.is_empty() { text.to_string() } else { rest.to_string() };
        }
        if !key.starts_with(&seen) {
            break;
        }
    }
    text.to_string()
}

/// Letters and digits only, lowercased: text compared regardless of spacing and punctuation.
fn letters(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Removes `[BLANK_AUDIO]`, `(music)`, `*sighs*` style annotations.
fn strip_annotations(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut closing: Option<char> = None;
    for ch in raw.chars() {
        match (closing, ch) {
            (None, '[') => closing = Some(']'),
            (None, '(') => closing = Some(')'),
            (None, '（') => closing = Some('）'),
            (None, '*') => closing = Some('*'),
            (Some(c), x) if x == c => closing = None,
            (Some(_), _) => {}
            (None, x) => out.push(x),
        }
    }
    // An unclosed bracket was not an annotation after all.
    if closing.is_some() { raw.to_string() } else { out }
}

/// "I want a refund I want a refund I want a refund" → "I want a refund". Works on words, and on
/// characters for text without spaces (Chinese). Only runs of three or more are collapsed, so
/// natural doubling ("no, no") survives.
pub fn collapse_repetitions(text: &str) -> String {
    let spaced = text.contains(' ');
    let units: Vec<String> =
        if spaced { text.split(' ').map(str::to_owned).collect() } else { text.chars().map(String::from).collect() };
    let key = |u: &str| u.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let keys: Vec<String> = units.iter().map(|u| key(u)).collect();
    let mut out: Vec<&str> = Vec::with_capacity(units.len());
    let mut i = 0;
    'outer: while i < units.len() {
        for n in 1..=((units.len() - i) / 2).min(12) {
            let mut reps = 1;
            while i + (reps + 1) * n <= units.len() && keys[i..i + n] == keys[i + reps * n..i + (reps + 1) * n] {
                reps += 1;
            }
            // A loop cut off by the token limit ends in a partial copy of the repeated unit.
            let after = i + reps * n;
            let cut_off_copy =
                after < units.len() && units.len() - after < n && keys[after..] == keys[i..i + units.len() - after];
            // "zero zero zero" in an account number is real; a repeated longer number is a loop.
            let looped = reps >= 3 || (reps >= 2 && cut_off_copy);
            if looped && !(n == 1 && keys[i].chars().count() <= 1) {
                out.extend(units[i..i + n].iter().map(String::as_str));
                i = if cut_off_copy { units.len() } else { after };
                continue 'outer;
            }
        }
        out.push(&units[i]);
        i += 1;
    }
    out.join(if spaced { " " } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_sentences_are_told_from_trailing_ones() {
        for t in ["Where is my order?", "I want a refund.", "我的订单到哪了？", "好的。", "Order 20231188."]
        {
            assert!(looks_complete(t), "{t}");
        }
        for t in [
            "I want to",
            "Where is my order and.",
            "I was calling because...",
            "我想问一下我的订单和。",
            "",
            "?",
            "Um.",
        ] {
            assert!(!looks_complete(t), "{t}");
        }
    }

    #[test]
    fn a_prefix_repeating_the_previous_final_is_stripped() {
        assert_eq!(
            strip_repeated_prefix("what can I do for you.", "you", "You, ask what you can do"),
            "ask what you can do"
        );
        assert_eq!(strip_repeated_prefix("请问订单", "订单", "订单在哪里"), "在哪里");
        // Not a repeat, or nothing would be left: unchanged.
        assert_eq!(strip_repeated_prefix("for you.", "ask", "ask what"), "ask what");
        assert_eq!(strip_repeated_prefix("yes", "yes", "Yes."), "Yes.");
        assert_eq!(strip_repeated_prefix("for you", "", "you ask"), "you ask");
    }

    #[test]
    fn chinese_output_is_simplified() {
        assert_eq!(clean("我們的訂單什麼時候發貨", "zh"), "我们的订单什么时候发货");
    }

    #[test]
    fn annotations_are_removed() {
        assert_eq!(clean(" [BLANK_AUDIO] hello (music) there", "en"), "hello there");
        assert_eq!(clean("a (half open", "en"), "a (half open");
    }

    #[test]
    fn music_notes_are_not_words() {
        assert_eq!(clean("♪♪", "en"), "");
        assert_eq!(clean(" ♪ Hold the line ♪", "en"), "Hold the line");
        assert_eq!(clean("♫ 请稍候 ♫", "zh"), "请稍候");
    }

    #[test]
    fn loops_collapse_but_natural_repeats_stay() {
        assert_eq!(collapse_repetitions("I want a refund I want a refund I want a refund"), "I want a refund");
        assert_eq!(collapse_repetitions("no, no, I said"), "no, no, I said");
        assert_eq!(collapse_repetitions("好的好的好的好的"), "好的");
        assert_eq!(collapse_repetitions("扎自己的脚。扎自己的脚。扎自己的脚。扎自己的"), "扎自己的脚。");
        assert_eq!(collapse_repetitions("In 1813, in 1813, in"), "In 1813,");
        assert_eq!(collapse_repetitions("one two three"), "one two three");
        assert_eq!(collapse_repetitions("1 0 0 0 1"), "1 0 0 0 1");
        assert_eq!(collapse_repetitions("90210 01803. 01803. 01803"), "90210 01803.");
    }

    #[test]
    fn repeats_of_the_previous_segment_are_recognised() {
        assert!(repeats_previous("And so my fellow Americans.", "and so, my fellow Americans"));
        assert!(repeats_previous("A thin stripe runs down the middle.", "A thin stripe runs down"));
        assert!(repeats_previous("扎自己的脚。", "扎自己的"));
        assert!(!repeats_previous("ask not", "ask what"));
        assert!(!repeats_previous("I want", "I want a refund"));
        assert!(!repeats_previous("...", "!!!"));
    }

    #[test]
    fn stock_phrases_are_dropped_only_without_evidence_of_speech() {
        assert!(is_hallucination("Thank you.", 0.8, 2000));
        assert!(is_hallucination("Thank you.", 0.0, 300));
        assert!(!is_hallucination("Thank you.", 0.05, 1500));
        assert!(!is_hallucination("Where is my order?", 0.9, 300));
        assert!(is_hallucination(" ... ", 0.0, 2000));
    }
}
