//! The lab as its clients see it: `lab.json`, `status`, scenarios, `check`, `trace` and the
//! port plan. Compiles none of the services, so other projects' tests (the testcontainers
//! crate) and the console build on it alone.
//!
//! Invariant: everything here talks to a lab only through its public APIs and `lab.json`, so
//! it works the same against an in-process lab, a lab in another process or a container.

pub mod check;
pub mod info;
pub mod ports;
pub mod scenario;
pub mod status;
pub mod trace;

pub use info::LabInfo;
