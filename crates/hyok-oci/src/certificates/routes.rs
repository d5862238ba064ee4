//! The Certificates API over HTTP: list queries, handlers and the router.

use crate::certificates::{
    service::{BASE_PATH, CertificatesService},
    shapes::{CaBundle, Certificate, CreateCaBundleDetails, CreateCertificateDetails},
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    routing::get,
};
use http::{HeaderMap, StatusCode};
use hyok_oci_rest::{
    ListParams, ListShape, OciJson, OciPath, OciQuery, Sort,
    conventions::{LifecycleState, OciResponse, OciResult},
    extract::{not_modelled, unknown_path},
    retry, signing,
};
use serde::Deserialize;

/// List query parameters of `ListCaBundles` / `ListCertificates`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Filter.
    pub name: Option<String>,
    /// Filter (CA bundles).
    pub ca_bundle_id: Option<String>,
    /// Filter (certificates).
    pub certificate_id: Option<String>,
    /// `sortBy` (`NAME` or `TIMECREATED`), `sortOrder`, `limit`, `page`.
    #[serde(flatten)]
    pub list: ListParams,
}

/// A row of a list: its time key is the creation sequence (zero-padded so it sorts as text),
/// since two creates can share `timeCreated`'s millisecond.
type Row<T> = (String, T);

fn row<T>(seq: u64, resource: T) -> Row<T> {
    (format!("{seq:020}"), resource)
}

async fn create_ca_bundle_h(
    State(s): State<CertificatesService>,
    OciJson(d): OciJson<CreateCaBundleDetails>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&s.create_ca_bundle(d)?)
}

async fn list_ca_bundles_h(
    State(s): State<CertificatesService>,
    OciQuery(q): OciQuery<ListQuery>,
) -> OciResult<OciResponse> {
    let state = LifecycleState::filter(q.list.lifecycle_state.as_deref())?;
    let rows: Vec<Row<CaBundle>> = s
        .inner
        .bundles
        .read()
        .values()
        .filter(|b| {
            let b = &b.resource;
            q.list.compartment_id.as_deref().is_none_or(|c| c == b.compartment_id)
                && q.name.as_deref().is_none_or(|n| n == b.name)
                && q.ca_bundle_id.as_deref().is_none_or(|i| i == b.id)
                && state.is_none_or(|st| st == b.lifecycle_state)
                && (state.is_some() || b.lifecycle_state != LifecycleState::Deleted)
        })
        .map(|b| row(b.seq, b.resource.clone()))
        .collect();
    q.list.respond(rows, Sort::UPPER_NAME, |(t, b)| (b.name.as_str(), t.as_str()), ListShape::Items, |(_, b)| b.clone())
}

async fn get_ca_bundle_h(State(s): State<CertificatesService>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&s.get_ca_bundle(&id)?)
}

async fn delete_ca_bundle_h(
    State(s): State<CertificatesService>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<StatusCode> {
    s.delete_ca_bundle(&id, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_certificate_h(
    State(s): State<CertificatesService>,
    OciJson(d): OciJson<CreateCertificateDetails>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&s.create_certificate(d)?)
}

async fn list_certificates_h(
    State(s): State<CertificatesService>,
    OciQuery(q): OciQuery<ListQuery>,
) -> OciResult<OciResponse> {
    let state = LifecycleState::filter(q.list.lifecycle_state.as_deref())?;
    let rows: Vec<Row<Certificate>> = s
        .inner
        .certs
        .read()
        .values()
        .filter(|c| {
            let c = &c.resource;
            q.list.compartment_id.as_deref().is_none_or(|x| x == c.compartment_id)
                && q.name.as_deref().is_none_or(|n| n == c.name)
                && q.certificate_id.as_deref().is_none_or(|i| i == c.id)
                && state.is_none_or(|st| st == c.lifecycle_state)
        })
        .map(|c| row(c.seq, c.resource.clone()))
        .collect();
    q.list.respond(
        rows,
        Sort::UPPER_NAME,
        |(t, c)| (c.name.as_str(), t.as_str()),
        ListShape::Items,
        |(_, c)| c.summary(),
    )
}

async fn get_certificate_h(
    State(s): State<CertificatesService>,
    OciPath(id): OciPath<String>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&s.get_certificate(&id)?)
}

/// The Certificates service API: `/20210224/...` behind signature verification (retried creates
/// are replayed only for a verified caller), with `opc-request-id` on every response and the
/// configured body limit.
pub fn router(service: CertificatesService) -> Router {
    let verifier = service.inner.verifier.clone();
    let limit = service.inner.config.max_body_bytes;
    let tokens = service.inner.retry.clone();
    let api = Router::new()
        .route("/caBundles", get(list_ca_bundles_h).post(create_ca_bundle_h))
        .route("/caBundles/{id}", get(get_ca_bundle_h).delete(delete_ca_bundle_h))
        .route("/certificates", get(list_certificates_h).post(create_certificate_h))
        .route("/certificates/{id}", get(get_certificate_h))
        .method_not_allowed_fallback(not_modelled)
        .with_state(service);
    let app = Router::new()
        .nest(BASE_PATH, api)
        .fallback(unknown_path)
        .layer(axum::middleware::from_fn_with_state(tokens, retry::layer))
        .layer(DefaultBodyLimit::max(limit));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}
