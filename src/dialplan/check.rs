//! Loading and validation. Every problem found is reported (not only the first), each with
//! the file, line and column it comes from.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;

use super::schema::{self, Action, LangText};
use super::{
    Concept, Diagnostic, Dialplan, DialplanError, DtmfAction, Intent, Prompts, Queue, Rule, Text, Tone, UNKNOWN,
    template,
};
use crate::emotion::EmotionLabel;
use crate::lang::Lang;
use crate::orders::{OrderStatus, RefundStatus, ReturnStatus, ShipmentStatus};

/// One source file, for turning byte offsets into line:column.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn at(&self, offset: usize, message: impl Into<String>) -> Diagnostic {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        Diagnostic { file: self.path.clone(), line, column, message: message.into() }
    }

    fn span(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(span.start, message)
    }
}

struct Checker {
    dir: PathBuf,
    diagnostics: Vec<Diagnostic>,
}

impl Checker {
    fn read<T: DeserializeOwned>(&mut self, name: &str) -> Option<(Source, T)> {
        let path = self.dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.diagnostics.push(Diagnostic {
                    file: path,
                    line: 1,
                    column: 1,
                    message: format!("cannot read: {e}"),
                });
                return None;
            }
        };
        let source = Source { path, text };
        match toml::from_str::<T>(&source.text) {
            Ok(v) => Some((source, v)),
            Err(e) => {
                let at = e.span().map(|s| s.start).unwrap_or(0);
                self.diagnostics.push(source.at(at, e.message().trim().to_string()));
                None
            }
        }
    }

    /// Text with the default language present and nothing empty; templates checked.
    fn text(&mut self, src: &Source, t: &Spanned<LangText>, default: Lang, what: &str) -> Text {
        if !t.get_ref().contains_key(&default) {
            self.diagnostics
                .push(src.span(t.span(), format!("{what} has no text for the default language '{default}'")));
        }
        let mut by_lang = BTreeMap::new();
        for (lang, s) in t.get_ref() {
            if s.get_ref().trim().is_empty() {
                self.diagnostics.push(src.span(s.span(), format!("{what} ({lang}) is empty")));
            }
            if let Err(e) = template::validate(s.get_ref()) {
                // +1 skips the opening quote.
                self.diagnostics.push(src.at(s.span().start + 1 + e.offset(), format!("{what} ({lang}): {e}")));
            }
            by_lang.insert(*lang, s.get_ref().clone());
        }
        Text { by_lang, fallback: default }
    }
}

pub(super) fn load(dir: &Path) -> Result<Dialplan, DialplanError> {
    let mut c = Checker { dir: dir.to_path_buf(), diagnostics: Vec::new() };
    if !dir.is_dir() {
        c.diagnostics.push(Diagnostic { file: dir.into(), line: 1, column: 1, message: "not a directory".into() });
        return Err(DialplanError { dir: dir.into(), diagnostics: c.diagnostics });
    }
    let main = c.read::<schema::MainFile>("dialplan.toml");
    let intents = c.read::<schema::IntentsFile>("intents.toml");
    let rules = c.read::<schema::RulesFile>("rules.toml");
    let (Some((main_src, main)), Some((intents_src, intents)), Some((rules_src, rules))) = (main, intents, rules)
    else {
        return Err(DialplanError { dir: dir.into(), diagnostics: c.diagnostics });
    };
    let lang = main.dialplan.default_lang;

    let pattern = &main.slots.get_ref().order_id;
    if pattern.min_len < 4 || pattern.min_len > pattern.max_len {
        c.diagnostics.push(main_src.span(
            main.slots.span(),
            format!("slots.order_id: need 4 <= min_len <= max_len, not {}..{}", pattern.min_len, pattern.max_len),
        ));
    }
    if main.settings.clarify_choices == 0 {
        c.diagnostics.push(main_src.at(0, "settings.clarify_choices must be at least 1"));
    }
    let p = &main.prompts;
    let prompts = Prompts {
        greeting: c.text(&main_src, &p.greeting, lang, "prompts.greeting"),
        rephrase: c.text(&main_src, &p.rephrase, lang, "prompts.rephrase"),
        declined: c.text(&main_src, &p.declined, lang, "prompts.declined"),
        effect_failed: c.text(&main_src, &p.effect_failed, lang, "prompts.effect_failed"),
    };
    let store_seed = main.dialplan.store_seed.as_ref().map(|seed| {
        let path = dir.join(seed.get_ref());
        if !path.is_file() {
            c.diagnostics.push(main_src.span(seed.span(), format!("store_seed: no such file {}", path.display())));
        }
        path
    });

    let mut queue_ids = HashSet::new();
    let queues: Vec<Queue> = main
        .queues
        .iter()
        .map(|q| {
            if !queue_ids.insert(q.id.get_ref().clone()) {
                c.diagnostics.push(main_src.span(q.id.span(), format!("queue '{}' is defined twice", q.id.get_ref())));
            }
            Queue { id: q.id.get_ref().clone(), name: q.name.clone(), skills: q.skills.clone() }
        })
        .collect();

    let concepts = concepts(&mut c, &intents_src, &intents.concepts);
    let intents_file = intents;
    let mut intents = check_intents(&mut c, &intents_src, &intents_file.intents, lang);
    if let Some(file) = &main.dialplan.training {
        training(&mut c, &main_src, file, &mut intents);
    }
    let intent_ids: HashSet<&str> = intents.iter().map(|i| i.id.as_str()).chain([UNKNOWN]).collect();
    for raw in &intents_file.intents {
        for r in &raw.related {
            if !intent_ids.contains(r.get_ref().as_str()) {
                c.diagnostics.push(intents_src.span(r.span(), format!("related: unknown intent '{}'", r.get_ref())));
            }
        }
    }
    let tones = check_tones(&mut c, &rules_src, &rules.tones, lang, &rules.rules, &intent_ids);
    let rules = check_rules(&mut c, &rules_src, &rules.rules, lang, &intent_ids, &queue_ids);
    let dtmf = dtmf_menu(&mut c, &main_src, &main.dtmf, &intent_ids);

    if !c.diagnostics.is_empty() {
        return Err(DialplanError { dir: dir.into(), diagnostics: c.diagnostics });
    }
    Ok(Dialplan {
        dir: dir.to_path_buf(),
        name: main.dialplan.name,
        default_lang: lang,
        settings: main.settings,
        store_seed,
        prompts,
        slots: main.slots.into_inner(),
        queues,
        concepts,
        intents,
        rules,
        tones,
        dtmf,
    })
}

