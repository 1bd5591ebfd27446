//! The HTTP side: the call API (`docs/openapi.yaml`), live call events over SSE, metrics for
//! Prometheus, and (with WebRTC) the "Call us" page. [`app`] builds the router without a
//! socket, so tests can call it directly.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use futures_util::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::server::calls::CallHub;
use crate::store::CallStore;

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<CallHub>,
    pub store: Arc<CallStore>,
    pub webrtc: Arc<crate::webrtc::WebRtcConfig>,
}

/// The "Call us" page: call button, mute, hang-up, live transcript, English and Chinese.
const CALL_PAGE: &str = include_str!("call.html");

/// API errors: a status and a message for the client; internals stay in the log.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no call with id {0}")]
    NoSuchCall(String),
    #[error("the call record could not be read")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    BadRequest(String),
    #[error("not taking calls: the server is shutting down")]
    ShuttingDown,
    #[error("the call could not be set up")]
    Setup(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::NoSuchCall(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Setup(why) => {
                tracing::error!("WebRTC call setup: {why}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Store(e) => {
                tracing::error!("call store: {e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { axum::response::Html(CALL_PAGE) }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics_page))
        .route("/api/webrtc/offer", axum::routing::post(webrtc_offer))
        .route("/api/calls", get(list_calls))
        .route("/api/calls/{id}", get(get_call))
        .route("/api/calls/{id}/events", get(call_events))
        .route("/api/events", get(all_events))
        .with_state(state)
}

/// Prometheus text format (`src/metrics.rs` lists the series).
async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    let services = state.hub.services();
    let mut pools = vec![("en", services.asr_en.stats(), services.asr_en.workers())];
    // Mandarin may share the English pool (one multilingual model for both): count it once.
    if !Arc::ptr_eq(&services.asr_en, &services.asr_zh) {
        pools.push(("zh", services.asr_zh.stats(), services.asr_zh.workers()));
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::render(&pools))
}

#[derive(serde::Deserialize)]
struct Offer {
    sdp: String,
    #[serde(rename = "type")]
    kind: String,
    /// The language the caller picked on the page; default: the dialplan's.
    #[serde(default)]
    lang: Option<crate::lang::Lang>,
    /// The hotline number the page calls (config `numbers`); default: the default dialplan.
    #[serde(default)]
    to: Option<String>,
}

/// `{"sdp", "type": "offer"}` → `{"sdp", "type": "answer", "call_id"}`. The answer carries
/// every candidate (gathering completes first), so the client needs no trickle ICE.
async fn webrtc_offer(
    State(s): State<AppState>,
    body: Result<Json<Offer>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(offer) =
        body.map_err(|e| ApiError::BadRequest(format!("expected {{\"sdp\": \"...\", \"type\": \"offer\"}}: {e}")))?;
    if offer.kind != "offer" {
        return Err(ApiError::BadRequest(format!("type must be \"offer\", not {:?}", offer.kind)));
    }
    if !s.hub.accepting() {
        return Err(ApiError::ShuttingDown);
    }
    let seed = crate::server::random_seed();
    let (sdp, call_id) = crate::server::webrtc::answer_offer(&s.hub, &s.webrtc, &offer.sdp, offer.lang, offer.to, seed)
        .await
        .map_err(|e| match e {
            crate::webrtc::WebRtcError::InvalidOffer(why) => ApiError::BadRequest(format!("invalid offer: {why}")),
            crate::webrtc::WebRtcError::Negotiation { .. } => ApiError::BadRequest(e.to_string()),
            other => ApiError::Setup(other.to_string()),
        })?;
    Ok(Json(serde_json::json!({ "sdp": sdp, "type": "answer", "call_id": call_id })).into_response())
}

async fn list_calls(State(s): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({ "calls": s.hub.services().calls.list() }))
}

async fn get_call(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    if let Some(detail) = s.hub.services().calls.get(&id) {
        return Ok(Json(detail).into_response());
    }
    // Older calls live only in the store; reading it blocks, so not on the async threads.
    let store = Arc::clone(&s.store);
    let key = id.clone();
    let stored = tokio::task::spawn_blocking(move || store.detail(&key))
        .await
        .map_err(|_| ApiError::NoSuchCall(id.clone()))??;
    stored.map(|d| Json(d).into_response()).ok_or(ApiError::NoSuchCall(id))
}

/// Server-sent events of one call: first a `snapshot` (the call so far), then each event live.
async fn call_events(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let calls = &s.hub.services().calls;
    // Subscribe before the snapshot, so nothing falls between the two.
    let live = calls.subscribe();
    let snapshot = calls.get(&id).ok_or_else(|| ApiError::NoSuchCall(id.clone()))?;
    let first = Event::default().event("snapshot").json_data(&snapshot).unwrap_or_default();
    let wanted = id.clone();
    let events = BroadcastStream::new(live).filter_map(move |r| {
        let keep = match &r {
            Ok(rec) => rec.call_id == wanted,
            Err(_) => true,
        };
        async move { keep.then(|| to_sse(r)) }
    });
    let stream = futures_util::stream::once(async move { Ok(first) }).chain(events);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// Every call's events, live (supervisor dashboards).
async fn all_events(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(s.hub.services().calls.subscribe()).map(to_sse);
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn to_sse(r: Result<Arc<crate::call::CallEventRecord>, BroadcastStreamRecvError>) -> Result<Event, Infallible> {
    Ok(match r {
        Ok(rec) => Event::default().event("call_event").json_data(rec.as_ref()).unwrap_or_default(),
        // A slow reader missed some: tell it, so it can re-read the call.
        Err(BroadcastStreamRecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
    })
}
