//! The DNS API over HTTP: list queries, handlers and the router.

use crate::{
    common::{check_compartment, lifecycle_filter, not_modelled},
    dns::{
        api::{BASE_PATH, DnsApi, check_scope},
        shapes::{
            CreateViewDetails, CreateZoneDetails, RecordItems, RecordResource, ResolverResource, UpdateResolverDetails,
            UpdateViewDetails, ViewResource, ZoneResource, ZoneSelector,
        },
    },
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    response::{IntoResponse, Response},
    routing::get,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use hyok_dns::{ZoneInfo, model::normalize_name};
use hyok_oci_rest::{
    ListParams, ListShape, OciError, OciJson, OciPath, OciQuery, Sort,
    conventions::{LifecycleState, OciResponse, OciResult, paginate},
    extract::unknown_path,
    retry, signing,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Query parameters of ListViews, ListResolvers and ListZones.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Exact id.
    pub id: Option<String>,
    /// Exact zone name.
    pub name: Option<String>,
    /// Zone name substring.
    pub name_contains: Option<String>,
    /// `PRIMARY`.
    pub zone_type: Option<String>,
    /// View filter (zones).
    pub view_id: Option<String>,
    /// `PRIVATE` or `GLOBAL`.
    pub scope: Option<String>,
    /// `sortBy` (`timeCreated`, or `displayName` / `name` for zones), `sortOrder`, `limit`, `page`.
    #[serde(flatten)]
    pub list: ListParams,
}

/// Query parameters of the record reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordQuery {
    /// Zone selector.
    #[serde(flatten)]
    pub zone: ZoneSelector,
    /// Exact domain.
    pub domain: Option<String>,
    /// Domain substring.
    pub domain_contains: Option<String>,
    /// Type.
    pub rtype: Option<String>,
    /// `sortBy` (`domain`, `rtype` or `ttl`), `sortOrder`, `limit`, `page`.
    #[serde(flatten)]
    pub list: ListParams,
}

const DNS_STATES: [&str; 6] = ["ACTIVE", "CREATING", "DELETED", "DELETING", "FAILED", "UPDATING"];

/// Zones sort by `name` where views and resolvers sort by `displayName`.
const ZONE_SORT: Sort = Sort { time: "timeCreated", name: "name" };

/// The fields views and resolvers are listed by.
struct Named<'a> {
    compartment_id: &'a str,
    display_name: &'a str,
    id: &'a str,
    state: LifecycleState,
    time_created: &'a str,
}

trait NamedRow {
    fn named(&self) -> Named<'_>;
}

/// Views and resolvers have the same listing fields under the same names.
macro_rules! named_rows {
    ($($resource:ty),+) => {$(
        impl NamedRow for $resource {
            fn named(&self) -> Named<'_> {
                Named {
                    compartment_id: &self.compartment_id,
                    display_name: &self.display_name,
                    id: &self.id,
                    state: self.lifecycle_state,
                    time_created: &self.time_created,
                }
            }
        }
    )+};
}
named_rows!(ViewResource, ResolverResource);

/// What every DNS list checks before it looks at a row: the compartment, the state filter and
/// the scope (GLOBAL lists nothing: the lab has only private DNS).
struct ListFilter {
    compartment: String,
    state: Option<String>,
    global: bool,
}

impl ListFilter {
    fn of(api: &DnsApi, q: &ListQuery) -> OciResult<Self> {
        Ok(Self {
            compartment: check_compartment(&api.inner.config.compartments, &q.list.compartment_id)?.to_string(),
            state: lifecycle_filter(q.list.lifecycle_state.as_deref(), &DNS_STATES)?,
            global: check_scope(q.scope.as_deref())? == Some(false),
        })
    }

    fn state_ok(&self, s: LifecycleState) -> bool {
        self.state.as_deref().is_none_or(|f| f == s.as_str())
    }