/// The keypad menu: one key each, one action each, known intents only.
fn dtmf_menu(
    c: &mut Checker,
    src: &Source,
    raw: &BTreeMap<String, Spanned<schema::DtmfKey>>,
    intents: &HashSet<&str>,
) -> BTreeMap<char, DtmfAction> {
    let mut menu = BTreeMap::new();
    for (key, entry) in raw {
        let span = entry.span();
        let mut chars = key.chars();
        let digit = match (chars.next(), chars.next()) {
            (Some(d), None) if crate::rtp::dtmf::digit_to_event(d).is_some() => d,
            _ => {
                c.diagnostics.push(src.span(span, format!("dtmf: '{key}' is not one key (0-9, *, #, A-D)")));
                continue;
            }
        };
        match (&entry.get_ref().intent, entry.get_ref().lang) {
            (Some(intent), None) if intents.contains(intent.as_str()) => {
                menu.insert(digit, DtmfAction::Intent(intent.clone()));
            }
            (Some(intent), None) => {
                c.diagnostics.push(src.span(span, format!("dtmf.{key}: unknown intent '{intent}'")))
            }
            (None, Some(lang)) => {
                menu.insert(digit, DtmfAction::Lang(lang));
            }
            _ => c.diagnostics.push(src.span(span, format!("dtmf.{key}: give exactly one of intent or lang"))),
        }
    }
    menu
}

/// Adds the examples of a JSONL training file to their intents.
fn training(c: &mut Checker, main_src: &Source, file: &Spanned<String>, intents: &mut [Intent]) {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        text: String,
        lang: Lang,
        intent: String,
    }
    let path = c.dir.join(file.get_ref());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            c.diagnostics.push(main_src.span(file.span(), format!("training: cannot read {}: {e}", path.display())));
            return;
        }
    };
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |message: String| Diagnostic { file: path.clone(), line: n + 1, column: 1, message };
        match serde_json::from_str::<Line>(line) {
            Err(e) => c.diagnostics.push(at(format!("not a training line: {e}"))),
            Ok(l) if l.text.trim().is_empty() => c.diagnostics.push(at("empty text".into())),
            Ok(l) => match intents.iter_mut().find(|i| i.id == l.intent) {
                Some(intent) => intent.examples.entry(l.lang).or_default().push(l.text),
                None => c.diagnostics.push(at(format!("unknown intent '{}' (define it in intents.toml)", l.intent))),
            },
        }
    }
}

