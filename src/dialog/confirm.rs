//! Yes or no, as callers say it after a confirmation question ("yeah go ahead", "对，取消吧",
//! "no wait", "不用了"). Anything else is neither: the caller moved on to something new.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
}

const EN_NO: &[&str] = &[
    "no",
    "nope",
    "nah",
    "don't",
    "do not",
    "not now",
    "wait",
    "hold on",
    "stop",
    "never mind",
    "leave it",
    "not yet",
    "wrong",
    "that's not right",
    "incorrect",
];
const EN_YES: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "please do",
    "go ahead",
    "do it",
    "correct",
    "right",
    "that's right",
    "confirm",
    "absolutely",
    "of course",
    "fine",
    "alright",
    "all right",
    "please",
];
const ZH_NO: &[&str] = &["不", "别", "没有", "算了", "等一下", "等等", "先不", "错了", "不对"];
const ZH_YES: &[&str] =
    &["是", "对", "好", "可以", "行", "确认", "确定", "没问题", "嗯", "要", "取消吧", "改吧", "退吧"];

fn has_word(text: &str, phrase: &str) -> bool {
    let words: Vec<&str> =
        text.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()).collect();
    let phrase: Vec<&str> = phrase.split(' ').collect();
    words.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

/// Reads a reply to a yes/no question. "No" wins over "yes" ("yes, no wait"), since an
/// unwanted change is worse than asking again.
pub fn read(text: &str) -> Option<Answer> {
    let lower = text.to_lowercase().replace("没问题", "好");
    let no = EN_NO.iter().any(|p| has_word(&lower, p)) || ZH_NO.iter().any(|p| lower.contains(p));
    if no {
        return Some(Answer::No);
    }
    let yes = EN_YES.iter().any(|p| has_word(&lower, p)) || ZH_YES.iter().any(|p| lower.contains(p));
    yes.then_some(Answer::Yes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yes_and_no_in_both_languages() {
        for yes in ["Yes please", "yeah go ahead", "ok", "对", "好的，取消吧", "可以", "确认", "没问题"] {
            assert_eq!(read(yes), Some(Answer::Yes), "{yes}");
        }
        for no in ["No", "no wait", "don't do that", "不用了", "算了", "先不要", "yes no wait"] {
            assert_eq!(read(no), Some(Answer::No), "{no}");
        }
        for neither in ["what are your opening hours", "where is my refund", "营业时间"] {
            assert_eq!(read(neither), None, "{neither}");
        }
    }
}
