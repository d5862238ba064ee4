//! Hop events: one record per hop of every request (source, destination, outcome, reason).
//!
//! The grader, `hyok-lab trace` and a future web console read them. They are kept in a bounded
//! in-memory ring and, when the lab has a lab dir, appended to `events.jsonl` there.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::{collections::VecDeque, io::Write, path::PathBuf, sync::Arc};

/// How a hop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The hop completed and the peer answered with a success status.
    Ok,
    /// The peer answered with an error status.
    Error,
    /// The network model refused the connection (routing or security list).
    Denied,
    /// Name resolution failed.
    DnsFailed,
    /// TLS verification failed.
    TlsFailed,
    /// Nothing answered, or the connection broke, or it timed out.
    Unreachable,
}

/// One hop of one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HopEvent {
    /// Milliseconds since the Unix epoch when the hop started.
    pub ts_ms: i64,
    /// The `opc-request-id` the hop carried.
    pub request_id: String,
    /// What the hop is, in the tutorial's words (e.g. `private endpoint → API gateway`).
    pub hop: String,
    /// Source name and virtual address (`kms@172.16.1.104`).
    pub source: String,
    /// Destination name or URL and virtual address.
    pub destination: String,
    /// How it ended.
    pub outcome: Outcome,
    /// HTTP status, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it ended this way, in plain words.
    pub reason: String,
    /// What decided it: a security-list rule, a DNS view, a certificate, a route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Duration of the hop in microseconds.
    pub duration_us: u64,
}

const RING: usize = 20_000;

/// A shared, bounded log of hop events.
#[derive(Clone, Default)]
pub struct EventLog {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    ring: VecDeque<HopEvent>,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// Events written to the buffer but not yet flushed to the file.
    unflushed: usize,
    last_flush: Option<std::time::Instant>,
}

/// The file is flushed after this many events or this much time, whichever comes first, so a
/// busy lab does not pay a write per hop; `flush` and `Drop` write the rest.
const FLUSH_EVERY: usize = 256;
const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog").finish_non_exhaustive()
    }
}

impl EventLog {
    /// An in-memory log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log that also appends JSON lines to `path`.
    pub fn with_file(path: PathBuf) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let log = Self::default();
        log.lock().file = Some(std::io::BufWriter::new(file));
        Ok(log)
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the ring inconsistent; keep going.
        self.inner.lock()
    }

    /// Record one hop.
    pub fn record(&self, event: HopEvent) {
        tracing::debug!(
            request_id = %event.request_id, hop = %event.hop, outcome = ?event.outcome,
            status = ?event.status, reason = %event.reason, "hop"
        );
        let mut inner = self.lock();
        if inner.file.is_some()
            && let Ok(line) = serde_json::to_string(&event)
        {
            let due = inner.unflushed + 1 >= FLUSH_EVERY || inner.last_flush.is_none_or(|t| t.elapsed() >= FLUSH_AFTER);
            if let Some(file) = inner.file.as_mut() {
                let _ = writeln!(file, "{line}");
                if due {
                    let _ = file.flush();
                }
            }
            if due {
                inner.unflushed = 0;
                inner.last_flush = Some(std::time::Instant::now());
            } else {
                inner.unflushed += 1;
            }
        }
        if inner.ring.len() == RING {
            inner.ring.pop_front();
        }
        inner.ring.push_back(event);
    }

    /// Write buffered events to the file now.
    pub fn flush(&self) {
        let mut inner = self.lock();
        if let Some(file) = inner.file.as_mut() {
            let _ = file.flush();
        }
        inner.unflushed = 0;
        inner.last_flush = Some(std::time::Instant::now());
    }

    /// Every hop of one request, oldest first.
    pub fn by_request(&self, request_id: &str) -> Vec<HopEvent> {
        self.lock().ring.iter().filter(|e| e.request_id == request_id).cloned().collect()
    }

    /// The most recent `n` hops, oldest first.
    pub fn last(&self, n: usize) -> Vec<HopEvent> {
        let inner = self.lock();
        inner.ring.iter().skip(inner.ring.len().saturating_sub(n)).cloned().collect()
    }

    /// Number of hops held in memory.
    pub fn len(&self) -> usize {
        self.lock().ring.len()
    }

    /// True when no hop was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A hop under way. Dropped before [`InFlight::finish`] (its caller gave up and the future was