fn is_identifier(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn concepts(c: &mut Checker, src: &Source, raw: &[schema::Concept]) -> Vec<Concept> {
    let mut seen = HashSet::new();
    raw.iter()
        .map(|k| {
            let id = k.id.get_ref();
            if !is_identifier(id) {
                c.diagnostics
                    .push(src.span(k.id.span(), format!("concept id '{id}' must be lowercase letters, digits, _")));
            }
            if !seen.insert(id.clone()) {
                c.diagnostics.push(src.span(k.id.span(), format!("concept '{id}' is defined twice")));
            }
            if k.en.is_empty() && k.zh.is_empty() {
                c.diagnostics.push(src.span(k.id.span(), format!("concept '{id}' lists no words")));
            }
            let words = BTreeMap::from([(Lang::En, k.en.clone()), (Lang::Zh, k.zh.clone())]);
            Concept { id: id.clone(), words }
        })
        .collect()
}

fn check_intents(c: &mut Checker, src: &Source, raw: &[schema::Intent], lang: Lang) -> Vec<Intent> {
    let mut seen = HashSet::new();
    raw.iter()
        .map(|i| {
            let id = i.id.get_ref();
            if !is_identifier(id) {
                c.diagnostics
                    .push(src.span(i.id.span(), format!("intent id '{id}' must be lowercase letters, digits, _")));
            }
            if !seen.insert(id.clone()) {
                c.diagnostics.push(src.span(i.id.span(), format!("intent '{id}' is defined twice")));
            }
            let label = c.text(src, &i.label, lang, &format!("intent '{id}' label"));
            let mut examples = BTreeMap::new();
            for (l, list) in &i.examples {
                let cleaned: Vec<String> =
                    list.get_ref().iter().map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect();
                if cleaned.len() < list.get_ref().len() {
                    c.diagnostics.push(src.span(list.span(), format!("intent '{id}' has an empty {l} example")));
                }
                examples.insert(*l, cleaned);
            }
            if examples.get(&lang).is_none_or(|e| e.len() < 3) {
                c.diagnostics.push(src.span(
                    i.id.span(),
                    format!("intent '{id}' needs at least 3 examples in the default language '{lang}'"),
                ));
            }
            let related = i.related.iter().map(|r| r.get_ref().clone()).collect();
            Intent { id: id.clone(), label, examples, related }
        })
        .collect()
}

fn check_rules(
    c: &mut Checker,
    src: &Source,
    raw: &[schema::Rule],
    lang: Lang,
    intents: &HashSet<&str>,
    queues: &HashSet<String>,
) -> Vec<Rule> {
    let mut seen = HashSet::new();
    let mut catch_all: Option<String> = None;
    let mut out = Vec::new();
    for r in raw {
        let id = r.id.get_ref().clone();
        let at = |msg: String| src.span(r.id.span(), format!("rule '{id}': {msg}"));
        let mut problems = Vec::new();
        if id.trim().is_empty() || id.contains(char::is_whitespace) {
            problems.push(at("rule id must be a word without spaces".into()));
        }
        if !seen.insert(id.clone()) {
            problems.push(at("defined twice".into()));
        }
        if let Some(first) = &catch_all {
            problems.push(at(format!("unreachable: rule '{first}' before it matches every turn")));
        }
        let when = r.when.get_ref();
        if *when == super::When::default() {
            catch_all = Some(id.clone());
        }
        problems.extend(
            when_problems(when, intents).into_iter().map(|m| src.span(r.when.span(), format!("rule '{id}': {m}"))),
        );
        match (r.action, &r.queue) {
            (Action::Transfer, None) => problems.push(at("a transfer needs a queue".into())),
            (Action::Transfer, Some(q)) if !queues.contains(q.get_ref()) => problems.push(src.span(
                q.span(),
                format!("rule '{id}': unknown queue '{}' (define it under [[queues]] in dialplan.toml)", q.get_ref()),
            )),
            (Action::Transfer, Some(_)) => {}
            (_, Some(q)) => problems.push(src.span(q.span(), format!("rule '{id}': only a transfer has a queue"))),
            (_, None) => {}
        }
        if let Some(p) = &r.priority {
            if *p.get_ref() > 9 {
                problems.push(src.span(p.span(), format!("rule '{id}': priority must be 0-9, not {}", p.get_ref())));
            }
            if r.action != Action::Transfer {
                problems.push(src.span(p.span(), format!("rule '{id}': only a transfer has a priority")));
            }
        }
        if r.action != Action::Ask && (r.expect.is_some() || r.effect.is_some()) {
            problems.push(at("expect and effect belong to action = \"ask\"".into()));
        }
        if r.effect.is_some() != r.done.is_some() {
            problems.push(at("an effect needs a done text, and done belongs to an effect".into()));
        }
        let say = c.text(src, &r.say, lang, &format!("rule '{id}' say"));
        if r.refusal {
            for (l, s) in r.say.get_ref() {
                if !s.get_ref().contains("{rule.id}") && !s.get_ref().contains("{rule.text}") {
                    problems.push(src.span(
                        s.span(),
                        format!(
                            "rule '{id}' is a refusal: its {l} say must cite the rule ({{rule.id}} or {{rule.text}})"
                        ),
                    ));
                }
            }
        }
        let detailed = r.detailed.as_ref().map(|d| c.text(src, d, lang, &format!("rule '{id}' detailed")));
        let brief = r.brief.as_ref().map(|d| c.text(src, d, lang, &format!("rule '{id}' brief")));
        let done = r.done.as_ref().map(|d| c.text(src, d, lang, &format!("rule '{id}' done")));
        c.diagnostics.extend(problems);
        out.push(Rule {
            id,
            text: r.text.clone(),
            when: when.clone(),
            action: r.action,
            say,
            detailed,
            brief,
            refusal: r.refusal,
            queue: r.queue.as_ref().map(|q| q.get_ref().clone()),
            priority: r.priority.as_ref().map(|p| *p.get_ref()),
            expect: r.expect,
            effect: r.effect,
            done,
        });
    }
    if catch_all.is_none() {
        c.diagnostics
            .push(src.at(0, "no catch-all rule: the last rule should have no `when`, so every turn gets an answer"));
    }
    out
}

/// What is wrong with a `when` (of a rule or a tone): names nothing defined, values out of
/// range, emotion conditions that cannot mean anything.
fn when_problems(when: &super::When, intents: &HashSet<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    for (what, value) in when.references() {
        let mut known: Vec<&str> = match what {
            "intent" => intents.iter().copied().collect(),
            "order_status" => OrderStatus::ALL.iter().map(|s| s.as_str()).collect(),
            "shipment_status" => ShipmentStatus::ALL.iter().map(|s| s.as_str()).collect(),
            "return_status" => ReturnStatus::ALL.iter().map(|s| s.as_str()).collect(),
            "emotion" => EmotionLabel::ALL.iter().map(|s| s.as_str()).collect(),
            _ => RefundStatus::ALL.iter().map(|s| s.as_str()).collect(),
        };
        if !known.contains(&value) {
            known.sort_unstable();
            problems.push(format!("unknown {what} '{value}' (known: {})", known.join(", ")));
        }
    }
    if when.confidence_below.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
        problems.push("confidence_below must be within 0..1".to_string());
    }
    if when.emotion_streak_at_least.is_some() && when.emotion.is_none() {
        problems.push("emotion_streak_at_least needs `emotion` (the emotions that count)".to_string());
    }
    if when.emotion_streak_at_least == Some(0) {
        problems.push("emotion_streak_at_least must be at least 1".to_string());
    }
    if when.arousal_at_least.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
        problems.push("arousal_at_least must be within 0..1".to_string());
    }
    if when.valence_below.is_some_and(|v| !(-1.0..=1.0).contains(&v)) {
        problems.push("valence_below must be within -1..1".to_string());
    }
    problems
}

/// Tones: ids distinct from each other and from rules, sound conditions, texts in the default
/// language.
fn check_tones(
    c: &mut Checker,
    src: &Source,
    raw: &[schema::Tone],
    lang: Lang,
    rules: &[schema::Rule],
    intents: &HashSet<&str>,
) -> Vec<Tone> {
    let mut seen: HashSet<String> = rules.iter().map(|r| r.id.get_ref().clone()).collect();
    raw.iter()
        .map(|t| {
            let id = t.id.get_ref().clone();
            if !seen.insert(id.clone()) {
                c.diagnostics.push(src.span(t.id.span(), format!("tone '{id}': id already used by a rule or tone")));
            }
            let when = t.when.get_ref();
            for m in when_problems(when, intents) {
                c.diagnostics.push(src.span(t.when.span(), format!("tone '{id}': {m}")));
            }
            if t.prefix.is_none() && !t.brief {
                c.diagnostics.push(src.span(t.id.span(), format!("tone '{id}': give a prefix, brief = true, or both")));
            }
            let prefix = t.prefix.as_ref().map(|p| c.text(src, p, lang, &format!("tone '{id}' prefix")));
            Tone { id, text: t.text.clone(), when: when.clone(), prefix, brief: t.brief }
        })
        .collect()
}
