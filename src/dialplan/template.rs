//! Answer templates: text with `{name}` placeholders filled from the order system and the
//! conversation ("Order {order.id} shipped on {shipment.shipped_on} with {shipment.carrier}").
//! `{{` and `}}` are literal braces.

use std::collections::HashMap;

/// Every placeholder a template may use.
pub const VARIABLES: &[&str] = &[
    "order.id",
    "order.status",
    "order.placed_on",
    "order.total",
    "order.items",
    "order.address",
    "shipment.carrier",
    "shipment.tracking",
    "shipment.status",
    "shipment.shipped_on",
    "shipment.expected_on",
    "shipment.delivered_on",
    "shipment.last_event",
    "return.id",
    "return.status",
    "return.requested_on",
    "refund.amount",
    "refund.status",
    "refund.requested_on",
    "refund.completed_on",
    "refund.method",
    "invoice.number",
    "invoice.url",
    "slots.address",
    "rule.id",
    "rule.text",
    "choices",
    "error",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("unknown placeholder {{{name}}} (known: {})", VARIABLES.join(", "))]
    Unknown { name: String, offset: usize },
    #[error("unclosed '{{' (write '{{{{' for a literal brace)")]
    Unclosed { offset: usize },
}

impl TemplateError {
    /// Byte offset in the template where the problem starts.
    pub fn offset(&self) -> usize {
        match self {
            TemplateError::Unknown { offset, .. } | TemplateError::Unclosed { offset } => *offset,
        }
    }
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str, usize),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut base = 0;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let doubled = rest[i + 1..].starts_with(&rest[i..i + 1]);
        if doubled {
            out.push(Piece::Text(&rest[i..i + 1]));
            rest = &rest[i + 2..];
            base += i + 2;
        } else if rest[i..].starts_with('}') {
            out.push(Piece::Text("}"));
            rest = &rest[i + 1..];
            base += i + 1;
        } else {
            let Some(len) = rest[i + 1..].find('}') else {
                return Err(TemplateError::Unclosed { offset: base + i });
            };
            out.push(Piece::Var(rest[i + 1..i + 1 + len].trim(), base + i));
            rest = &rest[i + 2 + len..];
            base += i + 2 + len;
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks a template: every placeholder must be known.
pub fn validate(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut names = Vec::new();
    for piece in pieces(template)? {
        if let Piece::Var(name, offset) = piece {
            if !VARIABLES.contains(&name) {
                return Err(TemplateError::Unknown { name: name.to_string(), offset });
            }
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Fills a template; a placeholder with no value becomes empty (the data was missing).
pub fn render(template: &str, vars: &HashMap<&'static str, String>) -> String {
    let Ok(pieces) = pieces(template) else { return template.to_string() };
    let mut out = String::with_capacity(template.len() + 32);
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name, _) => out.push_str(vars.get(name).map(String::as_str).unwrap_or("")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_placeholders_and_literal_braces() {
        let vars = HashMap::from([("order.id", "20231188".to_string()), ("shipment.carrier", "SF Express".into())]);
        let out = render("Order {order.id} went with {shipment.carrier} {{ok}}", &vars);
        assert_eq!(out, "Order 20231188 went with SF Express {ok}");
        assert_eq!(render("{refund.amount}!", &vars), "!");
    }

    #[test]
    fn rejects_unknown_and_unclosed_placeholders_with_offsets() {
        assert_eq!(validate("a {order.id} b").unwrap(), vec!["order.id"]);
        let e = validate("Hi {order.colour}").unwrap_err();
        assert_eq!(e.offset(), 3);
        assert!(e.to_string().contains("order.colour"));
        assert_eq!(validate("Hi {order.id").unwrap_err(), TemplateError::Unclosed { offset: 3 });
    }
}
