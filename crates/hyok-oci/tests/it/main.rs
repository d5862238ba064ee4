//! Integration tests of hyok-oci: every test talks to a real TLS socket with real host names.

mod certificates;
mod cli;
mod conventions;
mod dns_api;
mod malformed;
mod network;
mod pki;
mod signing;
mod support;
mod tenancy;
