//! The per-call conversation state machine.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::confirm::{self, Answer};
use super::{BotTurn, order_facts};
use crate::dialplan::{Action, Dialplan, Effect, Expect, Facts, Rule, UNKNOWN, template};
use crate::emotion::score::{Feeling, score};
use crate::emotion::{EmotionLabel, EmotionModel, EmotionScore, lexical};
use crate::lang::Lang;
use crate::nlu::numbers::is_cjk;
use crate::nlu::slots::{self, SlotContext, Slots};
use crate::nlu::{IntentClassifier, Prediction};
use crate::orders::{OrderRecord, OrderStore};

/// A dialplan with its trained classifier: built once, shared by every call.
pub struct Brain {
    pub plan: Dialplan,
    pub classifier: IntentClassifier,
    pub slots: SlotContext,
    /// The trained voice emotion model every call scores with.
    pub emotion: Arc<EmotionModel>,
    /// Confidence under which a turn counts as not understood (the dialplan's clarify level).
    understood_at: f32,
}

impl Brain {
    /// With the built-in emotion model.
    pub fn new(plan: Dialplan) -> Self {
        // Compiled in and checked against this build's features by the model's own tests.
        let model = EmotionModel::built_in().expect("the built-in emotion model matches this build");
        Self::with_emotion(plan, Arc::new(model))
    }

    pub fn with_emotion(plan: Dialplan, emotion: Arc<EmotionModel>) -> Self {
        let classifier = IntentClassifier::train(&plan);
        let understood_at = plan.rules.iter().filter_map(|r| r.when.confidence_below).fold(0.0, f32::max);
        let slots = plan.slots.clone();
        Self { plan, classifier, slots, emotion, understood_at }
    }
}

/// What the bot is waiting for from the caller.
#[derive(Debug, Clone)]
enum Pending {
    Slot { intent: String, expect: Expect },
    Confirm { intent: String, rule: String, effect: Effect },
}

/// Intents that are questions about something (a repeat of one means the answer did not land).
fn is_question(intent: &str) -> bool {
    !matches!(intent, UNKNOWN | "human_agent")
}

pub struct Conversation {
    brain: Arc<Brain>,
    lang: Lang,
    today: NaiveDate,
    order_id: Option<String>,
    address: Option<String>,
    pending: Option<Pending>,
    /// Questions asked so far: (intent, order id).
    asked: Vec<(String, Option<String>)>,
    not_understood: u32,
    /// Emotion labels of the caller's scored utterances, oldest first.
    emotions: Vec<EmotionLabel>,
    ended: bool,
}

/// The conversation language from what the caller said: Mandarin if it has Chinese
/// characters to speak of, English if it has words, else unchanged.
fn detect_lang(text: &str, current: Lang) -> Lang {
    let cjk = text.chars().filter(|c| is_cjk(*c)).count();
    let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if cjk >= 2 || (cjk > 0 && cjk * 4 >= latin) {
        Lang::Zh
    } else if latin >= 3 && cjk == 0 {
        Lang::En
    } else {
        current
    }
}

