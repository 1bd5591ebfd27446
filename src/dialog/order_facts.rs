//! What an order record means for rules (facts) and for answers (template variables), in the
//! caller's language. Dates are said the way people say them: "tomorrow", "on 21 November".

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use crate::dialplan::Facts;
use crate::lang::Lang;
use crate::orders::{OrderRecord, Refund, ReturnRequest, Shipment};

/// The latest shipment, return and refund of an order: what a caller asks about.
fn latest_shipment(r: &OrderRecord) -> Option<&Shipment> {
    r.shipments.iter().max_by_key(|s| s.shipped_on)
}

fn latest_return(r: &OrderRecord) -> Option<&ReturnRequest> {
    r.returns.iter().max_by_key(|x| x.requested_on)
}

fn latest_refund(r: &OrderRecord) -> Option<&Refund> {
    r.refunds.iter().max_by_key(|x| x.requested_on)
}

pub fn add_facts(r: &OrderRecord, today: NaiveDate, f: &mut Facts) {
    f.order_found = true;
    f.order_status = Some(r.order.status.as_str().to_string());
    let shipment = latest_shipment(r);
    f.shipment_status = shipment.map(|s| s.status.as_str().to_string());
    f.delivered_days_ago = shipment.and_then(|s| s.delivered_on).map(|d| (today - d).num_days());
    f.return_status = latest_return(r).map(|x| x.status.as_str().to_string());
    f.refund_status = latest_refund(r).map(|x| x.status.as_str().to_string());
    f.has_invoice = r.order.invoice.is_some();
    f.has_custom_made = r.order.items.iter().any(|i| i.custom_made);
    f.has_final_sale = r.order.items.iter().any(|i| i.final_sale);
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date relative to today where that is natural, else the day and month.
pub fn say_date(d: NaiveDate, today: NaiveDate, lang: Lang) -> String {
    let days = (d - today).num_days();
    match (lang, days) {
        (Lang::En, 0) => "today".into(),
        (Lang::En, 1) => "tomorrow".into(),
        (Lang::En, -1) => "yesterday".into(),
        (Lang::En, _) => format!("on {} {}", d.day(), MONTHS[d.month0() as usize]),
        (Lang::Zh, 0) => "今天".into(),
        (Lang::Zh, 1) => "明天".into(),
        (Lang::Zh, -1) => "昨天".into(),
        (Lang::Zh, -2) => "前天".into(),
        (Lang::Zh, 2) => "后天".into(),
        (Lang::Zh, _) => format!("{}月{}日", d.month(), d.day()),
    }
}

pub fn say_money(cents: i64, currency: &str, lang: Lang) -> String {
    let amount = format!("{}.{:02}", cents / 100, (cents % 100).abs());
    match (currency, lang) {
        ("CNY", Lang::Zh) => format!("{amount}元"),
        ("CNY", Lang::En) => format!("{amount} yuan"),
        ("USD", _) => format!("${amount}"),
        ("EUR", _) => format!("€{amount}"),
        ("GBP", _) => format!("£{amount}"),
        (other, _) => format!("{amount} {other}"),
    }
}

/// Status values as the caller should hear them.
fn say_status(status: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return status.replace('_', " ");
    }
    match status {
        "pending" => "待处理",
        "paid" => "已付款",
        "shipped" => "已发货",
        "delivered" => "已送达",
        "cancelled" => "已取消",
        "requested" => "已提交",
        "approved" => "已通过",
        "received" => "已收到退货",
        "rejected" => "未通过",
        "processing" => "处理中",
        "completed" => "已完成",
        "in_transit" => "运输中",
        "out_for_delivery" => "派送中",
        "label_created" => "已下单待揽收",
        "exception" => "异常",
        "lost" => "丢失",
        other => other,
    }
    .to_string()
}

/// Template variables for an order, in `lang`.
pub fn order_vars(r: &OrderRecord, today: NaiveDate, lang: Lang, vars: &mut HashMap<&'static str, String>) {
    let o = &r.order;
    let zh = lang == Lang::Zh;
    vars.insert("order.id", o.id.clone());
    vars.insert("order.status", say_status(o.status.as_str(), lang));
    vars.insert("order.placed_on", say_date(o.placed_on, today, lang));
    vars.insert("order.total", say_money(o.total_cents, &o.currency, lang));
    let items: Vec<String> =
        o.items.iter().map(|i| if zh && !i.name_zh.is_empty() { i.name_zh.clone() } else { i.name.clone() }).collect();
    vars.insert("order.items", items.join(if zh { "、" } else { ", " }));
    vars.insert("order.address", o.shipping_address.clone());
    if let Some(s) = latest_shipment(r) {
        let carrier = if zh && !s.carrier_zh.is_empty() { &s.carrier_zh } else { &s.carrier };
        vars.insert("shipment.carrier", carrier.clone());
        vars.insert("shipment.tracking", s.tracking_number.clone());
        vars.insert("shipment.status", say_status(s.status.as_str(), lang));
        vars.insert("shipment.shipped_on", say_date(s.shipped_on, today, lang));
        vars.insert("shipment.expected_on", say_date(s.expected_on, today, lang));
        if let Some(d) = s.delivered_on {
            vars.insert("shipment.delivered_on", say_date(d, today, lang));
        }
        let event = if zh { s.last_event_zh.as_ref().or(s.last_event.as_ref()) } else { s.last_event.as_ref() };
        if let Some(e) = event {
            vars.insert("shipment.last_event", e.clone());
        }
    }
    if let Some(x) = latest_return(r) {
        vars.insert("return.id", x.id.clone());
        vars.insert("return.status", say_status(x.status.as_str(), lang));
        vars.insert("return.requested_on", say_date(x.requested_on, today, lang));
    }
    if let Some(x) = latest_refund(r) {
        vars.insert("refund.amount", say_money(x.amount_cents, &o.currency, lang));
        vars.insert("refund.status", say_status(x.status.as_str(), lang));
        vars.insert("refund.requested_on", say_date(x.requested_on, today, lang));
        if let Some(d) = x.completed_on {
            vars.insert("refund.completed_on", say_date(d, today, lang));
        }
        vars.insert("refund.method", x.method.clone());
    }
    if let Some(i) = &o.invoice {
        vars.insert("invoice.number", i.number.clone());
        vars.insert("invoice.url", i.url.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_relative_when_close() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let d = |n: i64| today + chrono::Duration::days(n);
        assert_eq!(say_date(d(1), today, Lang::En), "tomorrow");
        assert_eq!(say_date(d(-2), today, Lang::En), "on 21 November");
        assert_eq!(say_date(d(-2), today, Lang::Zh), "前天");
        assert_eq!(say_date(d(-10), today, Lang::Zh), "11月13日");
    }

    #[test]
    fn money_in_the_callers_words() {
        assert_eq!(say_money(4999, "USD", Lang::En), "$49.99");
        assert_eq!(say_money(12800, "CNY", Lang::Zh), "128.00元");
    }
}
