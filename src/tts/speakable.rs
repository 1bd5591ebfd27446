//! Text as a caller should hear it. Codes (order numbers, tracking numbers, phone numbers) are
//! read character by character, the way an agent reads them out: "20231188" as "2 0 2 3 1 1 8
//! 8", not "twenty million…" (or "两千零二十三万…"); short numbers ("3 to 5 days", "$49.99")
//! stay numbers.

/// A run with this many digits or more is a code.
const CODE_DIGITS: usize = 5;

fn is_code_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase()
}

pub fn speakable(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        if !is_code_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_code_char(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
        // Part of a word ("iPhone15000") or a decimal ("12800.00"): not a code.
        let glued = start > 0 && chars[start - 1].is_ascii_lowercase();
        let decimal = chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if digits < CODE_DIGITS || glued || decimal {
            out.extend(run);
            continue;
        }
        if !out.is_empty() && !out.ends_with(char::is_whitespace) {
            out.push(' ');
        }
        let spelled: Vec<String> = run.iter().map(char::to_string).collect();
        out.push_str(&spelled.join(" "));
        if chars.get(i).is_some_and(|c| !c.is_whitespace() && !c.is_ascii_punctuation()) {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_out_and_amounts_are_not() {
        assert_eq!(speakable("Order 20231188 shipped."), "Order 2 0 2 3 1 1 8 8 shipped.");
        assert_eq!(speakable("tracking SF1428365079012, expected"), "tracking S F 1 4 2 8 3 6 5 0 7 9 0 1 2, expected");
        assert_eq!(speakable("within 3 to 5 days, $49.99 back"), "within 3 to 5 days, $49.99 back");
        assert_eq!(speakable("订单20231188已发货"), "订单 2 0 2 3 1 1 8 8 已发货");
        assert_eq!(speakable("at 12800.00 yuan"), "at 12800.00 yuan");
        assert_eq!(speakable("SF Express"), "SF Express");
    }
}
