//! `callbot.toml`: everything the server can be told, each with a default that works on one
//! machine out of the box. Precedence: command-line flags, then `CALLBOT_*` environment
//! variables, then the file, then the defaults. `docs/configuration.md` lists every key.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::asr::stream::StreamConfig;
use crate::tts::EspeakConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// HTTP API, web pages and WebRTC signalling.
    pub http: SocketAddr,
    /// SIP over UDP and TCP, both on this address.
    pub sip: SocketAddr,
    /// Address RTP sockets bind to and that SDP and Contact headers advertise. Default: the
    /// SIP address's IP (which must then not be a wildcard).
    pub media_ip: Option<IpAddr>,
    /// Where the call record (`calls.db`) and the demo order store live.
    pub data_dir: PathBuf,
    /// Dialplan directory; default: the bundled demo. Answers every number not in `numbers`.
    pub dialplan: PathBuf,
    /// Called number (or SIP user) → dialplan directory, for hotlines that share the server.
    pub numbers: BTreeMap<String, PathBuf>,
    /// A shop's orders API (docs/orders-api.md); default: the embedded demo store.
    pub orders_url: Option<String>,
    /// Calls above this many are refused (SIP 503).
    pub max_calls: usize,
    /// No RTP from a caller for this long ends the call.
    pub media_timeout_s: u64,
    pub asr: AsrConfig,
    pub tts: EspeakConfig,
    /// A voice emotion model from `callbot train emotion`; default: the built-in one.
    pub emotion_model: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsrConfig {
    /// Where Whisper models live (default `CALLBOT_MODELS_DIR` or ~/.local/share/callbot/models).
    pub models_dir: Option<PathBuf>,
    /// Model for English callers; fetched on first start if missing. The 8-bit copies answer
    /// ~20–25% sooner at the same file-mode accuracy (docs/benchmarks.md).
    pub model_en: String,
    /// Model for Mandarin callers (multilingual).
    pub model_zh: String,
    /// Decoder threads per model; default: one per core.
    pub workers: Option<usize>,
    /// Threads for a final that finds its pool idle; default: one per core (at most 4).
    /// 1 keeps every decode single-threaded, steadier when other work shares the cores.
    pub solo_threads: Option<usize>,
    /// Follow the caller into the other language: a final the current model doubts is decoded
    /// again by `model_zh` in the other language, which also identifies the language
    /// (`asr::identify`). Confident finals cost nothing extra.
    pub identify_language: bool,
    pub stream: StreamConfig,
}

impl Default for AsrConfig {
    fn default() -> Self {
        Self {
            models_dir: None,
            model_en: "tiny.en-q8_0".into(),
            model_zh: "base-q8_0".into(),
            workers: None,
            solo_threads: None,
            identify_language: true,
            stream: StreamConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            sip: SocketAddr::from(([127, 0, 0, 1], 5060)),
            media_ip: None,
            data_dir: default_data_dir(),
            dialplan: PathBuf::from(crate::dialplan::DEMO_DIR),
            numbers: BTreeMap::new(),
            orders_url: None,
            max_calls: 200,
            media_timeout_s: 30,
            asr: AsrConfig::default(),
            tts: EspeakConfig::default(),
            emotion_model: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?}: {why}")]
    Env { name: &'static str, value: String, why: String },
    #[error("media_ip is needed when SIP listens on the wildcard address {0}")]
    WildcardMedia(SocketAddr),
}

impl ServerConfig {
    /// The file (if any), then the environment on top.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?
            }
            None => Self::default(),
        };
        cfg.apply_env(|name| std::env::var(name).ok())?;
        Ok(cfg)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env { name, value: value.clone(), why: e.to_string() })
        }
        let get = |name: &'static str| get(name).filter(|v| !v.is_empty()).map(|v| (name, v));
        if let Some((n, v)) = get("CALLBOT_HTTP") {
            self.http = parse(n, v)?;
        }
        if let Some((n, v)) = get("CALLBOT_SIP") {
            self.sip = parse(n, v)?;
        }
        if let Some((n, v)) = get("CALLBOT_MEDIA_IP") {
            self.media_ip = Some(parse(n, v)?);
        }
        if let Some((_, v)) = get("CALLBOT_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some((_, v)) = get("CALLBOT_DIALPLAN") {
            self.dialplan = v.into();
        }
        if let Some((_, v)) = get("CALLBOT_ORDERS_URL") {
            self.orders_url = Some(v);
        }
        if let Some((n, v)) = get("CALLBOT_MAX_CALLS") {
            self.max_calls = parse(n, v)?;
        }
        Ok(())
    }

    /// The address RTP binds to and SDP advertises.
    pub fn media_ip(&self) -> Result<IpAddr, ConfigError> {
        match self.media_ip {
            Some(ip) => Ok(ip),
            None if self.sip.ip().is_unspecified() => Err(ConfigError::WildcardMedia(self.sip)),
            None => Ok(self.sip.ip()),
        }
    }
}

fn default_data_dir() -> PathBuf {
    crate::models::store::data_home().join("callbot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_and_the_environment_override_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("callbot.toml");
        std::fs::write(&path, "http = \"127.0.0.1:9000\"\nmax_calls = 5\n[asr]\nmodel_en = \"base\"\n").expect("write");
        let mut cfg: ServerConfig = toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("valid");
        assert_eq!(cfg.http.port(), 9000);
        assert_eq!(cfg.asr.model_en, "base");
        assert_eq!(cfg.sip.port(), 5060, "untouched keys keep their defaults");
        cfg.apply_env(|n| (n == "CALLBOT_MAX_CALLS").then(|| "7".to_string())).expect("valid env");
        assert_eq!(cfg.max_calls, 7);
    }

    #[test]
    fn the_documented_example_is_valid_and_says_the_defaults() {
        let doc = include_str!("../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("a toml block") + 8;
        let len = doc[start..].find("```").expect("closed");
        let cfg: ServerConfig = toml::from_str(&doc[start..start + len]).expect("the example parses");
        let d = ServerConfig::default();
        assert_eq!((cfg.http, cfg.sip, cfg.max_calls), (d.http, d.sip, d.max_calls));
        assert_eq!(cfg.asr.stream, d.asr.stream, "the example shows the real defaults");
        assert_eq!(cfg.tts, d.tts);
    }

    #[test]
    fn bad_values_say_where_they_came_from() {
        let err = toml::from_str::<ServerConfig>("htttp = \"x\"").expect_err("unknown key");
        assert!(err.to_string().contains("htttp"), "{err}");
        let mut cfg = ServerConfig::default();
        let err = cfg.apply_env(|n| (n == "CALLBOT_SIP").then(|| "nowhere".to_string())).expect_err("bad address");
        assert!(err.to_string().contains("CALLBOT_SIP"), "{err}");
        cfg.sip = "0.0.0.0:5060".parse().expect("literal");
        assert!(matches!(cfg.media_ip(), Err(ConfigError::WildcardMedia(_))));
    }
}
