//! Catalogue products named in the text: by name or alias, in either language, any case,
//! singular or plural ("mugs" for "mug", "杯子" for a mug), the longest name found winning
//! ("travel mug" over "mug").

use super::Product;
use crate::nlu::numbers::{is_cjk, normalize_numbers};

/// The catalogue name of the product named in `text` (already number-normalized), and the
/// words that named it.
pub(super) fn find(text: &str, catalogue: &[Product]) -> Option<(String, String)> {
    let hay = fold(text);
    let mut best: Option<(usize, usize, &str, String)> = None; // (chars, start, name, matched)
    for product in catalogue {
        for form in std::iter::once(&product.name).chain(&product.aliases) {
            // Names go through the same number normalization as the text ("AirPods Pro two").
            let needle = fold(&normalize_numbers(form));
            for variant in variants(&needle) {
                for (start, matched) in hay.match_indices(variant.as_str()) {
                    if !at_word_bounds(&hay, start, start + matched.len()) {
                        continue;
                    }
                    let len = matched.chars().count();
                    let better = best.as_ref().is_none_or(|&(l, s, ..)| len > l || len == l && start < s);
                    if better {
                        best = Some((len, start, &product.name, matched.to_string()));
                    }
                }
            }
        }
    }
    best.map(|(_, _, name, matched)| (name.to_string(), matched))
}

/// Lower case, dashes and underscores as spaces, runs of spaces as one, and no spaces between
/// Chinese characters (ASR scatters them there).
fn fold(text: &str) -> String {
    let lower = text.to_lowercase().replace(['-', '_'], " ");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let mut out = String::with_capacity(lower.len());
    for (i, w) in words.iter().enumerate() {
        let joins = |a: Option<char>, b: Option<char>| a.is_some_and(is_cjk) && b.is_some_and(is_cjk);
        if i > 0 && !joins(words[i - 1].chars().next_back(), w.chars().next()) {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The name as given and its English plural or singular: "mug"/"mugs", "box"/"boxes",
/// "battery"/"batteries", "airpods"/"airpod".
fn variants(name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    if name.is_empty() || !name.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return out;
    }
    out.push(format!("{name}s"));
    out.push(format!("{name}es"));
    if let Some(stem) = name.strip_suffix('y') {
        out.push(format!("{stem}ies"));
    }
    if let Some(stem) = name.strip_suffix('s') {
        out.push(stem.to_string());
    }
    out.retain(|v| !v.is_empty());
    out
}

/// English names match whole words only ("mug" not in "smuggle"); Chinese has no word breaks.
fn at_word_bounds(hay: &str, start: usize, end: usize) -> bool {
    let before = hay[..start].chars().next_back();
    let after = hay[end..].chars().next();
    let first = hay[start..end].chars().next();
    let last = hay[start..end].chars().next_back();
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let cut_before = alnum(first) && alnum(before);
    let cut_after = alnum(last) && alnum(after);
    !cut_before && !cut_after
}
