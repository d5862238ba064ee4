//! Integration tests of the CTM mock, all over real sockets and real TLS.

mod auth;
mod ca;
mod cckm;
mod ekm;
mod keys;
mod malformed;
mod support;
mod tokens;
