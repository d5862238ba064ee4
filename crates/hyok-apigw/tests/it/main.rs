//! Integration tests of the API gateway over real sockets and real TLS.

mod control;
mod failures;
mod jwt;
mod malformed;
mod remote_plane;
mod routes;
mod spec_validation;
mod support;
mod tls_cert;