impl Conversation {
    pub fn new(brain: Arc<Brain>, lang: Lang, today: NaiveDate) -> Self {
        Self {
            brain,
            lang,
            today,
            order_id: None,
            address: None,
            pending: None,
            asked: Vec::new(),
            not_understood: 0,
            emotions: Vec::new(),
            ended: false,
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The call has been transferred or hung up: nothing more for the bot to say.
    pub fn ended(&self) -> bool {
        self.ended
    }

    pub fn greeting(&self) -> BotTurn {
        BotTurn {
            say: self.brain.plan.prompts.greeting.get(self.lang).to_string(),
            intent: "greeting".into(),
            confidence: 1.0,
            slots: Slots::default(),
            action: Action::Answer,
            rule: None,
            reason: "greeting: the bot says it is an AI and that a human is one word away".into(),
            queue: None,
            priority: None,
            lang: self.lang,
            emotion: None,
            tone: None,
        }
    }

    /// The caller chose a language (e.g. on the keypad): the bot speaks it from now on.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    /// Typed or keyed input: nothing to tell how the caller feels.
    pub fn reply(&mut self, text: &str, store: &dyn OrderStore) -> BotTurn {
        self.respond(text, None, store)
    }

    /// Something the caller said, and how they sounded saying it.
    pub fn hear(&mut self, text: &str, feeling: Feeling, store: &dyn OrderStore) -> BotTurn {
        self.respond(text, Some(feeling), store)
    }

    fn respond(&mut self, text: &str, feeling: Option<Feeling>, store: &dyn OrderStore) -> BotTurn {
        self.lang = detect_lang(text, self.lang);
        let prediction = self.brain.classifier.predict(text);
        self.decide(text, prediction, feeling, store)
    }

    /// Scores this utterance's emotion (words, voice, repetition) and remembers its label.
    fn feel(&mut self, feeling: Option<Feeling>, text: &str, repeats: u32) -> Option<EmotionScore> {
        let s = score(feeling?, &lexical::cues(text, self.lang), repeats);
        self.emotions.push(s.label);
        Some(s)
    }

    /// A keypad key that stands for an intent: handled as if said, with full confidence.
    pub fn reply_intent(&mut self, intent: &str, store: &dyn OrderStore) -> BotTurn {
        let prediction = Prediction {
            intent: intent.to_string(),
            confidence: 1.0,
            ranked: vec![(intent.to_string(), 1.0)],
            concepts: Vec::new(),
        };
        self.decide("", prediction, None, store)
    }

    fn decide(
        &mut self,
        text: &str,
        prediction: Prediction,
        feeling: Option<Feeling>,
        store: &dyn OrderStore,
    ) -> BotTurn {
        let slots = slots::extract(text, self.lang, self.today, &self.brain.slots);

        if let Some(Pending::Confirm { intent, rule, effect }) = self.pending.clone() {
            self.pending = None;
            let answer = confirm::read(text);
            if answer.is_some() {
                let emotion = self.feel(feeling, text, 0);
                let mut turn = match answer {
                    Some(Answer::Yes) => self.perform(&intent, &rule, effect, &prediction, slots, store),
                    _ => self.declined(&intent, &rule, &prediction, slots),
                };
                turn.emotion = emotion;
                return turn;
            }
            // Something new: handled below.
        }
        let strong = prediction.intent != UNKNOWN && prediction.confidence >= 0.7;
        let mut filled = false;
        let intent = match self.pending.take() {
            Some(Pending::Slot { intent, expect: Expect::OrderId }) if slots.order_id.is_some() || !strong => {
                filled = slots.order_id.is_some();
                intent
            }
            Some(Pending::Slot { intent, expect: Expect::Address }) if !strong || prediction.intent == intent => {
                self.address = Some(text.trim().to_string());
                filled = true;
                intent
            }
            _ => prediction.intent.clone(),
        };
        if let Some(id) = &slots.order_id
            && self.order_id.as_ref() != Some(id)
        {
            self.order_id = Some(id.clone());
            self.address = None;
        }
        let confidence = if filled { 1.0 } else { self.confidence(&prediction) };
        let understood = filled || (intent != UNKNOWN && confidence >= self.brain.understood_at);
        self.not_understood = if understood { 0 } else { self.not_understood + 1 };
        let mut repeat_count = 0;
        if is_question(&intent) && !filled {
            let same = |(i, o): &(String, Option<String>)| *i == intent && (o.is_none() || *o == self.order_id);
            repeat_count = self.asked.iter().filter(|a| same(a)).count() as u32 + 1;
            self.asked.push((intent.clone(), self.order_id.clone()));
        }

        let emotion = self.feel(feeling, text, repeat_count);
        let record = self.lookup(store);
        let mut facts = Facts {
            intent: intent.clone(),
            lang: Some(self.lang),
            confidence,
            repeat_count,
            not_understood: self.not_understood,
            has_order_id: self.order_id.is_some(),
            multiple_orders: self.multiple_orders(text, &prediction),
            has_address: self.address.is_some(),
            emotions: self.emotions.iter().map(|e| e.as_str().to_string()).collect(),
            arousal: emotion.as_ref().map(|e| e.arousal),
            valence: emotion.as_ref().map(|e| e.valence),
            ..Facts::default()
        };
        if let Some(r) = &record {
            order_facts::add_facts(r, self.today, &mut facts);
        }
        let brain = Arc::clone(&self.brain);
        let Some(rule) = brain.plan.rules.iter().find(|r| r.when.matches(&facts)) else {
            // `dialplan check` guarantees a catch-all rule; this is only reachable without one.
            return self.turn(
                String::new(),
                &intent,
                &prediction,
                slots,
                Action::Hangup,
                None,
                "no rule matched".into(),
            );
        };
        let vars = self.vars(record.as_ref(), rule, &prediction);
        let mut say = template::render(rule.say.get(self.lang), &vars);
        // Answers and questions take the caller's feeling into account; transfers and goodbyes
        // are written to acknowledge it already.
        let tone = matches!(rule.action, Action::Answer | Action::Ask)
            .then(|| brain.plan.tones.iter().find(|t| t.when.matches(&facts)))
            .flatten();
        if repeat_count == 2 {
            // Asked again: the first answer did not land. Simpler words and more detail.
            let detailed = rule.detailed.as_ref().map(|d| template::render(d.get(self.lang), &vars));
            say = format!("{} {}", brain.plan.prompts.rephrase.get(self.lang), detailed.unwrap_or(say));
        } else if let Some(brief) = rule.brief.as_ref().filter(|_| tone.is_some_and(|t| t.brief)) {
            say = template::render(brief.get(self.lang), &vars);
        }
        if let Some(prefix) = tone.and_then(|t| t.prefix.as_ref()) {
            let sep = if self.lang == Lang::Zh { "" } else { " " };
            say = format!("{}{sep}{say}", template::render(prefix.get(self.lang), &vars));
        }
        match (rule.action, rule.expect, rule.effect) {
            (Action::Ask, Some(expect), _) => self.pending = Some(Pending::Slot { intent: intent.clone(), expect }),
            (Action::Ask, None, Some(effect)) => {
                self.pending = Some(Pending::Confirm { intent: intent.clone(), rule: rule.id.clone(), effect })
            }
            (Action::Transfer | Action::Hangup, _, _) => self.ended = true,
            _ => {}
        }
        let mut reason = rule.text.clone();
        if repeat_count >= 2 {
            reason.push_str(&format!(" (the caller has asked this {repeat_count} times)"));
        }
        if let Some(e) = emotion.as_ref().filter(|e| rule.when.emotion.is_some() || e.label != EmotionLabel::Neutral) {
            reason.push_str(&format!(" (the caller sounds {}, confidence {:.2})", e.label.as_str(), e.confidence));
        }
        if let Some(t) = tone {
            reason.push_str(&format!(" Wording: {} ({})", t.text, t.id));
        }
        let mut turn = self.turn(say, &intent, &prediction, slots, rule.action, Some(rule), reason);
        turn.confidence = facts.confidence;
        turn.emotion = emotion;
        turn.tone = tone.map(|t| t.id.clone());
        turn
    }

    /// The top intent's probability plus that of the intents the dialplan calls related to it:
    /// hesitating between two intents with the same answer is not doubt.
    fn confidence(&self, prediction: &Prediction) -> f32 {
        let related = self.brain.plan.intent(&prediction.intent).map(|i| i.related.as_slice()).unwrap_or_default();
        let extra: f32 = prediction.ranked.iter().filter(|(i, _)| related.contains(i)).map(|(_, p)| p).sum();
        (prediction.confidence + extra).min(1.0)
    }

    fn lookup(&self, store: &dyn OrderStore) -> Option<OrderRecord> {
        let id = self.order_id.as_ref()?;
        match store.order(id) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(order = %id, "order lookup failed: {e}");
                None
            }
        }
    }

