//! Prometheus metrics, served at `/metrics`: what operators alert on. Call counters come from
//! the call event stream (every event passes [`observe`] in `Calls::record`); the decoder
//! pools' counters are read when the page is scraped ([`render`]).
//!
//! The one to alert on first: `callbot_asr_calls_behind` > 0 means some call's transcription
//! is behind real time (the decoder pool is saturated), so its caller is waiting for answers.

use std::sync::OnceLock;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::asr::pool::PoolStats;
use crate::call::event::{CallEvent, Speaker};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle). The server
/// calls it at start, before any call, so no event goes uncounted.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!("callbot_calls_total", "Calls answered, by channel (sip, webrtc)");
    describe_gauge!("callbot_calls_active", "Calls in progress");
    describe_counter!("callbot_transfers_total", "Calls handed to a human queue, by queue");
    describe_counter!("callbot_call_errors_total", "Failures inside calls (the call carries on where it can)");
    describe_counter!(
        "callbot_asr_falling_behind_total",
        "Times a call's transcription fell behind real time (untranscribed speech over the lag limit)"
    );
    describe_gauge!("callbot_asr_calls_behind", "Calls whose transcription is behind real time now");
    describe_counter!("callbot_caller_utterances_total", "Caller utterances transcribed (finals)");
    describe_counter!(
        "callbot_asr_decodes_total",
        "Decodes done, by pool language and priority: final (an utterance that ended) or background \
         (partials, early decodes at a pause, which often become the final, and transcript revisions)"
    );
    describe_counter!(
        "callbot_asr_refused_total",
        "Decodes refused for want of a worker (kind=background) or queue room (kind=final)"
    );
    describe_counter!("callbot_asr_cancelled_total", "Early decodes stopped because the caller kept talking");
    describe_counter!("callbot_asr_failures_total", "Decodes that failed");
    describe_counter!("callbot_asr_decode_seconds_total", "Worker time spent decoding");
    describe_gauge!("callbot_asr_queued_finals", "Utterances waiting for a worker");
    describe_gauge!("callbot_asr_busy_workers", "Workers decoding now");
    describe_gauge!("callbot_asr_workers", "Workers in the pool");
}

/// Counts one call event. `was_behind` says whether the call's transcription was behind
/// before this event; the return value says whether it is after.
pub fn observe(event: &CallEvent, was_behind: bool) -> bool {
    let mut behind = was_behind;
    match event {
        CallEvent::Started { channel, .. } => {
            counter!("callbot_calls_total", "channel" => channel.as_str()).increment(1);
            gauge!("callbot_calls_active").increment(1.0);
        }
        CallEvent::Ended { .. } => {
            gauge!("callbot_calls_active").decrement(1.0);
            behind = false;
        }
        CallEvent::TransferRequested { queue, .. } => {
            counter!("callbot_transfers_total", "queue" => queue.clone()).increment(1);
        }
        CallEvent::Error { .. } => counter!("callbot_call_errors_total").increment(1),
        CallEvent::Transcript(line) if line.speaker == Speaker::Caller && line.is_final => {
            counter!("callbot_caller_utterances_total").increment(1);
        }
        CallEvent::AsrFallingBehind { .. } => {
            counter!("callbot_asr_falling_behind_total").increment(1);
            behind = true;
        }
        CallEvent::AsrCaughtUp => behind = false,
        _ => {}
    }
    match (was_behind, behind) {
        (false, true) => gauge!("callbot_asr_calls_behind").increment(1.0),
        (true, false) => gauge!("callbot_asr_calls_behind").decrement(1.0),
        _ => {}
    }
    behind
}

/// The metrics page, with each decoder pool's counters as they are now.
pub fn render(pools: &[(&'static str, PoolStats, usize)]) -> String {
    let handle = install();
    for &(lang, s, workers) in pools {
        counter!("callbot_asr_decodes_total", "lang" => lang, "priority" => "final").absolute(s.finals_done);
        counter!("callbot_asr_decodes_total", "lang" => lang, "priority" => "background").absolute(s.partials_done);
        counter!("callbot_asr_refused_total", "lang" => lang, "kind" => "final").absolute(s.finals_refused);
        counter!("callbot_asr_refused_total", "lang" => lang, "kind" => "background").absolute(s.partials_refused);
        counter!("callbot_asr_cancelled_total", "lang" => lang).absolute(s.cancelled);
        counter!("callbot_asr_failures_total", "lang" => lang).absolute(s.failures);
        counter!("callbot_asr_decode_seconds_total", "lang" => lang).absolute(s.decode_ms_total / 1000);
        gauge!("callbot_asr_queued_finals", "lang" => lang).set(s.queued_finals as f64);
        gauge!("callbot_asr_busy_workers", "lang" => lang).set(s.busy_workers as f64);
        gauge!("callbot_asr_workers", "lang" => lang).set(workers as f64);
    }
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(events: &[CallEvent]) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let mut behind = false;
            for e in events {
                behind = observe(e, behind);
            }
        });
        handle.render()
    }

    fn value(page: &str, series: &str) -> f64 {
        page.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{series} not in\n{page}"))
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn a_call_behind_is_counted_until_it_catches_up_or_ends() {
        let behind = CallEvent::AsrFallingBehind { pending_ms: 4000 };
        let page = rendered(std::slice::from_ref(&behind));
        assert_eq!(value(&page, "callbot_asr_falling_behind_total"), 1.0);
        assert_eq!(value(&page, "callbot_asr_calls_behind"), 1.0);
        let page = rendered(&[behind.clone(), CallEvent::AsrCaughtUp, behind.clone()]);
        assert_eq!(value(&page, "callbot_asr_falling_behind_total"), 2.0);
        assert_eq!(value(&page, "callbot_asr_calls_behind"), 1.0);
        let page = rendered(&[behind, CallEvent::Ended { reason: "caller hung up".into() }]);
        assert_eq!(value(&page, "callbot_asr_calls_behind"), 0.0);
    }
}
