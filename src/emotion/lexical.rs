//! Emotion cues in the words of one utterance, English and Mandarin: negative and positive
//! words (with negation and intensifiers), hostility (insults, threats, escalation: "我要投诉",
//! "this is ridiculous"), urgency ("马上", "right now") and worry. Pure function of the text;
//! the word lists are data (`lexicon.toml`).
//!
//! English matches whole words and phrases; Mandarin has no spaces, so terms match anywhere,
//! longest first, without overlapping. A negator just before a cue ("not happy", "不满意" is
//! its own entry, "不开心" is 不 + 开心) flips valence cues and cancels the others.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

#[derive(Debug, Deserialize)]
struct Lists {
    negative: Vec<String>,
    positive: Vec<String>,
    hostile: Vec<String>,
    urgent: Vec<String>,
    anxious: Vec<String>,
    intensifiers: Vec<String>,
    negators: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Lexicon {
    en: Lists,
    zh: Lists,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON
        .get_or_init(|| toml::from_str(include_str!("lexicon.toml")).expect("lexicon.toml is checked by a unit test"))
}

/// How strongly each kind of cue occurs in one utterance. Counts are weighted: an intensified
/// cue ("very angry", "太慢了") counts 1.5.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LexicalCues {
    pub negative: f32,
    pub positive: f32,
    pub hostile: f32,
    pub urgent: f32,
    pub anxious: f32,
    /// Exclamation marks.
    pub exclamations: u32,
    /// Words (English) or characters (Mandarin) in the utterance.
    pub length: u32,
    /// The cue words found, in order, for explanations and highlighting.
    pub matched: Vec<String>,
}

impl LexicalCues {
    /// Valence from the words alone, -1 (negative) .. 1 (positive); 0 without cues.
    pub fn valence(&self) -> f32 {
        let good = self.positive;
        let bad = self.negative + 1.5 * self.hostile;
        ((good - bad) / (good + bad + 1.0)).clamp(-1.0, 1.0)
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Negative,
    Positive,
    Hostile,
    Urgent,
    Anxious,
    Intensifier,
    Negator,
}

/// Finds the cues in `text`, spoken in `lang`.
pub fn cues(text: &str, lang: Lang) -> LexicalCues {
    let lists = match lang {
        Lang::En => &lexicon().en,
        Lang::Zh => &lexicon().zh,
    };
    let units: Vec<String> = match lang {
        Lang::En => text
            .to_lowercase()
            .split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
        Lang::Zh => text.chars().filter(|c| c.is_alphanumeric()).map(String::from).collect(),
    };
    let joiner = if lang == Lang::En { " " } else { "" };
    let mut out = LexicalCues {
        exclamations: text.chars().filter(|c| matches!(c, '!' | '！')).count() as u32,
        length: units.len() as u32,
        ..Default::default()
    };
    let mut negated = false;
    let mut intensified = false;
    // Units since the last negator or intensifier: they reach over a word or two ("not very
    // happy", "不太满意").
    let mut since_modifier = 0;
    let mut i = 0;
    while i < units.len() {
        let Some((kind, len)) = longest_match(lists, &units[i..], joiner) else {
            i += 1;
            since_modifier += 1;
            if since_modifier > 2 {
                (negated, intensified) = (false, false);
            }
            continue;
        };
        match kind {
            Kind::Negator => (negated, since_modifier) = (true, 0),
            Kind::Intensifier => (intensified, since_modifier) = (true, 0),
            cue => {
                let weight = if intensified { 1.5 } else { 1.0 };
                let slot = match (cue, negated) {
                    (Kind::Positive, true) => Some((&mut out.negative, weight)),
                    (Kind::Negative, true) => Some((&mut out.positive, 0.5 * weight)),
                    (_, true) => None, // "not urgent", "不担心"
                    (Kind::Negative, false) => Some((&mut out.negative, weight)),
                    (Kind::Positive, false) => Some((&mut out.positive, weight)),
                    (Kind::Hostile, false) => Some((&mut out.hostile, weight)),
                    (Kind::Urgent, false) => Some((&mut out.urgent, weight)),
                    (Kind::Anxious, false) => Some((&mut out.anxious, weight)),
                    (Kind::Intensifier | Kind::Negator, false) => unreachable!("handled above"),
                };
                if let Some((count, w)) = slot {
                    *count += w;
                    out.matched.push(units[i..i + len].join(joiner));
                }
                (negated, intensified, since_modifier) = (false, false, 0);
            }
        }
        i += len;
    }
    out
}

/// The longest term of any list that starts at `units[0]`, as (kind, units covered).
fn longest_match(lists: &Lists, units: &[String], joiner: &str) -> Option<(Kind, usize)> {
    let kinds = [
        (Kind::Hostile, &lists.hostile),
        (Kind::Anxious, &lists.anxious),
        (Kind::Negative, &lists.negative),
        (Kind::Positive, &lists.positive),
        (Kind::Urgent, &lists.urgent),
        (Kind::Negator, &lists.negators),
        (Kind::Intensifier, &lists.intensifiers),
    ];
    let mut best: Option<(Kind, usize)> = None;
    for len in (1..=units.len().min(6)).rev() {
        let candidate = units[..len].join(joiner);
        if let Some((kind, _)) = kinds.iter().find(|(_, list)| list.contains(&candidate)) {
            best = Some((*kind, len));
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexicon_parses_and_every_term_is_lower_case() {
        for lists in [&lexicon().en, &lexicon().zh] {
            for term in lists.negative.iter().chain(&lists.positive).chain(&lists.hostile) {
                assert_eq!(term, &term.to_lowercase());
            }
        }
    }

    #[test]
    fn english_cues_with_negation_and_intensifiers() {
        let c = cues("This is ridiculous! I am very angry, I need it right now.", Lang::En);
        assert_eq!(c.hostile, 1.0);
        assert_eq!(c.negative, 1.5, "intensified");
        assert_eq!(c.urgent, 1.0);
        assert_eq!(c.exclamations, 1);
        assert_eq!(c.matched, ["this is ridiculous", "angry", "right now"]);
        assert!(c.valence() < -0.5);

        let c = cues("I'm not happy with this", Lang::En);
        assert_eq!((c.negative, c.positive), (1.0, 0.0));
        let c = cues("Thanks, that's great", Lang::En);
        assert!(c.valence() > 0.5);
        let c = cues("It's not urgent", Lang::En);
        assert_eq!(c.urgent, 0.0);
    }

    #[test]
    fn mandarin_cues_without_spaces() {
        let c = cues("我要投诉，你们太慢了，马上给我退款！", Lang::Zh);
        assert_eq!(c.hostile, 1.0, "{c:?}");
        assert_eq!(c.negative, 2.5, "太慢 (intensified) + 退款: {c:?}");
        assert_eq!(c.urgent, 1.0);
        assert!(c.valence() < -0.5);

        let c = cues("我不开心", Lang::Zh);
        assert_eq!(c.negative, 1.0, "不 + 开心: {c:?}");
        let c = cues("好的，谢谢你", Lang::Zh);
        assert!(c.valence() > 0.5, "{c:?}");
        let c = cues("我很担心我的包裹被盗了", Lang::Zh);
        assert_eq!(c.anxious, 2.5, "{c:?}");
    }

    #[test]
    fn neutral_text_has_no_cues() {
        let c = cues("Where is my order 1234?", Lang::En);
        assert_eq!(c.valence(), 0.0);
        assert!(c.matched.is_empty());
        assert_eq!(c.length, 5);
    }
}