/// cancelled), it is recorded as abandoned, so `trace` still shows where a request was stuck.
#[must_use = "a hop dropped unfinished is recorded as abandoned"]
pub struct InFlight {
    log: EventLog,
    event: Option<HopEvent>,
    started: std::time::Instant,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight").field("hop", &self.event.as_ref().map(|e| &e.hop)).finish_non_exhaustive()
    }
}

impl InFlight {
    /// A hop from `source` to `destination` starting now.
    pub fn start(log: &EventLog, request_id: String, hop: String, source: String, destination: String) -> Self {
        let event = HopEvent {
            ts_ms: now_ms(),
            request_id,
            hop,
            source,
            destination,
            outcome: Outcome::Unreachable,
            status: None,
            reason: String::new(),
            decided_by: None,
            duration_us: 0,
        };
        Self { log: log.clone(), event: Some(event), started: std::time::Instant::now() }
    }

    /// Record how the hop ended.
    pub fn finish(mut self, outcome: Outcome, status: Option<u16>, reason: String, decided_by: Option<String>) {
        if let Some(mut e) = self.event.take() {
            e.outcome = outcome;
            e.status = status;
            e.reason = reason;
            e.decided_by = decided_by;
            e.duration_us = self.started.elapsed().as_micros() as u64;
            self.log.record(e);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(mut e) = self.event.take() {
            let waited = self.started.elapsed();
            e.reason = format!(
                "abandoned after {:.1} s: the caller stopped waiting before an answer came (its own timeout, or its caller gave up)",
                waited.as_secs_f64()
            );
            e.duration_us = waited.as_micros() as u64;
            self.log.record(e);
        }
    }
}

/// Read hop events back from an `events.jsonl` file (skips lines that do not parse).
pub fn read_jsonl(path: &std::path::Path) -> std::io::Result<Vec<HopEvent>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// Read the hop events in the last `max_bytes` of an `events.jsonl` file (the first, possibly
/// cut, line is skipped), so a long-running lab's log is never read whole.
pub fn read_jsonl_tail(path: &std::path::Path, max_bytes: u64) -> std::io::Result<Vec<HopEvent>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max_bytes);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::with_capacity((len - start) as usize);
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next();
    }
    Ok(lines.filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str) -> HopEvent {
        HopEvent {
            ts_ms: now_ms(),
            request_id: id.into(),
            hop: "a → b".into(),
            source: "a".into(),
            destination: "b".into(),
            outcome: Outcome::Ok,
            status: Some(200),
            reason: "ok".into(),
            decided_by: None,
            duration_us: 5,
        }
    }

    #[test]
    fn a_hop_dropped_unfinished_is_recorded_as_abandoned() {
        let log = EventLog::new();
        let hop = || InFlight::start(&log, "r1".into(), "a → b".into(), "a".into(), "b".into());
        hop().finish(Outcome::Ok, Some(200), "200 OK".into(), None);
        drop(hop());
        let got = log.by_request("r1");
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].outcome, got[0].status, got[0].reason.as_str()), (Outcome::Ok, Some(200), "200 OK"));
        assert_eq!(got[1].outcome, Outcome::Unreachable);
        assert!(got[1].reason.starts_with("abandoned after 0.0 s: the caller stopped waiting"), "{}", got[1].reason);
    }

    #[test]
    fn the_tail_of_a_log_skips_the_cut_line() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("events-tail.jsonl");
        let lines: Vec<String> = (0..10).map(|i| serde_json::to_string(&ev(&format!("r{i}"))).expect("json")).collect();
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        let all = read_jsonl_tail(&path, u64::MAX).expect("read");
        assert_eq!(all.len(), 10);
        // Room for three whole lines and part of a fourth: the part is not read.
        let room = (lines[0].len() as u64 + 1) * 3 + 5;
        let tail = read_jsonl_tail(&path, room).expect("read");
        let ids: Vec<&str> = tail.iter().map(|e| e.request_id.as_str()).collect();
        assert_eq!(ids, ["r7", "r8", "r9"]);
    }

    #[test]
    fn events_are_found_by_request_and_written_to_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("events.jsonl");
        let log = EventLog::with_file(path.clone()).expect("log");
        log.record(ev("r1"));
        log.record(ev("r2"));
        log.record(ev("r1"));
        log.flush();
        assert_eq!(log.by_request("r1").len(), 2);
        assert_eq!(log.last(1)[0].request_id, "r1");
        let back = read_jsonl(&path).expect("read");
        assert_eq!(back.len(), 3);
        assert_eq!(back[1], log.by_request("r2")[0]);
    }
}
