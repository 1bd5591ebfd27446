//! The SIP endpoint: UDP and TCP sockets around the sans-IO user agent (`crate::sip`).

use std::net::SocketAddr;
use std::sync::Arc;

use super::ServerConfig;
use super::calls::CallHub;

pub struct SipEndpoint {
    local: SocketAddr,
}

impl SipEndpoint {
    pub async fn start(cfg: &ServerConfig, _hub: Arc<CallHub>) -> anyhow::Result<Self> {
        Ok(Self { local: cfg.sip })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub async fn stop(self) {}
}