    /// Two different order numbers, or words that tie two orders together.
    fn multiple_orders(&self, text: &str, prediction: &Prediction) -> bool {
        let normalized = crate::nlu::numbers::normalize_numbers(text);
        let shape = &self.brain.slots.order_id;
        let mut ids: Vec<&str> = normalized
            .split(|c: char| !c.is_ascii_digit())
            .filter(|d| (shape.min_len..=shape.max_len).contains(&d.len()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() >= 2 || prediction.concepts.iter().any(|c| c == "cross_order")
    }

    fn vars(
        &self,
        record: Option<&OrderRecord>,
        rule: &Rule,
        prediction: &Prediction,
    ) -> HashMap<&'static str, String> {
        let mut vars = HashMap::new();
        if let Some(id) = &self.order_id {
            vars.insert("order.id", id.clone());
        }
        if let Some(r) = record {
            order_facts::order_vars(r, self.today, self.lang, &mut vars);
        }
        if let Some(a) = &self.address {
            vars.insert("slots.address", a.clone());
        }
        vars.insert("rule.id", rule.id.clone());
        vars.insert("rule.text", rule.text.clone());
        let labels: Vec<&str> = prediction
            .ranked
            .iter()
            .filter(|(i, _)| i != UNKNOWN)
            .filter_map(|(i, _)| self.brain.plan.intent(i))
            .take(self.brain.plan.settings.clarify_choices)
            .map(|i| i.label.get(self.lang))
            .collect();
        vars.insert("choices", labels.join(if self.lang == Lang::Zh { "，还是" } else { ", or " }));
        vars
    }

    fn perform(
        &mut self,
        intent: &str,
        rule_id: &str,
        effect: Effect,
        prediction: &Prediction,
        slots: Slots,
        store: &dyn OrderStore,
    ) -> BotTurn {
        let brain = Arc::clone(&self.brain);
        let rule = brain.plan.rule(rule_id).expect("pending confirmation names a rule of this dialplan");
        let id = self.order_id.clone().unwrap_or_default();
        let result = match effect {
            Effect::CancelOrder => store.cancel_order(&id).map(|_| ()),
            Effect::ChangeAddress => store.change_address(&id, self.address.as_deref().unwrap_or_default()).map(|_| ()),
            Effect::RequestReturn => store.request_return(&id, "requested by phone").map(|_| ()),
        };
        let record = self.lookup(store);
        let mut vars = self.vars(record.as_ref(), rule, prediction);
        match result {
            Ok(()) => {
                let done = rule.done.as_ref().map(|d| template::render(d.get(self.lang), &vars)).unwrap_or_default();
                let reason = format!("{} The caller confirmed; the change was made.", rule.text);
                self.turn(done, intent, prediction, slots, Action::Answer, Some(rule), reason)
            }
            Err(e) => {
                vars.insert("error", e.to_string());
                let say = template::render(brain.plan.prompts.effect_failed.get(self.lang), &vars);
                let reason = format!("{} The caller confirmed, but the order system refused: {e}", rule.text);
                let mut turn = self.turn(say, intent, prediction, slots, Action::Transfer, Some(rule), reason);
                turn.queue = brain.plan.queues.first().map(|q| q.id.clone());
                turn.priority = Some(4);
                self.ended = true;
                turn
            }
        }
    }

    fn declined(&mut self, intent: &str, rule_id: &str, prediction: &Prediction, slots: Slots) -> BotTurn {
        let brain = Arc::clone(&self.brain);
        let rule = brain.plan.rule(rule_id);
        let say = brain.plan.prompts.declined.get(self.lang).to_string();
        let reason =
            format!("{} The caller declined, so nothing was changed.", rule.map(|r| r.text.as_str()).unwrap_or(""));
        self.turn(say, intent, prediction, slots, Action::Answer, rule, reason)
    }

    #[allow(clippy::too_many_arguments)]
    fn turn(
        &self,
        say: String,
        intent: &str,
        prediction: &Prediction,
        mut slots: Slots,
        action: Action,
        rule: Option<&Rule>,
        reason: String,
    ) -> BotTurn {
        if slots.order_id.is_none() {
            slots.order_id.clone_from(&self.order_id);
        }
        let transfer = action == Action::Transfer;
        BotTurn {
            say,
            intent: intent.to_string(),
            confidence: prediction.confidence,
            slots,
            action,
            rule: rule.map(|r| r.id.clone()),
            reason,
            queue: rule.and_then(|r| r.queue.clone()).filter(|_| transfer),
            priority: rule.and_then(|r| r.priority).filter(|_| transfer),
            lang: self.lang,
            emotion: None,
            tone: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::SqliteStore;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("valid date")
    }

    fn setup() -> (Conversation, SqliteStore) {
        let plan = Dialplan::demo().expect("demo dialplan is valid");
        let store = SqliteStore::in_memory().expect("sqlite");
        store.seed_file(plan.store_seed.as_ref().expect("demo has a seed"), today()).expect("seeded");
        (Conversation::new(Arc::new(Brain::new(plan)), Lang::En, today()), store)
    }

    #[test]
    fn language_follows_the_caller() {
        assert_eq!(detect_lang("我的订单呢", Lang::En), Lang::Zh);
        assert_eq!(detect_lang("where is my order", Lang::Zh), Lang::En);
        assert_eq!(detect_lang("我的order还没到", Lang::En), Lang::Zh);
        assert_eq!(detect_lang("ok", Lang::Zh), Lang::Zh, "too little to tell");
    }

    #[test]
    fn an_order_number_answers_the_pending_question_and_keeps_its_intent() {
        let (mut c, store) = setup();
        let ask = c.reply("I want to send the boots back", &store);
        assert_eq!((ask.action, ask.rule.as_deref()), (Action::Ask, Some("O1")));
        let answer = c.reply("two zero two three one one eight eight", &store);
        assert_eq!(answer.intent, "return_request");
        // 20231188 is still on its way: a return starts after delivery (rule R1), cited.
        assert_eq!(answer.rule.as_deref(), Some("R1"));
        assert!(answer.say.contains("R1"), "{}", answer.say);
    }

    #[test]
    fn repeats_are_counted_by_meaning_not_wording() {
        let (mut c, store) = setup();
        let first = c.reply("when will order 20231188 arrive", &store);
        assert_eq!(first.rule.as_deref(), Some("S2"));
        let second = c.reply("what's the delivery date of my parcel", &store);
        assert!(second.reason.contains("2 times"), "{}", second.reason);
        let third = c.reply("I asked when it comes!", &store);
        assert_eq!((third.action, third.rule.as_deref()), (Action::Transfer, Some("T6")));
        assert!(c.ended());
    }
}
