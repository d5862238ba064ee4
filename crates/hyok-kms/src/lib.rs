//! OCI KMS for external keys (HYOK): EKMS private endpoints and external vaults on the regional
//! host `kms.<region>.oraclecloud.com`, key references on each vault's management endpoint and
//! the crypto API on each vault's crypto endpoint (tutorial tasks 12, 14 and 16).
//!
//! The lab builds one [`KmsService`] with [`KmsService::new`] and serves [`router`] for the
//! regional host. The service serves every vault's two endpoints itself through the
//! [`hyok_core::host::ServiceHost`] once the vault is ACTIVE. Every call to the key manager goes
//! `KMS → identity domain (token)` from the KMS address and `private endpoint → key manager` from
//! the private endpoint's address, so the network model decides what is reachable.
//!
//! Invariants: the client secret of a vault is never returned or logged; a vault's handlers find
//! the vault from the router that received the request (one router per endpoint), never from
//! the `Host` header; the crypto path takes no write lock.
//!
//! Modules import downwards only: `regional` (starts vaults) → `management`, `crypto` (a
//! vault's endpoints) → `vault`, `routing` → `service` (tables, serving) → `model`; `summary` (list rows) → `model`;
//! `envelope` → `vendor` (the key manager client). This file only re-exports.

mod crypto;
pub mod envelope;
mod management;
pub mod model;
mod regional;
mod routing;
mod service;
mod summary;
mod vault;
pub mod vendor;

pub use model::{Key, KeyState, KeyVersion, Vault};
pub use regional::router;
pub use service::{BASE_PATH, ENDPOINT_NET, KmsConfig, KmsDeps, KmsError, KmsService, PE_SETTLE, regional_host};
pub use vendor::{HOP_TOKEN, HOP_VENDOR, VendorError};
