//! Verdicts as the task checks write them, and the lifecycle rule they share.

use crate::check::{
    json::{state, text},
    report::{Status, TASK_TITLES, TaskCheck},
    seen::Seen,
};
use serde_json::Value;

/// The verdicts so far, Task 1 first.
pub(super) struct Verdicts(Vec<TaskCheck>);

impl Verdicts {
    pub(super) fn new() -> Self {
        Self(Vec::with_capacity(TASK_TITLES.len()))
    }
    pub(super) fn into_tasks(self) -> Vec<TaskCheck> {
        self.0
    }
    pub(super) fn push(&mut self, number: u32, status: Status, details: Vec<String>) {
        let title = TASK_TITLES.get(number as usize - 1).copied().unwrap_or_default().to_string();
        self.0.push(TaskCheck { number, title, status, details });
    }
    pub(super) fn done(&mut self, number: u32, detail: impl Into<String>) {
        self.push(number, Status::Done, vec![detail.into()]);
    }
    pub(super) fn not_done(&mut self, number: u32, detail: impl Into<String>) {
        self.push(number, Status::NotDone, vec![detail.into()]);
    }
    /// Wrong when there are hints, otherwise done with `ok`.
    pub(super) fn judge(&mut self, number: u32, hints: Vec<String>, ok: impl Into<String>) {
        if hints.is_empty() { self.done(number, ok) } else { self.push(number, Status::Wrong, hints) }
    }
}

/// The lifecycle shared by OCI resources: FAILED adds a hint with OCI's `lifecycleDetails`;
/// any other state than `want` (still being created) is an `Err` with the not-done text.
pub(super) fn settled(what: &str, v: &Value, want: &str, hints: &mut Vec<String>) -> Result<(), String> {
    match state(v) {
        s if s == want => Ok(()),
        "FAILED" => {
            let details = text(v, "/lifecycleDetails");
            let details = if details.is_empty() { "none given" } else { details };
            hints.push(format!("{what} is FAILED (lifecycleDetails: {details})"));
            Ok(())
        }
        other => Err(format!("{what} is {other}, not yet {want}; run the check again in a moment")),
    }
}

/// Tasks the direct setup skips.
pub(super) fn not_needed(v: &mut Verdicts, n: u32, s: &Seen) {
    v.done(n, format!("not needed: the private endpoint talks to CTM ({}) directly, without an API gateway", s.ctm_ip));
}
