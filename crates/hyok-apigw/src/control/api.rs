//! The control API over HTTP: `/20190501/{gateways,deployments,workRequests}` behind signature
//! verification and the `opc-retry-token` layer.

use super::{
    service::ApiGatewayService,
    state::WorkRequestRec,
    wire::{
        BASE_PATH, CreateDeploymentDetails, CreateGatewayDetails, UpdateDeploymentDetails, UpdateGatewayDetails,
        WORK_REQUEST_HEADER, WorkRequest, WorkRequestStatus, WorkRequestSummary,
    },
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    response::{IntoResponse, Response},
    routing::get,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use hyok_core::RequestId;
use hyok_oci_rest::{
    ListParams, ListShape, OciError, OciJson, OciPath, OciQuery, OciResponse, OciResult, Sort,
    conventions::{LifecycleState, PageQuery, paginate, required},
    extract::{not_modelled, unknown_path},
    retry, signing,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Largest request body of the control API.
pub const MAX_CONTROL_BODY_BYTES: usize = hyok_core::MAX_BODY_BYTES;

/// Query parameters of the list operations.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Filter (gateways).
    pub certificate_id: Option<String>,
    /// Filter (deployments).
    pub gateway_id: Option<String>,
    /// Filter (work requests).
    pub resource_id: Option<String>,
    /// `sortBy` (`timeCreated`, newest first, or `displayName`), `sortOrder`, `limit`, `page`.
    #[serde(flatten)]
    pub list: ListParams,
}

/// A gateway or deployment list row: its name, its creation sequence as a sortable key, the item.
type Row<T> = (String, String, T);

fn row<T>(name: &str, seq: u64, item: T) -> Row<T> {
    (name.to_string(), format!("{seq:020}"), item)
}

/// Answer a gateway or deployment list. The creation sequence stands for `timeCreated`: the
/// same order, without ties between resources created in the same millisecond.
fn respond_rows<T: Serialize + Clone>(list: &ListParams, rows: Vec<Row<T>>) -> OciResult<OciResponse> {
    list.respond(rows, Sort::CAMEL_DISPLAY_NAME, |r| (r.0.as_str(), r.1.as_str()), ListShape::Items, |r| r.2.clone())
}

fn with_work_request(mut resp: Response, wr: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(wr) {
        resp.headers_mut().insert(WORK_REQUEST_HEADER, v);
    }
    resp
}

fn accepted(wr: &str) -> Response {
    with_work_request(StatusCode::ACCEPTED.into_response(), wr)
}

/// A create's answer: the resource and its work request (a retry replays both).
fn created<T: Serialize>(resource: &T, wr: &str) -> OciResult<Response> {
    Ok(with_work_request(OciResponse::resource(resource)?.into_response(), wr))
}

type Svc = Arc<ApiGatewayService>;

async fn create_gateway_h(
    State(s): State<Svc>,
    rid: RequestId,
    OciJson(d): OciJson<CreateGatewayDetails>,
) -> OciResult<Response> {
    let (res, wr) = s.create_gateway(d, rid.as_str())?;
    created(&res, &wr)
}

async fn list_gateways_h(State(s): State<Svc>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let compartment = required(&q.list.compartment_id, "compartmentId")?.to_string();
    let state = LifecycleState::filter(q.list.lifecycle_state.as_deref())?;
    let rows: Vec<_> = s
        .lock()
        .gateways
        .values()
        .filter(|g| {
            let r = &g.res;
            r.compartment_id == compartment
                && q.list.display_name.as_deref().is_none_or(|n| n == r.display_name)
                && q.certificate_id.as_deref().is_none_or(|c| Some(c) == r.certificate_id.as_deref())
                && state.map_or(r.lifecycle_state != LifecycleState::Deleted, |st| st == r.lifecycle_state)
        })
        .map(|g| row(&g.res.display_name, g.seq, g.res.clone()))
        .collect();
    respond_rows(&q.list, rows)
}

async fn get_gateway_h(State(s): State<Svc>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    let g = s.gateway(&id).ok_or_else(|| OciError::not_found(format!("gateway {id} not found or not authorized")))?;
    OciResponse::resource(&g)
}

async fn update_gateway_h(
    State(s): State<Svc>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
    OciJson(d): OciJson<UpdateGatewayDetails>,
) -> OciResult<Response> {
    Ok(accepted(&s.update_gateway(&id, d, &headers)?))
}

async fn delete_gateway_h(
    State(s): State<Svc>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<Response> {
    Ok(accepted(&s.delete_gateway(&id, &headers)?))
}

async fn create_deployment_h(
    State(s): State<Svc>,
    rid: RequestId,
    OciJson(d): OciJson<CreateDeploymentDetails>,
) -> OciResult<Response> {
    let (res, wr) = s.create_deployment(d, rid.as_str())?;
    created(&res, &wr)
}

async fn list_deployments_h(State(s): State<Svc>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let compartment = required(&q.list.compartment_id, "compartmentId")?.to_string();
    let state = LifecycleState::filter(q.list.lifecycle_state.as_deref())?;
    let rows: Vec<_> = s
        .lock()
        .deployments
        .values()
        .filter(|d| {
            let r = &d.res;
            r.compartment_id == compartment
                && q.list.display_name.as_deref().is_none_or(|n| n == r.display_name)
                && q.gateway_id.as_deref().is_none_or(|g| g == r.gateway_id)
                && state.map_or(r.lifecycle_state != LifecycleState::Deleted, |st| st == r.lifecycle_state)
        })
        .map(|d| row(&d.res.display_name, d.seq, d.res.summary()))
        .collect();
    respond_rows(&q.list, rows)
}

async fn get_deployment_h(State(s): State<Svc>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    let d =
        s.deployment(&id).ok_or_else(|| OciError::not_found(format!("deployment {id} not found or not authorized")))?;
    OciResponse::resource(&d)
}

async fn update_deployment_h(
    State(s): State<Svc>,
    OciPath(id): OciPath<String>,
    rid: RequestId,
    headers: HeaderMap,
    OciJson(d): OciJson<UpdateDeploymentDetails>,
) -> OciResult<Response> {
    Ok(accepted(&s.update_deployment(&id, d, &headers, rid.as_str())?))
}

async fn delete_deployment_h(
    State(s): State<Svc>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<Response> {
    Ok(accepted(&s.delete_deployment(&id, &headers)?))
}

async fn list_work_requests_h(State(s): State<Svc>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let compartment = required(&q.list.compartment_id, "compartmentId")?.to_string();
    let rows: Vec<WorkRequest> = s
        .lock()
        .work_requests
        .values()
        .filter(|w| {
            w.wr.compartment_id == compartment
                && q.resource_id.as_deref().is_none_or(|r| w.wr.resources.iter().any(|x| x.identifier == r))
        })
        .map(|w| w.wr.clone())
        .collect();
    // A work request has no name; its id orders those accepted in the same millisecond.
    q.list.respond(
        rows,
        Sort::CAMEL_DISPLAY_NAME,
        |w| (w.id.as_str(), w.time_accepted.as_str()),
        ListShape::Items,
        |w| WorkRequestSummary::from(w),
    )
}

fn work_request_rec<T>(s: &Svc, id: &str, f: impl FnOnce(&WorkRequestRec) -> T) -> OciResult<T> {
    s.lock()
        .work_requests
        .get(id)
        .map(f)
        .ok_or_else(|| OciError::not_found(format!("work request {id} not found or not authorized")))
}

async fn get_work_request_h(State(s): State<Svc>, OciPath(id): OciPath<String>) -> OciResult<Response> {
    let wr = work_request_rec(&s, &id, |w| w.wr.clone())?;
    // OCI answers `retry-after` while a work request runs.
    let running = matches!(wr.status, WorkRequestStatus::Accepted | WorkRequestStatus::InProgress);
    let mut resp = OciResponse::resource(&wr)?.into_response();
    if running {
        resp.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok(resp)
}

async fn work_request_errors_h(
    State(s): State<Svc>,
    OciPath(id): OciPath<String>,
    OciQuery(q): OciQuery<PageQuery>,
) -> OciResult<OciResponse> {
    let items = work_request_rec(&s, &id, |w| w.errors.clone())?;
    let (page, next) = paginate(&items, &q, Clone::clone)?;
    OciResponse::collection(&page, next)
}

async fn work_request_logs_h(
    State(s): State<Svc>,
    OciPath(id): OciPath<String>,
    OciQuery(q): OciQuery<PageQuery>,
) -> OciResult<OciResponse> {
    let items = work_request_rec(&s, &id, |w| w.logs.clone())?;
    let (page, next) = paginate(&items, &q, Clone::clone)?;
    OciResponse::collection(&page, next)
}

/// The API Gateway control API: `/20190501/{gateways,deployments,workRequests}` behind signature
/// verification, with `opc-request-id` on every response, a 1 MiB body limit, and creates
/// replayed for a retry with the same `opc-retry-token`.
pub fn router(service: Arc<ApiGatewayService>) -> Router {
    let verifier = service.deps.verifier.clone();
    let tokens = service.retry.clone();
    let api = Router::new()
        .route("/gateways", get(list_gateways_h).post(create_gateway_h))
        .route("/gateways/{id}", get(get_gateway_h).put(update_gateway_h).delete(delete_gateway_h))
        .route("/deployments", get(list_deployments_h).post(create_deployment_h))
        .route("/deployments/{id}", get(get_deployment_h).put(update_deployment_h).delete(delete_deployment_h))
        .route("/workRequests", get(list_work_requests_h))
        .route("/workRequests/{id}", get(get_work_request_h))
        .route("/workRequests/{id}/errors", get(work_request_errors_h))
        .route("/workRequests/{id}/logs", get(work_request_logs_h))
        .method_not_allowed_fallback(not_modelled)
        .with_state(service);
    let app = Router::new()
        .nest(BASE_PATH, api)
        .fallback(unknown_path)
        .layer(DefaultBodyLimit::max(MAX_CONTROL_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(tokens, retry::layer));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(list: ListParams) -> OciResult<Vec<u32>> {
        // `b` and `a` share a name with later rows; the sequence breaks the tie.
        let rows = vec![row("b", 1, 1), row("a", 2, 2), row("c", 3, 3), row("a", 10, 4)];
        let resp = respond_rows(&list, rows)?;
        Ok(resp.body["items"].as_array().expect("items").iter().filter_map(|v| v.as_u64()).map(|v| v as u32).collect())
    }

    #[test]
    fn lists_sort_like_oci() {
        let by = |s: &str| ListParams { sort_by: Some(s.into()), ..Default::default() };
        assert_eq!(order(ListParams::default()).expect("sort"), vec![4, 3, 2, 1], "newest first");
        assert_eq!(order(by("displayName")).expect("sort"), vec![2, 4, 1, 3], "A to Z, then oldest first");
        assert!(order(by("size")).is_err());
    }

    #[test]
    fn details_name_the_field() {
        let e = hyok_oci_rest::conventions::parse_json::<CreateGatewayDetails>(br#"{"compartmentId": 5}"#)
            .expect_err("type");
        assert!(e.message.contains("compartmentId: invalid type"), "{}", e.message);
        let e = hyok_oci_rest::conventions::parse_json::<CreateGatewayDetails>(b"{").expect_err("syntax");
        assert_eq!(e.code, "CannotParseRequest");
        assert_eq!(
            hyok_oci_rest::conventions::parse_json::<CreateGatewayDetails>(b"").expect_err("empty").code,
            "CannotParseRequest"
        );
    }
}
