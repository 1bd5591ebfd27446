//! `callbot serve`: run the server (SIP, WebRTC, HTTP API) until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::models::ModelsDir;
use crate::server::{self, ServerConfig};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Configuration file (docs/configuration.md); without one, the built-in defaults
    #[arg(long, env = "CALLBOT_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP address: API, web pages, WebRTC signalling [default: 127.0.0.1:8080]
    #[arg(long)]
    http: Option<SocketAddr>,
    /// SIP address, UDP and TCP [default: 127.0.0.1:5060]
    #[arg(long)]
    sip: Option<SocketAddr>,
    /// Where call records and the demo order store live [default: ~/.local/share/callbot]
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(args: ServeArgs, models_dir: &ModelsDir) -> anyhow::Result<ExitCode> {
    let mut cfg = ServerConfig::load(args.config.as_deref())?;
    if let Some(http) = args.http {
        cfg.http = http;
    }
    if let Some(sip) = args.sip {
        cfg.sip = sip;
    }
    if let Some(dir) = args.data_dir {
        cfg.data_dir = dir;
    }
    cfg.asr.models_dir.get_or_insert_with(|| models_dir.root.clone());
    cfg.media_ip()?;
    let loaded = server::load(&cfg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("callbot-io").build()?;
    runtime.block_on(server::serve(cfg, loaded))?;
    Ok(ExitCode::SUCCESS)
}
