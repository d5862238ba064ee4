//! Integration tests of hyok-kms: a real identity domain and a real CipherTrust Manager over
//! TLS on loopback, the KMS regional API and the vault endpoints it serves, signed OCI requests.

mod crypto;
mod keys;
mod private_endpoints;
mod retry;
mod support;
mod vaults;
