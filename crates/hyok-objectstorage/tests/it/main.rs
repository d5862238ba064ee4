//! Integration tests of Object Storage over real sockets, real TLS and signed requests.

mod buckets;
mod http_kms;
mod hyok;
mod malformed;
mod objects;
mod support;
