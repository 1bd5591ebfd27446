//! Which dialplan answers a call: by the number (or SIP user) the caller dialled. Any number
//! not listed reaches the default dialplan, so a hotline works before anyone configures routes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::dialog::Brain;

pub struct Routes {
    default: Arc<Brain>,
    /// Keyed by the normalised number (see [`normalise`]).
    by_number: HashMap<String, Arc<Brain>>,
}

impl Routes {
    pub fn new(default: Arc<Brain>) -> Self {
        Self { default, by_number: HashMap::new() }
    }

    /// Calls to `number` reach `brain`.
    pub fn add(&mut self, number: &str, brain: Arc<Brain>) {
        self.by_number.insert(normalise(number), brain);
    }

    /// The dialplan for a call to `callee` (a SIP Request-URI user, a dialled number).
    pub fn route(&self, callee: &str) -> &Arc<Brain> {
        self.by_number.get(&normalise(callee)).unwrap_or(&self.default)
    }

    pub fn default_brain(&self) -> &Arc<Brain> {
        &self.default
    }

    /// Every dialplan, the default first.
    pub fn brains(&self) -> impl Iterator<Item = &Arc<Brain>> {
        std::iter::once(&self.default).chain(self.by_number.values())
    }
}

/// Numbers arrive written many ways ("+1 (800) 555-0100", "18005550100", "tel:+1-800-…"):
/// a number keeps its digits and a leading `+`; a name ("support") is compared without case.
pub fn normalise(callee: &str) -> String {
    let s = callee.trim();
    let s = s.strip_prefix("tel:").unwrap_or(s);
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let is_number = !digits.is_empty() && s.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    if is_number { if s.starts_with('+') { format!("+{digits}") } else { digits } } else { s.to_lowercase() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_however_they_are_written() {
        assert_eq!(normalise("+1 (800) 555-0100"), "+18005550100");
        assert_eq!(normalise("tel:+1-800-555-0100"), "+18005550100");
        assert_eq!(normalise("4008 123 456"), "4008123456");
        assert_eq!(normalise("Support"), "support");
        assert_eq!(normalise("shop-2"), "shop-2", "a name with a digit stays a name");
    }
}
