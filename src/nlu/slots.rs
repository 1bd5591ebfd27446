//! Slots from a caller's words: order number, phone number, date, amount, product.
//!
//! [`extract`] works on [`normalize_numbers`]'s output, so every pattern here sees ASCII digits
//! however the caller said them. Patterns of both languages always run, as callers mix them
//! ("我的 iPhone", "订单号 2023 1188"); the [`Lang`] only breaks ties that the text cannot
//! (an 11-digit number starting with 1 is a Chinese mobile for Zh, +1 and a US number for En).
//!
//! Each slot keeps the first mention that fits it. A span used by one slot is not read again
//! by the next, in this order: amounts (marked by a currency, so the least ambiguous), dates,
//! phone and order numbers, products.

mod amount;
mod date;
mod ids;
mod product;

#[cfg(test)]
mod tests;

use std::ops::Range;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::numbers::normalize_numbers;
use crate::lang::Lang;

/// What [`extract`] found. Absent slots are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Slots {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Digits only, without the country code: 11 digits for a Chinese mobile, 10 for a US
    /// number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// The catalogue name of the product mentioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The words each slot was read from, in slot order, for highlighting.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mention>,
}

/// A sum of money. `currency` is an ISO 4217 code ("USD", "EUR", "GBP", "CNY"), or None when
/// the caller named no currency ("I was charged 25.50").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub value_cents: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    OrderId,
    Phone,
    Date,
    Amount,
    Product,
}

/// Where a slot came from: the matched words as they read after number normalization
/// ("2023 1188" reads "20231188").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mention {
    pub kind: SlotKind,
    pub text: String,
}

/// What extraction needs to know about the business.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlotContext {
    pub order_id: OrderIdPattern,
    pub catalogue: Vec<Product>,
    pub date_bias: DateBias,
}

/// The shape of an order number: `min_len..=max_len` digits, after an optional `prefix` of
/// letters ("ORD" for "ORD20231188"). Callers often leave the prefix out, so it is optional in
/// speech; the extracted id always carries it, upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderIdPattern {
    pub min_len: usize,
    pub max_len: usize,
    pub prefix: Option<String>,
}

impl Default for OrderIdPattern {
    fn default() -> Self {
        OrderIdPattern { min_len: 8, max_len: 8, prefix: None }
    }
}

/// A product the caller may name, with other names for it in either language ("mug", "杯子").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Which way a date without a direction points: "on Monday", "November 21", "21号". Callers
/// mostly talk about what already happened (an order, a charge), hence `Past` by default; a
/// dialog asking for a delivery or appointment date sets `Future`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateBias {
    #[default]
    Past,
    Future,
}

/// Finds the slots in one utterance. `today` anchors relative dates ("yesterday", "上周五").
pub fn extract(text: &str, lang: Lang, today: NaiveDate, ctx: &SlotContext) -> Slots {
    let text = normalize_numbers(text);
    let mut taken = Taken::default();
    let amount = amount::find(&text, &mut taken);
    let date = date::find(&text, today, ctx.date_bias, &mut taken);
    let ids = ids::find(&text, lang, &ctx.order_id, &mut taken);
    let product = product::find(&text, &ctx.catalogue);

    let mut slots = Slots::default();
    let mention = |kind, span: Range<usize>| Mention { kind, text: text[span].trim().to_string() };
    if let Some((order, span)) = ids.order {
        slots.order_id = Some(order);
        slots.mentions.push(mention(SlotKind::OrderId, span));
    }
    if let Some((phone, span)) = ids.phone {
        slots.phone = Some(phone);
        slots.mentions.push(mention(SlotKind::Phone, span));
    }
    if let Some((value, span)) = date {
        slots.date = Some(value);
        slots.mentions.push(mention(SlotKind::Date, span));
    }
    if let Some((value, span)) = amount {
        slots.amount = Some(value);
        slots.mentions.push(mention(SlotKind::Amount, span));
    }
    if let Some((name, matched)) = product {
        slots.product = Some(name);
        slots.mentions.push(Mention { kind: SlotKind::Product, text: matched });
    }
    slots
}

/// Byte ranges of the normalized text already read as some slot.
#[derive(Debug, Default)]
struct Taken(Vec<Range<usize>>);

impl Taken {
    fn overlaps(&self, span: &Range<usize>) -> bool {
        self.0.iter().any(|t| t.start < span.end && span.start < t.end)
    }

    fn add(&mut self, span: Range<usize>) {
        self.0.push(span);
    }
}

/// Of several (span, value) candidates, the earliest, and the longest of those.
fn earliest<T>(candidates: Vec<(Range<usize>, T)>) -> Option<(Range<usize>, T)> {
    candidates.into_iter().min_by_key(|(span, _)| (span.start, usize::MAX - span.end))
}
