//! The conversation: one caller, one bot, turn by turn. Sans-IO apart from the order store it
//! is handed (a trait object: SQLite in tests and demos, a shop's HTTP API in production); no
//! clock is read, "today" is given.
//!
//! Each turn: understand (intent, confidence, slots) → gather facts (order data, repeats,
//! misunderstandings) → the first dialplan rule that holds decides → render its answer. The
//! turn carries the rule's id and text, so every decision explains itself.

mod confirm;
mod conversation;
pub mod order_facts;

pub use conversation::{Brain, Conversation};

use serde::Serialize;

use crate::dialplan::Action;
use crate::emotion::EmotionScore;
use crate::lang::Lang;
use crate::nlu::slots::Slots;

/// What the bot does in one turn (`callbot chat --json` prints one per line).
#[derive(Debug, Clone, Serialize)]
pub struct BotTurn {
    pub say: String,
    pub intent: String,
    pub confidence: f32,
    pub slots: Slots,
    pub action: Action,
    /// The dialplan rule that decided this turn; null for the greeting.
    pub rule: Option<String>,
    /// Why, in words: the rule's text and what made it apply.
    pub reason: String,
    pub queue: Option<String>,
    pub priority: Option<u8>,
    pub lang: Lang,
    /// How the caller sounded in what this turn answers, when it was scored.
    pub emotion: Option<EmotionScore>,
    /// The dialplan tone that shaped the wording, if any.
    pub tone: Option<String>,
}
