//! OCI Object Storage of HYOK Lab, with customer-managed keys (tutorial tasks 17 and 18).
//!
//! Buckets may name a KMS key (`kmsKeyId`). Every object gets its own AES-256 data key from
//! KMS `generateDataEncryptionKey` (so, for an external key, through the external key manager);
//! the wrapped key is stored next to the object, and every read unwraps it through KMS again.
//! Blocking the key in the key manager therefore makes reads fail at once, and unblocking it
//! brings the same bytes back. Data is stream-encrypted in segments ([`crypto`]), so objects of
//! any size pass through a bounded amount of memory.
//!
//! Invariants: plaintext object data never touches disk; plaintext data keys are never stored
//! (unless the opt-in [`ObjectStorage::with_dek_cache`] holds them in memory); a read that fails
//! authentication never ends as a successful response.

//!
//! Modules import downwards only: `api` (the REST API) → `service` (the service state) →
//! `kms`, `store`, `crypto`, `error`. This file only re-exports.

pub mod api;
pub mod crypto;
mod error;
pub mod kms;
mod service;
mod store;

pub use api::router;
pub use error::Error;
pub use kms::{DataKey, HttpKmsClient, InProcessKms, KmsClient, KmsFailure};
pub use service::{DEFAULT_MAX_OBJECT_BYTES, HOST, ObjectStorage, OsConfig, OsDeps};
