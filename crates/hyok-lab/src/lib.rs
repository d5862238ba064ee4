//! HYOK Lab as a library: start the whole lab in-process, read `lab.json`, check status.
//!
//! The `hyok-lab` binary is a thin shell over this crate; tests start labs through it too.

pub mod bench;
pub mod check;
pub mod compose;
pub mod info;
pub mod lab;
pub mod scenario;
pub mod services;
pub mod status;
pub mod trace;
pub mod world;

pub use info::LabInfo;
pub use lab::{Lab, LabError, LabOptions};
