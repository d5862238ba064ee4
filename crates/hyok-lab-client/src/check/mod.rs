//! `hyok-lab check`: grade a lab that a student configured by hand, task by task.
//!
//! Invariant: the grader reads the lab only through the public APIs a student has (OCI,
//! identity domain SCIM, CipherTrust Manager, DNS), never the lab's in-process state, so a
//! verdict here is what the student can see for themselves. It never changes anything (it
//! does not reveal client secrets, which the identity domain shows once).
//!
//! Two phases: [`see`] makes every call (concurrently, `gather`), then [`grade`] turns what was
//! [`Seen`] into one verdict per tutorial task, without I/O; `report` renders the verdicts.

mod cert;
mod gather;
mod grade;
mod json;
mod names;
mod report;
mod seen;

pub use grade::grade;
pub use report::{CheckReport, Setup, Status, TASK_TITLES, TaskCheck};
pub use seen::Seen;

use gather::Api;
use std::{path::Path, time::Instant};

/// Check the lab in `lab_dir`. Errors only when the lab cannot be reached at all; a service
/// that fails to answer makes the tasks that need it "not done" with the reason.
pub async fn check(lab_dir: &Path) -> Result<CheckReport, String> {
    let started = Instant::now();
    let api = Api::open(lab_dir)?;
    let seen = Seen::gather(&api).await;
    let (setup, tasks) = grade(&seen);
    Ok(CheckReport {
        lab_dir: api.info.lab_dir.clone(),
        setup,
        tasks,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Everything `check` reads from the lab in `lab_dir`, without grading it (to record a lab's
/// answers, e.g. as test fixtures for [`grade`]).
pub async fn see(lab_dir: &Path) -> Result<Seen, String> {
    Ok(Seen::gather(&Api::open(lab_dir)?).await)
}
