//! HYOK Lab's composition: builds the world and starts every service, in one process
//! ([`Lab::start`]) or one container per service ([`compose`]). The `hyok-lab` binary is a thin
//! shell over this crate and `hyok-lab-client`; tests start labs through it too.

pub mod bench;
pub mod compose;
pub mod lab;
pub mod services;
pub mod world;

pub use hyok_lab_client::{LabInfo, check, info, scenario, status, trace};
pub use lab::{Lab, LabError, LabOptions};
