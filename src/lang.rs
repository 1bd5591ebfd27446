//! The languages callbot converses in. Both are first-class: every prompt, intent and voice
//! exists in each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown language {0:?} (expected en or zh)")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" | "en-us" | "en-gb" => Ok(Lang::En),
            "zh" | "cmn" | "mandarin" | "chinese" | "zh-cn" | "zh-hans" => Ok(Lang::Zh),
            other => Err(UnknownLang(other.to_string())),
        }
    }
}

impl From<Lang> for crate::asr::Language {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::En => crate::asr::Language::En,
            Lang::Zh => crate::asr::Language::Zh,
        }
    }
}
