//! What the services of this crate share: the compartment check (all three), and for the
//! Networking and DNS APIs the lifecycle-state filter, the models' times in OCI's form, and the
//! 405 for resources only the world file creates.

use axum::http::{Method, StatusCode, Uri};
use hyok_oci_rest::{
    OciError,
    conventions::{OciResult, oci_time, required_ocid},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// An RFC 3339 time from a model, in OCI's millisecond form.
pub(crate) fn oci_time_from(s: &str) -> String {
    OffsetDateTime::parse(s, &Rfc3339).map(oci_time).unwrap_or_else(|_| s.to_string())
}

/// A compartment id from a query or body: OCID-shaped and, when the service knows its
/// compartments, one of them.
pub(crate) fn check_compartment<'a>(known: &[String], value: &'a Option<String>) -> OciResult<&'a str> {
    let c = required_ocid(value, "compartmentId", "compartment")?;
    if !known.is_empty() && !known.iter().any(|k| k == c) {
        return Err(OciError::not_found(format!("compartment {c} not found or not authorized")));
    }
    Ok(c)
}

/// A `lifecycleState` filter, upper-cased; a state the API does not have is 400.
pub(crate) fn lifecycle_filter(value: Option<&str>, allowed: &[&str]) -> OciResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) => Ok(Some(v.to_ascii_uppercase())),
        Some(v) => {
            Err(OciError::invalid_parameter(format!("lifecycleState {v:?} must be one of {}", allowed.join(", "))))
        }
    }
}

/// Method fallback of both APIs: 405 like `hyok_oci_rest::extract::not_modelled`, but saying
/// where these resources come from instead (the world file), which is what a student needs.
pub(crate) async fn not_modelled(method: Method, uri: Uri) -> OciError {
    OciError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!(
            "{method} {} is not modelled by the lab: the world file creates VCNs, subnets, security lists and resolvers",
            uri.path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_reformatted_with_millis() {
        assert_eq!(oci_time_from("2026-01-05T09:03:07.123456789Z"), "2026-01-05T09:03:07.123Z");
        assert_eq!(oci_time_from("2026-01-05T09:03:07Z"), "2026-01-05T09:03:07.000Z");
    }
}
