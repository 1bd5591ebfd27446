//! Running calls: each call's driver runs as its own task; the hub keeps a control handle per
//! live call so the API and shutdown can reach it, and knows when the last one has ended.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use crate::call::driver::{CallControl, CallEnd, CallServices, MediaLink, run_call};
use crate::call::registry::CallInfo;

pub struct CallHub {
    services: Arc<CallServices>,
    controls: Mutex<HashMap<String, mpsc::Sender<CallControl>>>,
    idle: Notify,
    accepting: AtomicBool,
}

impl CallHub {
    pub fn new(services: Arc<CallServices>) -> Arc<Self> {
        Arc::new(Self { services, controls: Mutex::default(), idle: Notify::new(), accepting: AtomicBool::new(true) })
    }

    pub fn services(&self) -> &Arc<CallServices> {
        &self.services
    }

    /// False once shutdown has begun: transports refuse new calls.
    pub fn accepting(&self) -> bool {
        self.accepting.load(Ordering::SeqCst)
    }

    pub fn live(&self) -> usize {
        self.lock().len()
    }

    /// Starts the call's driver. `on_end` runs when the call is over (e.g. to send a SIP BYE
    /// when we ended it). Returns the call's control handle.
    pub fn start(
        self: &Arc<Self>,
        info: CallInfo,
        link: MediaLink,
        seed: u64,
        on_end: impl FnOnce(CallEnd) + Send + 'static,
    ) -> mpsc::Sender<CallControl> {
        let (tx, rx) = mpsc::channel(16);
        self.lock().insert(info.id.clone(), tx.clone());
        let hub = Arc::clone(self);
        let services = Arc::clone(&self.services);
        let id = info.id.clone();
        let today = chrono::Local::now().date_naive();
        tokio::spawn(async move {
            let end = run_call(info, services, link, rx, today, seed).await;
            tracing::info!(call = %id, by_us = end.by_us, reason = %end.reason, "call ended");
            on_end(end);
            let mut controls = hub.lock();
            controls.remove(&id);
            if controls.is_empty() {
                hub.idle.notify_waiters();
            }
        });
        tx
    }

    pub fn control(&self, id: &str) -> Option<mpsc::Sender<CallControl>> {
        self.lock().get(id).cloned()
    }

    /// Stops taking calls, hangs up every live one and waits (up to `timeout`) for them to end.
    pub async fn shut_down(&self, timeout: Duration) {
        self.accepting.store(false, Ordering::SeqCst);
        let controls: Vec<_> = self.lock().values().cloned().collect();
        for c in controls {
            let _ = c.send(CallControl::Hangup { reason: "the server is shutting down".into() }).await;
        }
        let wait = async {
            loop {
                let idle = self.idle.notified();
                if self.lock().is_empty() {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(timeout, wait).await.is_err() {
            tracing::warn!(live = self.live(), "calls still running at shutdown");
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<CallControl>>> {
        self.controls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
