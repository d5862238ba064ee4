//! The gateway's data plane: deployments by path prefix, route matching, JWT policies and the
//! streaming proxy to HTTP backends.
//!
//! Errors the gateway itself produces are JSON `{"code": <status>, "message": <reason phrase>}`
//! with the numeric status as `code` (see the fidelity doc). Detailed reasons never go to the
//! caller; they go to the access log and the hop log.

mod access;
mod gateway;
mod handle;
mod proxy;

pub use gateway::{Gateway, GatewayConfig, MAX_PROXY_BODY_BYTES};
