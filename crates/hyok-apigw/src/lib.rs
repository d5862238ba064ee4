//! OCI API Gateway for HYOK Lab: the deployment model (`ApiSpecification`), route matching,
//! JWT policies, backend health checks and the TLS-terminating data plane.
//!
//! The control plane ([`control`], OCI's `/20190501` REST API) owns gateways and deployments as
//! OCI resources: [`spec::parse_specification`] + [`spec::validate`] at create/update,
//! [`Gateway::check_deployment`] to decide ACTIVE or FAILED, then [`Gateway::set_deployment`].
//! It drives the gateways through a [`DataPlane`]: [`LocalDataPlane`] serves each gateway's
//! [`Gateway::router`] with [`Gateway::tls_config`] at the gateway's private IP through the lab's
//! `ServiceHost`; [`RemoteDataPlane`] asks a data-plane agent ([`agent_router`]) in another
//! process to do the same. Invariant: every outbound connection goes through
//! the [`hyok_core::client::Dial`] the gateway was given, so the network model decides what the
//! gateway can reach.
//!
//! Modules, lowest first (each imports only modules above it): [`routing`], `keys`, [`spec`],
//! [`error`], [`tls`], [`health`], [`auth`], [`dataplane`], [`plane`], [`control`].

pub mod auth;
pub mod control;
pub mod dataplane;
pub mod error;
pub mod health;
mod keys;
pub mod plane;
pub mod routing;
pub mod spec;
pub mod tls;

pub use control::{ApiGatewayService, ControlDeps};
pub use dataplane::{Gateway, GatewayConfig, MAX_PROXY_BODY_BYTES};
pub use error::GatewayError;
pub use health::{HealthFailure, check_backend};
pub use plane::{
    DataPlane, DeploymentRuntimeSpec, GatewayRuntimeSpec, LocalDataPlane, PlaneError, RemoteDataPlane, agent_router,
};
pub use spec::{ApiSpecification, SpecError, parse_specification, validate};
pub use tls::{ECDSA_REFUSED, check_gateway_certificate, gateway_tls_config};
