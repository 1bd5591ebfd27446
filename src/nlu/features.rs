//! Text → classifier features, the same way for training examples and callers' words.
//!
//! English: words (contractions opened, Snowball-stemmed) and word pairs. Mandarin: jieba-rs
//! words and character pairs (robust to segmentation slips in ASR text). Both: the dialplan's
//! concepts ("smashed", "cracked", "碎了" → *broken*), which carry meaning across paraphrases
//! and across the two languages, and number shapes (an 8-digit run looks like an order number)
//! instead of the numbers themselves.

use std::collections::BTreeSet;

use jieba_rs::Jieba;
use rust_stemmers::{Algorithm, Stemmer};

use super::numbers::{is_cjk, normalize_numbers};
use crate::dialplan::Concept;
use crate::lang::Lang;

pub struct Featurizer {
    jieba: Jieba,
    stemmer: Stemmer,
    /// English concept phrases as stemmed word sequences.
    en_concepts: Vec<(Vec<String>, String)>,
    zh_concepts: Vec<(String, String)>,
}

/// Full-width forms to ASCII, lowercase: ASR and keyboards produce both.
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Words that carry no request: hesitations, greetings, politeness. Dropped, so "um is it
/// coming today" means what "is it coming today" means, and "hello?" alone means nothing.
const EN_FILLERS: &[&str] = &[
    "um",
    "umm",
    "uh",
    "uhh",
    "er",
    "erm",
    "hmm",
    "mm",
    "ah",
    "oh",
    "yeah",
    "hi",
    "hello",
    "hey",
    "ok",
    "okay",
    "well",
    "so",
    "like",
    "please",
    "just",
    "actually",
    "basically",
    "really",
    "the",
    "a",
    "an",
];
const ZH_FILLERS: &[&str] = &[
    "那个", "就是", "然后", "你好", "您好", "请问", "麻烦", "嗯", "啊", "呃", "额", "哦", "喂", "呢", "吧", "嘛", "呀",
    "哈", "啦", "哎", "唉",
];

fn number_shape(digits: &str) -> &'static str {
    match digits.len() {
        8 => "#order_id",
        10 | 11 => "#phone",
        1..=2 => "#small_number",
        _ => "#number",
    }
}

impl Featurizer {
    pub fn new(concepts: &[Concept]) -> Self {
        let mut jieba = Jieba::new();
        let stemmer = Stemmer::create(Algorithm::English);
        let mut zh_concepts = Vec::new();
        let mut en_concepts = Vec::new();
        for concept in concepts {
            for word in concept.words.get(&Lang::Zh).into_iter().flatten() {
                let word = fold(word);
                // Keeps the segmenter from splitting a concept word.
                jieba.add_word(&word, Some(1000), None);
                zh_concepts.push((word, concept.id.clone()));
            }
            for phrase in concept.words.get(&Lang::En).into_iter().flatten() {
                let words = Self::english_words(&stemmer, &fold(phrase));
                // A phrase that loses words to the filler list ("order a" → "order") would
                // match far more than its author meant.
                let raw_words = phrase.split_whitespace().count();
                if !words.is_empty() && (words.len() >= 2 || raw_words == 1) {
                    en_concepts.push((words, concept.id.clone()));
                }
            }
        }
        Self { jieba, stemmer, en_concepts, zh_concepts }
    }

