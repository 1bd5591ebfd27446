//! A rule's `when`: every condition given must hold (AND); an empty `when` always holds.
//! Conditions read [`Facts`], which the conversation engine gathers for each turn.

use serde::Deserialize;

use crate::lang::Lang;

/// One value or a list of alternatives: `intent = "refund_status"` or `intent = ["a", "b"]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn values(&self) -> &[String] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }

    fn contains(&self, value: Option<&str>) -> bool {
        value.is_some_and(|v| self.values().iter().any(|x| x == v))
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub intent: Option<OneOrMany>,
    pub lang: Option<Lang>,
    /// The classifier's confidence is below this.
    pub confidence_below: Option<f32>,
    /// The caller has asked this same question at least this many times (this turn included).
    pub repeat_count_at_least: Option<u32>,
    /// Turns in a row the bot has not understood, at least.
    pub not_understood_at_least: Option<u32>,
    /// The caller gave (or earlier gave) an order number.
    pub has_order_id: Option<bool>,
    /// That order number exists in the order system.
    pub order_found: Option<bool>,
    /// The caller named more than one order in one request ("the gift from order A with order B").
    pub multiple_orders: Option<bool>,
    pub order_status: Option<OneOrMany>,
    pub shipment_status: Option<OneOrMany>,
    pub return_status: Option<OneOrMany>,
    pub refund_status: Option<OneOrMany>,
    pub has_refund: Option<bool>,
    pub has_return: Option<bool>,
    pub has_invoice: Option<bool>,
    pub has_custom_made: Option<bool>,
    pub has_final_sale: Option<bool>,
    /// Days since delivery are more than this.
    pub delivered_days_ago_over: Option<i64>,
    /// Days since delivery are this many or fewer.
    pub delivered_days_ago_at_most: Option<i64>,
    /// The caller has given the new delivery address.
    pub has_address: Option<bool>,
    /// How the caller sounds in this utterance (voice and words): angry, frustrated, anxious,
    /// neutral or positive.
    pub emotion: Option<OneOrMany>,
    /// With `emotion`: this many of the caller's latest utterances in a row (this one
    /// included) had one of those emotions.
    pub emotion_streak_at_least: Option<u32>,
    /// The caller's arousal (calm 0 … agitated 1) in this utterance is at least this.
    pub arousal_at_least: Option<f32>,
    /// The caller's valence (−1 … 1) in this utterance is below this.
    pub valence_below: Option<f32>,
}

/// What is known at this turn, for conditions to read.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub intent: String,
    pub lang: Option<Lang>,
    pub confidence: f32,
    pub repeat_count: u32,
    pub not_understood: u32,
    pub has_order_id: bool,
    pub order_found: bool,
    pub multiple_orders: bool,
    pub order_status: Option<String>,
    pub shipment_status: Option<String>,
    pub return_status: Option<String>,
    pub refund_status: Option<String>,
    pub has_invoice: bool,
    pub has_custom_made: bool,
    pub has_final_sale: bool,
    pub delivered_days_ago: Option<i64>,
    pub has_address: bool,
    /// Emotion labels of the caller's scored utterances, oldest first (this one last).
    pub emotions: Vec<String>,
    /// This utterance's arousal and valence, when it was scored.
    pub arousal: Option<f32>,
    pub valence: Option<f32>,
}

impl Facts {
    /// Latest utterances in a row whose emotion is one of `labels`.
    fn emotion_streak(&self, labels: &OneOrMany) -> u32 {
        self.emotions.iter().rev().take_while(|e| labels.contains(Some(e))).count() as u32
    }
}

fn flag(want: Option<bool>, actual: bool) -> bool {
    want.is_none_or(|w| w == actual)
}

