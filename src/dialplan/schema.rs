//! The dialplan files as written (serde shapes of the TOML). `docs/dialplan.md` documents
//! every field; `check` turns these into a validated [`super::Dialplan`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::lang::Lang;

/// Text in each language the dialplan supports.
pub type LangText = BTreeMap<Lang, Spanned<String>>;

/// `dialplan.toml`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MainFile {
    pub dialplan: Header,
    #[serde(default)]
    pub settings: Settings,
    pub prompts: Prompts,
    #[serde(default)]
    pub queues: Vec<Queue>,
    /// Slot definitions: the shape of order numbers, the products callers may name.
    #[serde(default = "default_slots")]
    pub slots: Spanned<crate::nlu::slots::SlotContext>,
    /// Keypad menu: what pressing a key does when no digits are being typed.
    #[serde(default)]
    pub dtmf: BTreeMap<String, Spanned<DtmfKey>>,
}

/// One keypad key: take an intent as if the caller had said it, or switch language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DtmfKey {
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub lang: Option<Lang>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub default_lang: Lang,
    /// Seed file for the embedded demo order store, relative to the dialplan directory.
    #[serde(default)]
    pub store_seed: Option<Spanned<String>>,
    /// More intent examples, one JSON object per line: {"text", "lang", "intent"}.
    #[serde(default)]
    pub training: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `{choices}` in a clarifying question names at most this many candidate intents.
    pub clarify_choices: usize,
    /// What callers say while listening ("uh-huh", "嗯"): said over the bot, these do not
    /// interrupt it. Compared after lower-casing and dropping punctuation.
    pub backchannels: BTreeMap<Lang, Vec<String>>,
}

impl Default for Settings {
    fn default() -> Self {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        let backchannels = BTreeMap::from([
            (
                Lang::En,
                words(&[
                    "uh-huh", "uh huh", "mm-hmm", "mhm", "hmm", "mm", "ok", "okay", "yeah", "right", "i see", "sure",
                    "alright",
                ]),
            ),
            (
                Lang::Zh,
                words(&["嗯", "嗯嗯", "嗯哼", "好", "好的", "对", "对对", "是", "是的", "哦", "噢", "啊", "行"]),
            ),
        ]);
        Self { clarify_choices: 2, backchannels }
    }
}

/// Fixed prompts the conversation engine itself needs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    pub greeting: Spanned<LangText>,
    /// Said before a rule's `detailed` text when the caller asks the same thing again.
    pub rephrase: Spanned<LangText>,
    /// The caller declined a confirmation.
    pub declined: Spanned<LangText>,
    /// A confirmed change failed in the order system; `{error}` says why.
    pub effect_failed: Spanned<LangText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub id: Spanned<String>,
    pub name: String,
    #[serde(default)]
    pub skills: Vec<String>,
}

/// `intents.toml`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentsFile {
    #[serde(default)]
    pub concepts: Vec<Concept>,
    pub intents: Vec<Intent>,
}

/// Words that mean the same thing to the classifier, in both languages ("smashed", "cracked",
/// "碎了" all mean *broken*): lets a few examples cover many paraphrases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concept {
    pub id: Spanned<String>,
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub zh: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub id: Spanned<String>,
    /// How a clarifying question names this intent ("check an order").
    pub label: Spanned<LangText>,
    pub examples: BTreeMap<Lang, Spanned<Vec<String>>>,
    /// Intents the bot answers the same way: when the classifier hesitates only between
    /// these, it is not in doubt (no clarifying question between "order status" and "track").
    #[serde(default)]
    pub related: Vec<Spanned<String>>,
}

/// `rules.toml`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    pub rules: Vec<Rule>,
    /// How the bot's wording adapts to the caller's feeling; the first tone whose `when`
    /// holds applies to an answer or question.
    #[serde(default)]
    pub tones: Vec<Tone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tone {
    pub id: Spanned<String>,
    /// The tone in words, cited with the rule when it shapes a turn.
    pub text: String,
    pub when: Spanned<super::condition::When>,
    /// Said before the rule's words (an acknowledgement: "I'm sorry this has been frustrating.").
    #[serde(default)]
    pub prefix: Option<Spanned<LangText>>,
    /// Use the rule's `brief` wording when it has one.
    #[serde(default)]
    pub brief: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Answer,
    Ask,
    Transfer,
    Hangup,
}

/// A change to the order system, made only after the caller confirms it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    CancelOrder,
    ChangeAddress,
    RequestReturn,
}

/// What a rule asks the caller for; the next utterance fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    OrderId,
    Address,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: Spanned<String>,
    /// The rule in words, cited whenever it decides a turn.
    pub text: String,
    #[serde(default = "always")]
    pub when: Spanned<super::condition::When>,
    pub action: Action,
    pub say: Spanned<LangText>,
    /// A simpler, fuller explanation for a caller who asks the same thing again.
    #[serde(default)]
    pub detailed: Option<Spanned<LangText>>,
    /// A shorter answer, for an upset caller (used by a tone with `brief = true`).
    #[serde(default)]
    pub brief: Option<Spanned<LangText>>,
    /// This rule refuses what the caller asked; its `say` must cite the rule.
    #[serde(default)]
    pub refusal: bool,
    #[serde(default)]
    pub queue: Option<Spanned<String>>,
    #[serde(default)]
    pub priority: Option<Spanned<u8>>,
    #[serde(default)]
    pub expect: Option<Expect>,
    /// With `action = "ask"`: the question is a confirmation; "yes" makes this change.
    #[serde(default)]
    pub effect: Option<Effect>,
    /// Said after the confirmed change was made.
    #[serde(default)]
    pub done: Option<Spanned<LangText>>,
}

fn always() -> Spanned<super::condition::When> {
    Spanned::new(0..0, super::condition::When::default())
}

fn default_slots() -> Spanned<crate::nlu::slots::SlotContext> {
    Spanned::new(0..0, crate::nlu::slots::SlotContext::default())
}
