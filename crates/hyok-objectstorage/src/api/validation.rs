//! Checks of what a request names (namespace, bucket, object) and the header and time
//! formats the handlers share.

use crate::service::ObjectStorage;
use http::{HeaderValue, StatusCode};
use hyok_oci_rest::{OciError, OciResult, conventions};
use time::OffsetDateTime;

/// Longest object name in bytes.
pub const MAX_OBJECT_NAME: usize = 1024;
/// Longest bucket name.
pub const MAX_BUCKET_NAME: usize = 256;

pub(crate) fn check_namespace(os: &ObjectStorage, ns: &str) -> OciResult<()> {
    if ns == os.namespace() {
        return Ok(());
    }
    Err(OciError::new(
        StatusCode::NOT_FOUND,
        "NamespaceNotFound",
        format!("You do not have authorization to perform this request, or the namespace '{ns}' could not be found"),
    ))
}

fn valid_bucket_name(name: &str) -> bool {
    (1..=MAX_BUCKET_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub(crate) fn check_bucket_name(name: &str) -> OciResult<()> {
    if valid_bucket_name(name) {
        Ok(())
    } else {
        Err(OciError::invalid_parameter(format!(
            "Invalid bucket name {name:?}: 1 to {MAX_BUCKET_NAME} characters from letters, numbers, '-', '_' and '.'"
        )))
    }
}

pub(crate) fn check_object_name(name: &str) -> OciResult<()> {
    if name.is_empty() || name.len() > MAX_OBJECT_NAME || name.contains('\0') {
        return Err(OciError::invalid_parameter(format!(
            "Invalid object name: 1 to {MAX_OBJECT_NAME} bytes of UTF-8 without NUL"
        )));
    }
    Ok(())
}

pub(crate) fn hv(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

pub(crate) fn http_date_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    hyok_oci_rest::signing::http_date(t)
}

pub(crate) fn oci_time_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    conventions::oci_time(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(valid_bucket_name("OCI_EKMS_Test_Bucket"));
        assert!(!valid_bucket_name(""));
        assert!(!valid_bucket_name("a b"));
        assert!(!valid_bucket_name(&"a".repeat(257)));
        assert!(check_object_name("dir/file.txt").is_ok());
        assert!(check_object_name("").is_err());
        assert!(check_object_name(&"a".repeat(1025)).is_err());
    }
}
