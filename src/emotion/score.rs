//! One utterance's emotion from the trained acoustic model and the words' cues, and the
//! per-call curve. The acoustic model is trained ([`super::train`]); the way words bend its
//! output is a short list of documented rules, since no labelled call transcripts exist to train
//! on. Each score names what drove it.

use serde::{Deserialize, Serialize};

use super::lexical::LexicalCues;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmotionLabel {
    Angry,
    Frustrated,
    Anxious,
    Neutral,
    Positive,
}

impl EmotionLabel {
    pub const ALL: [EmotionLabel; 5] = [Self::Angry, Self::Frustrated, Self::Anxious, Self::Neutral, Self::Positive];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Angry => "angry",
            Self::Frustrated => "frustrated",
            Self::Anxious => "anxious",
            Self::Neutral => "neutral",
            Self::Positive => "positive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// What the acoustic model said, when the utterance had enough voiced speech to say anything.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VoiceScore {
    pub arousal: f32,
    pub anger: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmotionScore {
    /// Calm 0 … agitated 1.
    pub arousal: f32,
    /// Negative −1 … positive 1.
    pub valence: f32,
    pub label: EmotionLabel,
    /// How sure the label is, 0..1.
    pub confidence: f32,
    /// The acoustic model's output, absent for utterances too short to judge by voice.
    pub voice: Option<VoiceScore>,
    /// Lexicon entries that matched.
    pub words: Vec<String>,
}

/// How an utterance's feeling is known: measured from the voice (absent when too short to
/// judge), or stated (`callbot chat` lines like `[angry] where is my order`, for testing flows
/// without a voice).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feeling {
    Voice(Option<VoiceScore>),
    Stated(EmotionLabel),
}

/// One utterance's score. `repeats`: how many times the caller has now asked the same thing.
pub fn score(feeling: Feeling, words: &LexicalCues, repeats: u32) -> EmotionScore {
    match feeling {
        Feeling::Voice(voice) => combine(voice, words, repeats),
        Feeling::Stated(label) => stated(label, words),
    }
}

/// Valence at which words alone read as frustration: two complaints ("late", "again"), an
/// intensified one, or a hostile one. One plain problem word ("lost") describes the problem,
/// not the caller.
const FRUSTRATED_BELOW: f32 = -0.55;

/// Arousal assumed when the voice gives nothing to go on.
const NEUTRAL_AROUSAL: f32 = 0.3;

/// Combines voice, words and repetition into one score.
///
/// - arousal: the voice's, raised by urgency, hostility and exclamations in the words;
/// - valence: the words' valence, pulled down by vocal anger and by having to ask again;
/// - label, first that holds: **angry** (the voice is angry, or the words are hostile and the
///   voice is agitated); **anxious** (worry or urgency in the words); **frustrated** (negative
///   words, or an agitated voice that is not angry and not positive); **positive**; **neutral**.
pub fn combine(voice: Option<VoiceScore>, words: &LexicalCues, repeats: u32) -> EmotionScore {
    let voice_arousal = voice.map(|v| v.arousal).unwrap_or(NEUTRAL_AROUSAL);
    let anger = voice.map(|v| v.anger).unwrap_or(0.0);
    let lexical_push = 0.15 * (words.urgent + words.hostile).min(2.0) + 0.05 * words.exclamations.min(2) as f32;
    let arousal = (voice_arousal + lexical_push).clamp(0.0, 1.0);
    let vocal_anger = ((anger - 0.5) * 2.0).max(0.0);
    let asked_again = 0.3 * repeats.saturating_sub(1).min(2) as f32;
    let valence = (words.valence() - 0.5 * vocal_anger - asked_again).clamp(-1.0, 1.0);

    let (label, confidence) = if anger >= 0.5 {
        (EmotionLabel::Angry, anger)
    } else if words.hostile > 0.0 && arousal >= 0.5 {
        (EmotionLabel::Angry, 0.5 + 0.5 * arousal.min(words.hostile.min(1.0)))
    } else if words.anxious > 0.0 || words.urgent > 0.0 {
        (EmotionLabel::Anxious, (0.5 + 0.25 * (words.anxious + words.urgent)).min(0.95))
    } else if valence <= FRUSTRATED_BELOW {
        (EmotionLabel::Frustrated, (0.5 - valence / 2.0).min(0.95))
    } else if arousal >= 0.6 && valence < 0.3 {
        (EmotionLabel::Frustrated, arousal * 0.8)
    } else if valence >= 0.3 {
        (EmotionLabel::Positive, (0.5 + valence / 2.0).min(0.95))
    } else {
        (EmotionLabel::Neutral, 1.0 - arousal.max(anger).max(valence.abs()))
    };
    EmotionScore { arousal, valence, label, confidence, voice, words: words.matched.clone() }
}

