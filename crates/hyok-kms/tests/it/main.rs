//! Integration tests of hyok-kms: a real identity domain and a real CipherTrust Manager over
//! TLS on loopback, the KMS regional API and the vault endpoints it serves, signed OCI requests.

mod cli;
mod crypto;
mod keys;
mod malformed;
mod private_endpoints;
mod retry;
mod shapes;
mod support;
mod vaults;
