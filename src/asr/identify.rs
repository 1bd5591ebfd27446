//! Following the caller into the other language. A call is recognised in one language at a
//! time (tiny.en for English, base for Mandarin). When the current model doubts a final (an
//! English-only model hearing Mandarin guesses, with low token probabilities), the clip is
//! decoded again by the multilingual model in the other language, which also identifies the
//! language; the other language's text replaces the doubtful one only when identification
//! agrees. Confident finals cost nothing extra.

use serde::{Deserialize, Serialize};

use super::Language;
use super::engine::Decoded;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LanguageCheck {
    /// A final whose mean token log-probability is below this is doubtful.
    pub doubt_logprob: f32,
    /// How sure identification must be (share of the other language, 0–1) to switch.
    pub switch_share: f32,
}

impl Default for LanguageCheck {
    fn default() -> Self {
        Self { doubt_logprob: -0.7, switch_share: 0.7 }
    }
}

/// The language a doubtful final is tried in.
pub fn other(language: Language) -> Option<Language> {
    match language {
        Language::En => Some(Language::Zh),
        Language::Zh => Some(Language::En),
        Language::Auto => None,
    }
}

/// Whether a final decoded in `language` may be the other language.
pub fn doubtful(language: Language, decoded: &Decoded, check: &LanguageCheck) -> bool {
    let text = &decoded.transcript.text;
    if text.trim().is_empty() {
        return false;
    }
    // Mandarin decoding of English speech tends to come out in Latin letters, confidently.
    let latin_in_zh = language == Language::Zh && latin_share(text) > 0.5;
    latin_in_zh || decoded.avg_logprob < check.doubt_logprob
}

/// Whether the second decode, in `tried`, is what the caller said.
pub fn accept(tried: Language, decoded: &Decoded, check: &LanguageCheck) -> bool {
    let Some(zh) = decoded.zh_share else { return false };
    let share = if tried == Language::Zh { zh } else { 1.0 - zh };
    share >= check.switch_share && !decoded.transcript.text.trim().is_empty()
}

/// Share of the letters that are Latin (the rest being Han or other scripts).
fn latin_share(text: &str) -> f32 {
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return 0.0;
    }
    letters.iter().filter(|c| c.is_ascii_alphabetic()).count() as f32 / letters.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asr::Transcript;

    fn decoded(text: &str, avg_logprob: f32, zh_share: Option<f32>) -> Decoded {
        Decoded {
            transcript: Transcript { text: text.into(), language: "en".into(), segments: vec![] },
            no_speech_prob: 0.0,
            context_prefix: String::new(),
            avg_logprob,
            zh_share,
        }
    }

    #[test]
    fn confident_text_in_the_expected_script_is_not_doubted() {
        let check = LanguageCheck::default();
        assert!(!doubtful(Language::En, &decoded("Where is my order?", -0.2, None), &check));
        assert!(!doubtful(Language::Zh, &decoded("我的订单在哪里？", -0.3, None), &check));
        assert!(!doubtful(Language::En, &decoded("", -3.0, None), &check));
    }

    #[test]
    fn guessing_or_the_wrong_script_is_doubted() {
        let check = LanguageCheck::default();
        assert!(doubtful(Language::En, &decoded("Thank you for watching!", -1.1, None), &check));
        assert!(doubtful(Language::Zh, &decoded("Where is my order?", -0.2, None), &check));
        assert!(!doubtful(Language::Zh, &decoded("帮我查一下订单 order 123", -0.2, None), &check));
    }

    #[test]
    fn the_other_language_wins_only_when_identification_is_sure() {
        let check = LanguageCheck::default();
        assert!(accept(Language::Zh, &decoded("我想退货", -0.4, Some(0.93)), &check));
        assert!(!accept(Language::Zh, &decoded("我想退货", -0.4, Some(0.55)), &check));
        assert!(accept(Language::En, &decoded("I want a refund", -0.3, Some(0.1)), &check));
        assert!(!accept(Language::En, &decoded("I want a refund", -0.3, None), &check));
    }
}
