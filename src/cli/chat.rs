//! `callbot chat [--dialplan DIR] [--lang zh|en] [--json]`: a text conversation with the bot,
//! one caller utterance per line on stdin, the bot's turns on stdout (greeting first). How
//! dialplan authors test flows without a phone.
//!
//! The words of each line are scored for emotion as a call's would be; a line may also state
//! how the caller sounds, standing in for the voice: `[angry] where is my order`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::Args;

use crate::dialog::{BotTurn, Brain, Conversation};
use crate::emotion::{EmotionLabel, Feeling};
use crate::lang::Lang;
use crate::orders::{OrderStore, SqliteStore, http::HttpConfig, http::HttpStore};

#[derive(Args)]
pub struct ChatArgs {
    /// Dialplan directory [default: the demo dialplan]
    #[arg(long, env = "CALLBOT_DIALPLAN")]
    dialplan: Option<PathBuf>,
    /// Language to start in [default: the dialplan's]; the bot follows the caller's language
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// One JSON object per bot turn
    #[arg(long)]
    json: bool,
    /// A shop's order API (docs/orders-api.md) instead of the dialplan's demo store
    #[arg(long, env = "CALLBOT_ORDERS_URL")]
    orders_url: Option<String>,
    /// Pretend today is this date (YYYY-MM-DD): the demo data's dates are relative to it
    #[arg(long)]
    today: Option<NaiveDate>,
}

fn print(turn: &BotTurn, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string(turn)?)?;
    } else {
        let mut why = format!("{} {:?}", turn.intent, turn.action).to_lowercase();
        if let Some(rule) = &turn.rule {
            why.push_str(&format!(", rule {rule}"));
        }
        if let (Some(q), Some(p)) = (&turn.queue, turn.priority) {
            why.push_str(&format!(" → queue {q}, priority {p}"));
        }
        if let Some(e) = &turn.emotion {
            why.push_str(&format!(", caller {}", e.label.as_str()));
        }
        if let Some(t) = &turn.tone {
            why.push_str(&format!(", tone {t}"));
        }
        writeln!(out, "bot: {}\n     [{why}]", turn.say)?;
    }
    out.flush()?;
    Ok(())
}

pub fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let plan = super::dialplan::load(args.dialplan.as_deref())?;
    let today = args.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let store: Box<dyn OrderStore> = match (&args.orders_url, &plan.store_seed) {
        (Some(url), _) => Box::new(HttpStore::new(HttpConfig::new(url.clone()))?),
        (None, Some(seed)) => {
            let store = SqliteStore::in_memory()?;
            store.seed_file(seed, today)?;
            Box::new(store)
        }
        (None, None) => anyhow::bail!("the dialplan has no store_seed: give --orders-url"),
    };
    let lang = args.lang.unwrap_or(plan.default_lang);
    let mut conversation = Conversation::new(Arc::new(Brain::new(plan)), lang, today);
    let mut out = std::io::stdout().lock();
    print(&conversation.greeting(), args.json, &mut out)?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (feeling, said) = match feeling(&line) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                continue;
            }
        };
        let turn = conversation.hear(said, feeling, store.as_ref());
        print(&turn, args.json, &mut out)?;
        if conversation.ended() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A line's stated feeling (`[angry] …`), or its words alone.
fn feeling(line: &str) -> anyhow::Result<(Feeling, &str)> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix('[')
        && let Some((label, said)) = rest.split_once(']')
    {
        let label = EmotionLabel::parse(label.trim()).ok_or_else(|| {
            let known: Vec<&str> = EmotionLabel::ALL.iter().map(|l| l.as_str()).collect();
            anyhow::anyhow!("unknown emotion [{label}] (known: {})", known.join(", "))
        })?;
        return Ok((Feeling::Stated(label), said.trim()));
    }
    Ok((Feeling::Voice(None), line))
}
