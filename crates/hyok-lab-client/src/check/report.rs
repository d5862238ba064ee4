//! The grader's verdicts, and the report for people (`render`) and machines (`--json`).

use serde::Serialize;
use std::path::PathBuf;

/// Tutorial task titles, Task 1 first.
pub const TASK_TITLES: [&str; 18] = [
    "Review the architecture",
    "Configure OCI DNS for all locations",
    "Create a certificate for the OCI API Gateway",
    "Upload the signed OCI API Gateway certificate with the CA bundle",
    "Allow the private endpoint to reach the OCI API Gateway (security list)",
    "Create an OCI API Gateway",
    "Create an API deployment with FQDN details",
    "Create a confidential resource app and client app",
    "Collect the identity domain URL",
    "Create the identity provider in CipherTrust Manager",
    "Add the OCI tenancy in CipherTrust Manager",
    "Create a private endpoint for the External Key Manager Service",
    "Add the external vault in CipherTrust Manager",
    "Create the OCI External Key Management Service vault",
    "Add the external key in CipherTrust Manager",
    "Create the key reference in OCI",
    "Create an Object Storage bucket with the customer-managed key",
    "Block and unblock the key; test the bucket",
];

/// A task's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Configured as the tutorial asks.
    Done,
    /// Not (yet) configured.
    NotDone,
    /// Configured, but a field holds something that breaks the setup.
    Wrong,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::NotDone => "not done",
            Status::Wrong => "WRONG",
        }
    }
}

/// Which variant of the setup the student built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Setup {
    /// Private endpoint → API gateway → CTM (the tutorial).
    ApiGateway,
    /// Private endpoint straight at CTM's IP; Tasks 3, 4, 6 and 7 have nothing to do.
    Direct,
}

/// One task's verdict with what was seen.
#[derive(Debug, Clone, Serialize)]
pub struct TaskCheck {
    /// Tutorial task number (1–18).
    pub number: u32,
    /// Title.
    pub title: String,
    /// Verdict.
    pub status: Status,
    /// For `done`: what was verified. For `not_done`: what is missing. For `wrong`: one hint per
    /// wrong field (the field, what it holds, what is expected).
    pub details: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The lab checked.
    pub lab_dir: PathBuf,
    /// The setup variant, decided from the private endpoint's `externalKeyManagerIp`.
    pub setup: Setup,
    /// Tasks 1–18 in order.
    pub tasks: Vec<TaskCheck>,
    /// Time the check took, in milliseconds.
    pub millis: f64,
}

impl CheckReport {
    /// True when every task is done.
    pub fn all_done(&self) -> bool {
        self.tasks.iter().all(|t| t.status == Status::Done)
    }

    /// The verdict of task `number`.
    pub fn task(&self, number: u32) -> Option<&TaskCheck> {
        self.tasks.iter().find(|t| t.number == number)
    }

    /// Text for people.
    pub fn render(&self) -> String {
        let setup = match self.setup {
            Setup::ApiGateway => "private endpoint → API gateway → CTM",
            Setup::Direct => "private endpoint → CTM directly, no API gateway",
        };
        let mut out = format!("HYOK Lab check of {} ({setup})\n\n", self.lab_dir.display());
        for t in &self.tasks {
            out.push_str(&format!("Task {:>2}  {:<8}  {}\n", t.number, t.status.label(), t.title));
            for d in &t.details {
                if t.status == Status::Wrong {
                    out.push_str(&format!("          Task {}: {d}\n", t.number));
                } else {
                    out.push_str(&format!("          {d}\n"));
                }
            }
        }
        let count = |s: Status| self.tasks.iter().filter(|t| t.status == s).count();
        out.push_str(&format!(
            "\n{} of {} tasks done, {} not done, {} wrong ({:.0} ms).\n",
            count(Status::Done),
            self.tasks.len(),
            count(Status::NotDone),
            count(Status::Wrong),
            self.millis
        ));
        out
    }
}
