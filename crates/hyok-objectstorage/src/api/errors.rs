//! The OCI error answers of Object Storage: missing buckets and objects, store failures, KMS
//! failures and damaged data.

use crate::{kms::KmsFailure, store::StoreError};
use http::StatusCode;
use hyok_oci_rest::OciError;

fn bucket_not_found(ns: &str, bucket: &str) -> OciError {
    OciError::new(
        StatusCode::NOT_FOUND,
        "BucketNotFound",
        format!(
            "Either the bucket named '{bucket}' does not exist in the namespace '{ns}' or you are not authorized to access it"
        ),
    )
}

fn object_not_found(bucket: &str, object: &str) -> OciError {
    OciError::new(
        StatusCode::NOT_FOUND,
        "ObjectNotFound",
        format!("The object '{object}' was not found in the bucket '{bucket}'"),
    )
}

pub(crate) fn store_error(e: StoreError, ns: &str, bucket: &str, object: &str) -> OciError {
    match e {
        StoreError::BucketNotFound => bucket_not_found(ns, bucket),
        StoreError::ObjectNotFound => object_not_found(bucket, object),
        StoreError::BucketExists => OciError::new(
            StatusCode::CONFLICT,
            "BucketAlreadyExists",
            format!(
                "Either the bucket '{bucket}' in namespace '{ns}' already exists or you are not authorized to create it"
            ),
        ),
        StoreError::BucketNotEmpty => OciError::new(
            StatusCode::CONFLICT,
            "BucketNotEmpty",
            format!("Bucket named '{bucket}' is not empty. Delete all objects first."),
        ),
        StoreError::Io(..) => OciError::internal(e),
    }
}

/// The answer for a KMS failure while serving `what` (e.g. "bucket 'b'").
pub fn kms_error(f: KmsFailure, what: &str) -> OciError {
    match f {
        KmsFailure::KeyDisabled { key_id, detail } => OciError::new(
            StatusCode::CONFLICT,
            "KmsKeyDisabled",
            format!(
                "The KMS key {key_id} that protects {what} is disabled or blocked in its key manager, so {what} \
                 is unavailable. No data was deleted: enable or unblock the key to restore access. ({detail})"
            ),
        ),
        KmsFailure::KeyNotFound { key_id, detail } => OciError::new(
            StatusCode::NOT_FOUND,
            "NotAuthorizedOrFoundKmsKey",
            format!(
                "The KMS key {key_id} for {what} does not exist or Object Storage is not authorized to use it \
                 (check the key OCID and the policy 'allow service objectstorage-eu-frankfurt-1 to use keys ...'). ({detail})"
            ),
        ),
        KmsFailure::Unreachable { detail } => OciError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "KmsUnavailable",
            format!(
                "The key manager for the KMS key of {what} is unreachable, so {what} is unavailable right now; no data was lost. ({detail})"
            ),
        ),
        KmsFailure::BadCiphertext { detail } => {
            tracing::error!(%what, %detail, "KMS refused a stored wrapped data key");
            OciError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                format!("The data encryption key of {what} could not be unwrapped by KMS ({detail})"),
            )
        }
    }
}

pub(crate) fn integrity_error(what: &str) -> OciError {
    OciError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        format!("The stored data of {what} failed its integrity check and cannot be returned"),
    )
}
