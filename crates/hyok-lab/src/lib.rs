//! HYOK Lab's composition: builds the world and starts every service, in one process
//! ([`Lab::start`], the composition root in `lab`) or one container per service ([`compose`]).
//! The `hyok-lab` binary is a thin shell over this crate and `hyok-lab-client`; tests start labs
//! through it too.
//!
//! Modules point one way: `lab` and `compose` build on `services` (one module per service),
//! `dns`, `admin`, `host`, `proxy`, `split` (what the compose containers share), `pki`, `world` and
//! `error`; none of those imports `lab` or `compose`.

mod admin;
pub mod bench;
pub mod compose;
mod dns;
mod error;
mod host;
pub mod lab;
mod pki;
pub mod proxy;
mod services;
mod split;
pub mod world;

pub use host::LabHost;
pub use lab::{Lab, LabError, LabOptions};