    fn english_words(stemmer: &Stemmer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let word = raw.trim_matches('\'');
            if word.is_empty() {
                continue;
            }
            if EN_FILLERS.contains(&word) {
                continue;
            }
            if word.chars().all(|c| c.is_ascii_digit()) {
                out.push(number_shape(word).to_string());
                continue;
            }
            // "don't" → do + not, "it's" → it: negation matters, the rest is noise.
            if let Some(stem) = word.strip_suffix("n't") {
                let stem = match stem {
                    "wo" => "will",
                    "ca" => "can",
                    other => other,
                };
                out.push(stemmer.stem(stem).into_owned());
                out.push("not".into());
            } else {
                let word = word.split('\'').next().unwrap_or(word);
                out.push(stemmer.stem(word).into_owned());
            }
        }
        out
    }

    /// The features of one utterance (a set: presence, not counts).
    pub fn features(&self, text: &str) -> BTreeSet<String> {
        let text = fold(&normalize_numbers(text));
        let mut out = BTreeSet::new();
        // Split into CJK and non-CJK runs: callers mix languages ("我的order还没到").
        let mut runs: Vec<(bool, String)> = Vec::new();
        for c in text.chars() {
            let cjk = is_cjk(c);
            match runs.last_mut() {
                Some((kind, run)) if *kind == cjk => run.push(c),
                _ => runs.push((cjk, c.to_string())),
            }
        }
        let mut english = Vec::new();
        for (cjk, run) in &runs {
            if *cjk {
                self.mandarin(run, &mut out);
            } else {
                english.extend(Self::english_words(&self.stemmer, run));
            }
        }
        for w in &english {
            out.insert(format!("w:{w}"));
        }
        for pair in english.windows(2) {
            out.insert(format!("b:{}_{}", pair[0], pair[1]));
        }
        for (phrase, id) in &self.en_concepts {
            if english.windows(phrase.len()).any(|w| w == phrase.as_slice()) {
                out.insert(format!("C:{id}"));
            }
        }
        // Digits inside Mandarin text ("订单20231188") count as numbers too.
        for digits in text.split(|c: char| !c.is_ascii_digit()).filter(|d| !d.is_empty()) {
            out.insert(format!("w:{}", number_shape(digits)));
        }
        out
    }

    fn mandarin(&self, run: &str, out: &mut BTreeSet<String>) {
        let mut run = run.to_string();
        for filler in ZH_FILLERS {
            run = run.replace(filler, "");
        }
        let run = run.as_str();
        for token in self.jieba.cut(run, true) {
            out.insert(format!("z:{}", token.word));
        }
        let chars: Vec<char> = run.chars().collect();
        for pair in chars.windows(2) {
            out.insert(format!("c:{}{}", pair[0], pair[1]));
        }
        if chars.len() == 1 {
            out.insert(format!("c:{}", chars[0]));
        }
        for (word, id) in &self.zh_concepts {
            if run.contains(word.as_str()) {
                out.insert(format!("C:{id}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn concept(id: &str, en: &[&str], zh: &[&str]) -> Concept {
        let words = BTreeMap::from([
            (Lang::En, en.iter().map(|s| s.to_string()).collect()),
            (Lang::Zh, zh.iter().map(|s| s.to_string()).collect()),
        ]);
        Concept { id: id.into(), words }
    }

    #[test]
    fn concepts_match_paraphrases_in_both_languages() {
        let f = Featurizer::new(&[concept("broken", &["smashed", "fall apart"], &["碎了"])]);
        assert!(f.features("The mug arrived SMASHED").contains("C:broken"));
        assert!(!f.features("it fell apart on day one").contains("C:broken"), "stemmed 'fell' ≠ 'fall'");
        assert!(f.features("the handle falls apart").contains("C:broken"));
        assert!(f.features("杯子碎了").contains("C:broken"));
    }

    #[test]
    fn english_is_stemmed_with_negation_kept_and_numbers_shaped() {
        let f = Featurizer::new(&[]);
        let feats = f.features("It didn't arrive, order 20231188");
        for want in ["w:did", "w:not", "w:arriv", "b:not_arriv", "w:#order_id"] {
            assert!(feats.contains(want), "{want} missing from {feats:?}");
        }
    }

    #[test]
    fn mandarin_gets_words_and_character_pairs_even_when_mixed() {
        let f = Featurizer::new(&[]);
        let feats = f.features("我的order还没到");
        assert!(feats.contains("w:order"));
        assert!(feats.contains("c:没到"));
        assert!(feats.iter().any(|x| x.starts_with("z:")));
    }
}
