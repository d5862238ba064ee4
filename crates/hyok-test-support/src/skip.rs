//! No silent skips. A test whose host tool is missing says so through here: under `CI=true` it
//! fails (CI installs every tool), elsewhere it passes and the skip is written to
//! `target/hyok-skipped.txt`, which `scripts/test` prints as the run's last lines (cargo shows
//! nothing a passing test prints).

use std::{io::Write as _, path::PathBuf};

/// Where skips are recorded for `scripts/test`.
pub fn skip_file() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("hyok-skipped.txt")
}

fn record(what: &str) {
    eprintln!("SKIPPED: {what}");
    let line = format!("SKIPPED: {what}\n");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(skip_file()) {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Whether this run is CI's (`CI=true`), where nothing may be skipped for a missing tool.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A tool the test needs is missing: fail under CI, otherwise record the skip.
///
/// # Panics
/// Under `CI=true`, always.
pub fn missing_tool(what: &str) {
    assert!(!in_ci(), "{what}, and under CI=true a missing tool fails the run (CI installs it)");
    record(what);
}

/// A suite that runs only when asked (e.g. `HYOK_DOCKER_TESTS=1`): record that it did not.
pub fn not_selected(what: &str) {
    record(what);
}
