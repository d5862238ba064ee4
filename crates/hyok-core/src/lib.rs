//! Shared core of HYOK Lab.
//!
//! Everything here is used by more than one service: OCIDs, the clock, a DNS stub query,
//! request ids, the lab PKI, rustls configs, hop events and the TLS server loop.
//! Invariant: this crate knows nothing about any one service or about the network model.

pub mod client;
pub mod clock;
pub mod dns;
pub mod events;
pub mod host;
pub mod ids;
pub mod pki;
pub mod request_id;
pub mod rsa_key;
pub mod server;
pub mod tls;
pub mod url;

pub use clock::Clock;
pub use events::{EventLog, HopEvent, InFlight, Outcome};
pub use request_id::RequestId;

/// Largest request body any lab API accepts, unless a service says otherwise.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest header block a lab server reads before refusing the request.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Seconds since the Unix epoch, for token claims and timestamps.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 time in UTC with milliseconds, as OCI prints `timeCreated`.
pub fn rfc3339_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Compare two secrets in time that depends only on their lengths (bearer tokens).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