/// A feeling stated rather than measured: the label as given, with the arousal and valence
/// typical of it.
pub fn stated(label: EmotionLabel, words: &LexicalCues) -> EmotionScore {
    let (arousal, valence) = match label {
        EmotionLabel::Angry => (0.9, -0.8),
        EmotionLabel::Frustrated => (0.6, -0.5),
        EmotionLabel::Anxious => (0.7, -0.4),
        EmotionLabel::Neutral => (NEUTRAL_AROUSAL, 0.0),
        EmotionLabel::Positive => (0.5, 0.6),
    };
    EmotionScore { arousal, valence, label, confidence: 1.0, voice: None, words: words.matched.clone() }
}

/// A point on the call's emotion curve: exponentially smoothed arousal and valence, so one
/// odd utterance bends the curve without flipping it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Milliseconds from the start of the call (the utterance's end).
    pub at_ms: u64,
    pub arousal: f32,
    pub valence: f32,
}

/// Weight of the newest utterance in the smoothed curve.
const SMOOTHING: f32 = 0.5;

#[derive(Debug, Clone, Default)]
pub struct Curve {
    points: Vec<CurvePoint>,
}

impl Curve {
    pub fn push(&mut self, at_ms: u64, score: &EmotionScore) -> CurvePoint {
        let point = match self.points.last() {
            None => CurvePoint { at_ms, arousal: score.arousal, valence: score.valence },
            Some(prev) => CurvePoint {
                at_ms,
                arousal: prev.arousal + SMOOTHING * (score.arousal - prev.arousal),
                valence: prev.valence + SMOOTHING * (score.valence - prev.valence),
            },
        };
        self.points.push(point);
        point
    }

    pub fn points(&self) -> &[CurvePoint] {
        &self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emotion::lexical::cues;
    use crate::lang::Lang;

    fn voice(arousal: f32, anger: f32) -> Option<VoiceScore> {
        Some(VoiceScore { arousal, anger })
    }

    #[test]
    fn an_angry_voice_is_angry_whatever_the_words() {
        let s = combine(voice(0.9, 0.85), &cues("I would like to know where my order is", Lang::En), 1);
        assert_eq!(s.label, EmotionLabel::Angry);
        assert!(s.confidence > 0.8 && s.valence < 0.0, "{s:?}");
    }

    #[test]
    fn words_decide_when_the_voice_is_calm() {
        let calm = voice(0.2, 0.05);
        let worried = combine(calm, &cues("I'm really worried, I need it right now", Lang::En), 1);
        assert_eq!(worried.label, EmotionLabel::Anxious);
        let fed_up = combine(calm, &cues("this is terrible, the worst service", Lang::En), 1);
        assert_eq!(fed_up.label, EmotionLabel::Frustrated);
        assert_eq!(combine(calm, &cues("thank you, that's great", Lang::En), 1).label, EmotionLabel::Positive);
        assert_eq!(combine(calm, &cues("where is my parcel", Lang::En), 1).label, EmotionLabel::Neutral);
        assert_eq!(combine(calm, &cues("我要投诉", Lang::Zh), 1).label, EmotionLabel::Frustrated);
    }

    #[test]
    fn hostile_words_in_an_agitated_voice_are_anger() {
        let s = combine(voice(0.7, 0.3), &cues("this is ridiculous, I want to complain", Lang::En), 1);
        assert_eq!(s.label, EmotionLabel::Angry, "{s:?}");
        let no_voice = combine(None, &cues("this is ridiculous", Lang::En), 1);
        assert_ne!(no_voice.label, EmotionLabel::Angry, "words alone, said calmly, are frustration");
    }

    #[test]
    fn asking_the_same_thing_again_and_again_reads_as_frustration() {
        let calm = voice(0.3, 0.05);
        let words = cues("when will my parcel arrive", Lang::En);
        assert_eq!(combine(calm, &words, 1).label, EmotionLabel::Neutral);
        assert_eq!(combine(calm, &words, 3).label, EmotionLabel::Frustrated);
    }

    #[test]
    fn the_curve_is_smoothed() {
        let mut curve = Curve::default();
        let calm = combine(voice(0.2, 0.0), &cues("hello", Lang::En), 0);
        let angry = combine(voice(1.0, 0.9), &cues("hello", Lang::En), 0);
        curve.push(1000, &calm);
        let p = curve.push(2000, &angry);
        assert!((p.arousal - 0.6).abs() < 1e-5, "{p:?}");
        assert_eq!(curve.points().len(), 2);
    }
}
