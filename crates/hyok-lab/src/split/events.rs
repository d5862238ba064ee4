//! Hop logs of the service containers, in the shared lab dir.

use super::role::Role;
use crate::error::{LabError, io_err};
use hyok_core::EventLog;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// How soon a quiet container's last hop events reach its file.
const EVENTS_FLUSH_EVERY: Duration = Duration::from_millis(100);
fn events_file(lab_dir: &Path, role: Role) -> PathBuf {
    hyok_lab_client::trace::container_events_file(lab_dir, role.name())
}

/// The hop log of a service container: also written to the shared lab dir, so that the
/// region's `/events` and `hyok-lab trace` show the hops made inside other containers.
pub fn container_events(lab_dir: &Path, role: Role, token: &CancellationToken) -> Result<EventLog, LabError> {
    let path = events_file(lab_dir, role);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let log = EventLog::with_file(path.clone()).map_err(io_err(&path))?;
    let (flusher, stop) = (log.clone(), token.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(EVENTS_FLUSH_EVERY) => flusher.flush(),
            }
        }
        flusher.flush();
    });
    Ok(log)
}