    /// A list of views or resolvers: filtered by compartment, `displayName`, `id` and state,
    /// sorted by `displayName` or time, then the page of their list bodies.
    fn named_page<T: NamedRow, B: Serialize>(
        &self,
        q: &ListQuery,
        rows: Vec<T>,
        body: impl Fn(&T) -> B,
    ) -> OciResult<OciResponse> {
        if self.global {
            return nothing(&q.list);
        }
        let rows: Vec<T> = rows
            .into_iter()
            .filter(|r| {
                let n = r.named();
                self.compartment == n.compartment_id
                    && q.list.display_name.as_deref().is_none_or(|d| d == n.display_name)
                    && q.id.as_deref().is_none_or(|i| i == n.id)
                    && self.state_ok(n.state)
            })
            .collect();
        q.list.respond(
            rows,
            Sort::CAMEL_DISPLAY_NAME,
            |r| (r.named().display_name, r.named().time_created),
            ListShape::Array,
            body,
        )
    }
}

/// An empty list (GLOBAL scope, SECONDARY zones: the lab has none); `limit` and `page` are still
/// checked, the sort is not.
fn nothing(list: &ListParams) -> OciResult<OciResponse> {
    let (items, next_page) = paginate::<Value, Value>(&[], &list.page(), Clone::clone)?;
    Ok(OciResponse { status: StatusCode::OK, body: Value::Array(items), etag: None, next_page })
}

/// A 201 create response with `Location` (the DNS API's create responses carry one).
fn created(mut ok: OciResponse) -> Response {
    ok.status = StatusCode::CREATED;
    let location = ok.body.get("self").and_then(Value::as_str).and_then(|s| HeaderValue::from_str(s).ok());
    let mut resp = ok.into_response();
    if let Some(l) = location {
        resp.headers_mut().insert(http::header::LOCATION, l);
    }
    resp
}

async fn create_view_h(
    State(api): State<DnsApi>,
    OciQuery(sel): OciQuery<ZoneSelector>,
    OciJson(d): OciJson<CreateViewDetails>,
) -> OciResult<Response> {
    if check_scope(sel.scope.as_deref())? == Some(false) {
        return Err(OciError::invalid_parameter("scope must be PRIVATE: views are private DNS"));
    }
    Ok(created(OciResponse::resource(&api.create_view(d)?)?))
}

async fn list_views_h(State(api): State<DnsApi>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let rows = api.inner.dns.views().iter().map(|v| api.view_resource(v)).collect();
    ListFilter::of(&api, &q)?.named_page(&q, rows, ViewResource::clone)
}

async fn get_view_h(State(api): State<DnsApi>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_view(&id)?)
}

async fn update_view_h(
    State(api): State<DnsApi>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
    OciJson(d): OciJson<UpdateViewDetails>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&api.update_view(&id, d, &headers)?)
}

async fn delete_view_h(
    State(api): State<DnsApi>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
) -> OciResult<StatusCode> {
    api.delete_view(&id, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_zone_h(
    State(api): State<DnsApi>,
    OciQuery(sel): OciQuery<ZoneSelector>,
    OciJson(d): OciJson<CreateZoneDetails>,
) -> OciResult<Response> {
    Ok(created(OciResponse::resource(&api.create_zone(d, &sel)?)?))
}

async fn list_zones_h(State(api): State<DnsApi>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let f = ListFilter::of(&api, &q)?;
    if f.global {
        return nothing(&q.list);
    }
    match q.zone_type.as_deref() {
        None => {}
        Some(t) if t.eq_ignore_ascii_case("PRIMARY") => {}
        Some(t) if t.eq_ignore_ascii_case("SECONDARY") => return nothing(&q.list),
        Some(t) => return Err(OciError::invalid_parameter(format!("zoneType {t:?} must be PRIMARY or SECONDARY"))),
    }
    let name = q.name.as_deref().map(|n| n.trim_end_matches('.').to_ascii_lowercase());
    let contains = q.name_contains.as_deref().map(str::to_ascii_lowercase);
    let rows: Vec<ZoneResource> = api
        .inner
        .dns
        .zones()
        .iter()
        .map(|z| api.zone_resource(z))
        .filter(|z| {
            z.compartment_id == f.compartment
                && name.as_deref().is_none_or(|n| n == z.name)
                && contains.as_deref().is_none_or(|c| z.name.contains(c))
                && q.view_id.as_deref().is_none_or(|v| v == z.view_id)
                && f.state_ok(z.lifecycle_state)
        })
        .collect();
    // zoneType is PRIMARY for every lab zone, so sorting by it falls back to the name.
    let mut list = q.list.clone();
    if list.sort_by.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("zoneType")) {
        list.sort_by = Some(ZONE_SORT.name.into());
    }
    list.respond(
        rows,
        ZONE_SORT,
        |z| (z.name.as_str(), z.time_created.as_str()),
        ListShape::Array,
        ZoneResource::summary,
    )
}

async fn get_zone_h(
    State(api): State<DnsApi>,
    OciPath(zone): OciPath<String>,
    OciQuery(sel): OciQuery<ZoneSelector>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_zone(&zone, &sel)?)
}

