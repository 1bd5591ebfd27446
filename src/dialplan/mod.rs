//! Dialplans: what the bot understands, says and decides, written as TOML files in a directory
//! (`dialplan.toml`, `intents.toml`, `rules.toml`; schema in `docs/dialplan.md`).
//!
//! A dialplan is an ordered list of rules: at every turn the first rule whose `when` holds
//! decides what the bot does, and the turn cites that rule's id and text. Loading validates
//! everything up front, with file:line:col for each problem (`callbot dialplan check`).

mod check;
pub mod condition;
pub mod schema;
pub mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use condition::{Facts, When};
pub use schema::{Action, Effect, Expect, Settings};

use crate::lang::Lang;

/// The dialplan shipped with callbot, used when none is given.
pub const DEMO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dialplans/demo");

/// The intent for what the bot could not understand; it needs no definition.
pub const UNKNOWN: &str = "unknown";

/// Text in each language; a language the author left out falls back to the default.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    by_lang: BTreeMap<Lang, String>,
    fallback: Lang,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        self.by_lang.get(&lang).or_else(|| self.by_lang.get(&self.fallback)).map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub skills: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Concept {
    pub id: String,
    pub words: BTreeMap<Lang, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Intent {
    pub id: String,
    pub label: Text,
    pub examples: BTreeMap<Lang, Vec<String>>,
    pub related: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub text: String,
    pub when: When,
    pub action: Action,
    pub say: Text,
    pub detailed: Option<Text>,
    pub brief: Option<Text>,
    pub refusal: bool,
    pub queue: Option<String>,
    pub priority: Option<u8>,
    pub expect: Option<Expect>,
    pub effect: Option<Effect>,
    pub done: Option<Text>,
}

/// How wording adapts to the caller's feeling (`[[tones]]` in `rules.toml`).
#[derive(Debug, Clone)]
pub struct Tone {
    pub id: String,
    pub text: String,
    pub when: When,
    pub prefix: Option<Text>,
    pub brief: bool,
}

#[derive(Debug, Clone)]
pub struct Prompts {
    pub greeting: Text,
    pub rephrase: Text,
    pub declined: Text,
    pub effect_failed: Text,
}

/// A loaded, validated dialplan.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub dir: PathBuf,
    pub name: String,
    pub default_lang: Lang,
    pub settings: Settings,
    pub store_seed: Option<PathBuf>,
    pub prompts: Prompts,
    pub slots: crate::nlu::slots::SlotContext,
    pub queues: Vec<Queue>,
    pub concepts: Vec<Concept>,
    pub intents: Vec<Intent>,
    pub rules: Vec<Rule>,
    pub tones: Vec<Tone>,
    /// Keypad menu, by key (`0`-`9`, `*`, `#`).
    pub dtmf: BTreeMap<char, DtmfAction>,
}

/// What pressing a key of the keypad menu does.
#[derive(Debug, Clone, PartialEq)]
pub enum DtmfAction {
    /// As if the caller had said something with this intent (e.g. `human_agent`).
    Intent(String),
    /// Switch the conversation to this language.
    Lang(Lang),
}

impl Dialplan {
    /// Loads and validates the dialplan in `dir`.
    pub fn load(dir: &Path) -> Result<Self, DialplanError> {
        check::load(dir)
    }

    pub fn demo() -> Result<Self, DialplanError> {
        Self::load(Path::new(DEMO_DIR))
    }

    pub fn intent(&self, id: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.id == id)
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// True when `text` is only a listening noise ("uh-huh", "嗯") in any language.
    pub fn is_backchannel(&self, text: &str) -> bool {
        let clean: String =
            text.chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '\'' || c == '-' {
                        c.to_lowercase().next().unwrap_or(c)
                    } else {
                        ' '
                    }
                })
                .collect();
        let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
        !clean.is_empty() && self.settings.backchannels.values().flatten().any(|b| *b == clean)
    }
}

/// One problem in a dialplan, where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("dialplan {} has {} problem(s):\n{}", dir.display(), diagnostics.len(), render(diagnostics))]
pub struct DialplanError {
    pub dir: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
}
