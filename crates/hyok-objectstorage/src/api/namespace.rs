//! `GET /n` and `GET /n/{ns}`.

use super::validation::check_namespace;
use crate::service::ObjectStorage;
use axum::{Json, extract::State};
use hyok_oci_rest::{OciPath, OciResult};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn get_namespace(State(os): State<Arc<ObjectStorage>>) -> Json<String> {
    Json(os.namespace().to_string())
}

pub(crate) async fn namespace_metadata(
    State(os): State<Arc<ObjectStorage>>,
    OciPath(ns): OciPath<String>,
) -> OciResult<Json<Value>> {
    check_namespace(&os, &ns)?;
    Ok(Json(json!({
        "namespace": ns,
        "defaultS3CompartmentId": os.config().tenancy_id,
        "defaultSwiftCompartmentId": os.config().tenancy_id,
    })))
}