async fn delete_zone_h(
    State(api): State<DnsApi>,
    OciPath(zone): OciPath<String>,
    OciQuery(sel): OciQuery<ZoneSelector>,
    headers: HeaderMap,
) -> OciResult<StatusCode> {
    api.delete_zone(&zone, &sel, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A records collection page with the zone's records etag and `opc-total-items`. Records keep
/// their own sort (by domain, rtype or ttl, then rdata, ascending by default).
fn records_response(api: &DnsApi, zone: &ZoneInfo, q: &RecordQuery, only_domain: Option<&str>) -> OciResult<Response> {
    let domain = match only_domain.or(q.domain.as_deref()) {
        None => None,
        Some(d) => Some(normalize_name(d).map_err(|e| OciError::invalid_parameter(format!("domain: {e}")))?),
    };
    let rtype = q.rtype.as_deref().map(str::to_ascii_uppercase);
    let contains = q.domain_contains.as_deref().map(str::to_ascii_lowercase);
    let mut rows: Vec<RecordResource> = api
        .record_resources(zone)
        .into_iter()
        .filter(|r| {
            domain.as_deref().is_none_or(|d| d == r.domain)
                && contains.as_deref().is_none_or(|c| r.domain.contains(c))
                && rtype.as_deref().is_none_or(|t| t == r.rtype)
        })
        .collect();
    let by = q.list.sort_by.as_deref().unwrap_or("domain");
    let ttl_key = |r: &RecordResource| format!("{:010}", r.ttl);
    let key = |r: &RecordResource| -> (String, String) {
        match by {
            "rtype" => (r.rtype.clone(), r.domain.clone()),
            "ttl" => (ttl_key(r), r.domain.clone()),
            _ => (r.domain.clone(), r.rtype.clone()),
        }
    };
    if !["domain", "rtype", "ttl"].contains(&by) {
        return Err(OciError::invalid_parameter(format!("sortBy {by:?} must be domain, rtype or ttl")));
    }
    let desc = match q.list.sort_order.as_deref() {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("ASC") => false,
        Some(s) if s.eq_ignore_ascii_case("DESC") => true,
        Some(o) => return Err(OciError::invalid_parameter(format!("sortOrder {o:?} must be ASC or DESC"))),
    };
    rows.sort_by(|a, b| {
        let o = key(a).cmp(&key(b)).then(a.rdata.cmp(&b.rdata));
        if desc { o.reverse() } else { o }
    });
    let total = rows.len();
    let (items, next) = paginate(&rows, &q.list.page(), Clone::clone)?;
    let mut ok = OciResponse::collection(&items, next)?;
    ok.etag = Some(DnsApi::records_etag(zone));
    let mut resp = ok.into_response();
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        resp.headers_mut().insert("opc-total-items", v);
    }
    Ok(resp)
}

async fn get_records_h(
    State(api): State<DnsApi>,
    OciPath(zone): OciPath<String>,
    OciQuery(q): OciQuery<RecordQuery>,
) -> OciResult<Response> {
    let z = api.find_zone(&zone, &q.zone)?;
    records_response(&api, &z, &q, None)
}

async fn get_domain_records_h(
    State(api): State<DnsApi>,
    OciPath((zone, domain)): OciPath<(String, String)>,
    OciQuery(q): OciQuery<RecordQuery>,
) -> OciResult<Response> {
    let z = api.find_zone(&zone, &q.zone)?;
    domain_in_zone(&z, &domain)?;
    records_response(&api, &z, &q, Some(&domain))
}

async fn get_rrset_h(
    State(api): State<DnsApi>,
    OciPath((zone, domain, rtype)): OciPath<(String, String, String)>,
    OciQuery(mut q): OciQuery<RecordQuery>,
) -> OciResult<Response> {
    let z = api.find_zone(&zone, &q.zone)?;
    domain_in_zone(&z, &domain)?;
    q.rtype = Some(rtype);
    records_response(&api, &z, &q, Some(&domain))
}

fn domain_in_zone(z: &ZoneInfo, domain: &str) -> OciResult<()> {
    let d = normalize_name(domain).map_err(|e| OciError::invalid_parameter(format!("domain: {e}")))?;
    if d != z.name && !d.ends_with(&format!(".{}", z.name)) {
        return Err(OciError::invalid_parameter(format!("domain {d} is not inside zone {}", z.name)));
    }
    Ok(())
}

async fn patch_records_h(
    State(api): State<DnsApi>,
    OciPath(zone): OciPath<String>,
    OciQuery(q): OciQuery<RecordQuery>,
    headers: HeaderMap,
    OciJson(items): OciJson<RecordItems>,
) -> OciResult<Response> {
    let z = api.patch_records(&zone, &q.zone, items, &headers)?;
    records_response(&api, &z, &RecordQuery::default(), None)
}

async fn replace_records_h(
    State(api): State<DnsApi>,
    OciPath(zone): OciPath<String>,
    OciQuery(q): OciQuery<RecordQuery>,
    headers: HeaderMap,
    OciJson(items): OciJson<RecordItems>,
) -> OciResult<Response> {
    let z = api.replace_records(&zone, &q.zone, items, &headers)?;
    records_response(&api, &z, &RecordQuery::default(), None)
}

async fn list_resolvers_h(State(api): State<DnsApi>, OciQuery(q): OciQuery<ListQuery>) -> OciResult<OciResponse> {
    let rows =
        api.inner.dns.resolvers().iter().filter(|r| api.in_region(r)).map(|r| api.resolver_resource(r)).collect();
    ListFilter::of(&api, &q)?.named_page(&q, rows, ResolverResource::summary)
}

async fn get_resolver_h(State(api): State<DnsApi>, OciPath(id): OciPath<String>) -> OciResult<OciResponse> {
    OciResponse::resource(&api.get_resolver(&id)?)
}

async fn update_resolver_h(
    State(api): State<DnsApi>,
    OciPath(id): OciPath<String>,
    headers: HeaderMap,
    OciJson(d): OciJson<UpdateResolverDetails>,
) -> OciResult<OciResponse> {
    OciResponse::resource(&api.update_resolver(&id, d, &headers)?)
}

/// The DNS API: `/20180115/...` behind signature verification (retried creates are replayed
/// only for a verified caller), with `opc-request-id` on every response and the configured
/// body limit.
pub fn router(api: DnsApi) -> Router {
    let verifier = api.inner.verifier.clone();
    let limit = api.inner.config.max_body_bytes;
    let tokens = api.inner.retry.clone();
    let v1 = Router::new()
        .route("/views", get(list_views_h).post(create_view_h))
        .route("/views/{id}", get(get_view_h).put(update_view_h).delete(delete_view_h))
        .route("/zones", get(list_zones_h).post(create_zone_h))
        .route("/zones/{zone}", get(get_zone_h).delete(delete_zone_h))
        .route("/zones/{zone}/records", get(get_records_h).patch(patch_records_h).put(replace_records_h))
        .route("/zones/{zone}/records/{domain}", get(get_domain_records_h))
        .route("/zones/{zone}/records/{domain}/{rtype}", get(get_rrset_h))
        .route("/resolvers", get(list_resolvers_h))
        .route("/resolvers/{id}", get(get_resolver_h).put(update_resolver_h))
        .method_not_allowed_fallback(not_modelled)
        .with_state(api);
    let app = Router::new()
        .nest(BASE_PATH, v1)
        .fallback(unknown_path)
        .layer(axum::middleware::from_fn_with_state(tokens, retry::layer))
        .layer(DefaultBodyLimit::max(limit));
    signing::protect(app, verifier).layer(axum::middleware::from_fn(hyok_core::request_id::layer))
}
