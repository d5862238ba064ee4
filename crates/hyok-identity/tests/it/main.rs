//! Integration tests: the identity domain over real TLS on loopback, reached by its real name.

mod admin;
mod discovery;
mod jwks;
mod malformed;
mod rotation;
mod support;
mod token;
