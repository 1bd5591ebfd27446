//! The call record: every call event, and each call's final view, in SQLite.
//!
//! One writer thread owns the connection and takes [`StoreMsg`]s from the event stream; it
//! commits in small batches (a transaction per burst), so a busy server does not fsync per
//! event. [`Writer::close`] queues a shutdown behind everything sent so far and waits until all
//! of it is committed, so no record is lost on a graceful stop. Readers open their own connection.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::call::CallEvent;
use crate::call::registry::StoreMsg;

const SCHEMA_VERSION: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("call store {}: {source}", path.display())]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("call store {} has schema version {found}; this callbot knows {SCHEMA_VERSION}", path.display())]
    Version { path: PathBuf, found: i64 },
    #[error("cannot create {}: {source}", path.display())]
    Dir { path: PathBuf, source: std::io::Error },
}

pub struct CallStore {
    path: PathBuf,
}

/// The running writer; [`Writer::close`] waits until everything sent is committed.
pub struct Writer {
    tx: Option<Sender<StoreMsg>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn sender(&self) -> Sender<StoreMsg> {
        self.tx.clone().expect("present until close")
    }

    /// Commits everything sent before this call and stops the thread.
    pub fn close(mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(StoreMsg::Shutdown);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl CallStore {
    /// Opens (creating if needed) the store at `path`, checking its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: dir.into(), source })?;
        }
        let store = Self { path: path.to_path_buf() };
        let conn = store.connect()?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| store.err(e))?;
        match found {
            0 => conn
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS calls (
                        id TEXT PRIMARY KEY, channel TEXT NOT NULL, caller TEXT NOT NULL, callee TEXT NOT NULL,
                        started_at TEXT NOT NULL, ended_at_ms INTEGER, end_reason TEXT, detail TEXT);
                     CREATE TABLE IF NOT EXISTS call_events (
                        call_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL,
                        type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (call_id, seq));
                     PRAGMA user_version = 1;",
                )
                .map_err(|e| store.err(e))?,
            SCHEMA_VERSION => {}
            found => return Err(StoreError::Version { path: store.path.clone(), found }),
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts the writer thread.
    pub fn writer(&self) -> Result<Writer, StoreError> {
        let conn = self.connect()?;
        let (tx, rx) = std::sync::mpsc::channel();
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("call-store".into())
            .spawn(move || write_loop(conn, rx, &path))
            .map_err(|source| StoreError::Dir { path: self.path.clone(), source })?;
        Ok(Writer { tx: Some(tx), thread: Some(thread) })
    }

    /// The final view of an ended call, as JSON.
    pub fn detail(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let conn = self.connect()?;
        let text: Option<Option<String>> = conn
            .query_row("SELECT detail FROM calls WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(text.flatten().and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// How many events are stored for a call.
    pub fn event_count(&self, id: &str) -> Result<u64, StoreError> {
        let conn = self.connect()?;
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM call_events WHERE call_id = ?1", [id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.path).map_err(|e| self.err(e))?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(|e| self.err(e))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| self.err(e))?;
        Ok(conn)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }
}

fn write_loop(mut conn: Connection, rx: Receiver<StoreMsg>, path: &Path) {
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(3600)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        batch.extend(rx.try_iter().take(1000));
        let stop = batch.iter().position(|m| matches!(m, StoreMsg::Shutdown));
        if let Some(at) = stop {
            batch.truncate(at);
        }
        if let Err(e) = write_batch(&mut conn, &batch) {
            // The call goes on; the record of this batch is what is lost, and we say so loudly.
            tracing::error!(store = %path.display(), "could not write {} call events: {e}", batch.len());
        }
        if stop.is_some() {
            return;
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[StoreMsg]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for msg in batch {
        match msg {
            StoreMsg::Event(record) => {
                if let CallEvent::Started { channel, caller, callee, started_at, .. } = &record.event {
                    tx.execute(
                        "INSERT OR IGNORE INTO calls (id, channel, caller, callee, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![record.call_id, json_name(channel), caller, callee, started_at.to_rfc3339()],
                    )?;
                }
                let body = serde_json::to_value(record.as_ref()).unwrap_or_default();
                let kind = body.get("type").and_then(|t| t.as_str()).unwrap_or("").to_string();
                tx.execute(
                    "INSERT OR REPLACE INTO call_events (call_id, seq, at_ms, type, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![record.call_id, record.seq as i64, record.at_ms as i64, kind, body.to_string()],
                )?;
            }
            StoreMsg::Shutdown => {}
            StoreMsg::Ended(detail) => {
                let json = serde_json::to_string(detail.as_ref()).unwrap_or_default();
                tx.execute(
                    "UPDATE calls SET ended_at_ms = ?2, end_reason = ?3, detail = ?4 WHERE id = ?1",
                    params![detail.summary.id, detail.summary.duration_ms as i64, detail.summary.end_reason, json],
                )?;
            }
        }
    }
    tx.commit()
}

fn json_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Channel;
    use crate::call::registry::{CallInfo, Calls};
    use crate::lang::Lang;

    #[test]
    fn every_event_and_the_final_view_survive_a_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CallStore::open(&dir.path().join("calls.db")).expect("open");
        let writer = store.writer().expect("writer");
        let calls = Calls::new(Some(writer.sender()));
        let info =
            CallInfo { id: "c1".into(), channel: Channel::Sip, caller: "a".into(), callee: "b".into(), lang: Lang::En };
        calls.begin(&info, chrono::Utc::now());
        for i in 0..500 {
            calls.record("c1", i, CallEvent::Dtmf { digit: '1' });
        }
        calls.record("c1", 600, CallEvent::Ended { reason: "BYE".into() });
        writer.close();
        assert_eq!(store.event_count("c1").expect("count"), 502);
        let detail = store.detail("c1").expect("read").expect("stored");
        assert_eq!(detail["state"], "ended");
        assert_eq!(detail["dtmf"].as_str().map(str::len), Some(500));
    }

    #[test]
    fn a_store_from_a_newer_callbot_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("calls.db");
        Connection::open(&path).expect("open").execute_batch("PRAGMA user_version = 9").expect("set");
        let err = CallStore::open(&path).err().expect("refused");
        assert!(err.to_string().contains("schema version 9"), "{err}");
    }
}