impl When {
    pub fn matches(&self, f: &Facts) -> bool {
        let opt = |want: &Option<OneOrMany>, actual: &Option<String>| {
            want.as_ref().is_none_or(|w| w.contains(actual.as_deref()))
        };
        self.intent.as_ref().is_none_or(|w| w.contains(Some(&f.intent)))
            && self.lang.is_none_or(|l| f.lang == Some(l))
            && self.confidence_below.is_none_or(|c| f.confidence < c)
            && self.repeat_count_at_least.is_none_or(|n| f.repeat_count >= n)
            && self.not_understood_at_least.is_none_or(|n| f.not_understood >= n)
            && flag(self.has_order_id, f.has_order_id)
            && flag(self.order_found, f.order_found)
            && flag(self.multiple_orders, f.multiple_orders)
            && opt(&self.order_status, &f.order_status)
            && opt(&self.shipment_status, &f.shipment_status)
            && opt(&self.return_status, &f.return_status)
            && opt(&self.refund_status, &f.refund_status)
            && flag(self.has_refund, f.refund_status.is_some())
            && flag(self.has_return, f.return_status.is_some())
            && flag(self.has_invoice, f.has_invoice)
            && flag(self.has_custom_made, f.has_custom_made)
            && flag(self.has_final_sale, f.has_final_sale)
            && self.delivered_days_ago_over.is_none_or(|d| f.delivered_days_ago.is_some_and(|a| a > d))
            && self.delivered_days_ago_at_most.is_none_or(|d| f.delivered_days_ago.is_some_and(|a| a <= d))
            && flag(self.has_address, f.has_address)
            && self.emotion.as_ref().is_none_or(|e| f.emotion_streak(e) >= self.emotion_streak_at_least.unwrap_or(1))
            && self.arousal_at_least.is_none_or(|a| f.arousal.is_some_and(|x| x >= a))
            && self.valence_below.is_none_or(|v| f.valence.is_some_and(|x| x < v))
    }

    /// Values this condition compares against that must name something the dialplan or the
    /// order system knows: (what, value).
    pub fn references(&self) -> Vec<(&'static str, &str)> {
        [
            ("intent", &self.intent),
            ("order_status", &self.order_status),
            ("shipment_status", &self.shipment_status),
            ("return_status", &self.return_status),
            ("refund_status", &self.refund_status),
            ("emotion", &self.emotion),
        ]
        .into_iter()
        .filter_map(|(what, v)| v.as_ref().map(|v| (what, v)))
        .flat_map(|(what, v)| v.values().iter().map(move |s| (what, s.as_str())))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn when(toml_src: &str) -> When {
        toml::from_str(toml_src).expect("valid condition")
    }

    #[test]
    fn emotion_conditions_read_this_utterance_and_the_streak() {
        let w = when("emotion = [\"angry\", \"frustrated\"]\nemotion_streak_at_least = 2");
        let mut f = Facts { emotions: vec!["neutral".into(), "angry".into()], ..Default::default() };
        assert!(!w.matches(&f), "one angry utterance is not two");
        f.emotions.push("frustrated".into());
        assert!(w.matches(&f), "angry then frustrated: two upset utterances in a row");
        f.emotions.push("neutral".into());
        assert!(!w.matches(&f), "calmed down");
        let anxious = when("emotion = \"anxious\"\nintent = \"lost_package\"");
        let f = Facts { intent: "lost_package".into(), emotions: vec!["anxious".into()], ..Default::default() };
        assert!(anxious.matches(&f));
        assert!(!anxious.matches(&Facts { emotions: Vec::new(), ..f.clone() }), "no score, no match");
        let agitated = when("arousal_at_least = 0.7");
        assert!(!agitated.matches(&Facts::default()));
        assert!(agitated.matches(&Facts { arousal: Some(0.8), ..Default::default() }));
    }

    #[test]
    fn all_given_conditions_must_hold() {
        let w = when("intent = [\"return_request\", \"exchange\"]\nhas_custom_made = true");
        let mut f = Facts { intent: "return_request".into(), has_custom_made: true, ..Default::default() };
        assert!(w.matches(&f));
        f.has_custom_made = false;
        assert!(!w.matches(&f));
        f.has_custom_made = true;
        f.intent = "refund_status".into();
        assert!(!w.matches(&f));
        assert!(When::default().matches(&f));
    }

    #[test]
    fn numeric_conditions_need_the_fact() {
        let w = when("delivered_days_ago_over = 7");
        assert!(!w.matches(&Facts::default()), "no delivery date: not over 7 days");
        assert!(w.matches(&Facts { delivered_days_ago: Some(8), ..Default::default() }));
        assert!(!w.matches(&Facts { delivered_days_ago: Some(7), ..Default::default() }));
        let c = when("confidence_below = 0.5");
        assert!(c.matches(&Facts { confidence: 0.3, ..Default::default() }));
    }

    #[test]
    fn unknown_condition_is_an_error() {
        assert!(toml::from_str::<When>("colour = \"red\"").is_err());
    }
}
