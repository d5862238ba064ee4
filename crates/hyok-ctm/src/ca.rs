//! CTM's certificate authority: the auto-created local root CA, the CSR generator, issuing
//! certificates from uploaded CSRs, revocation. Also issues CTM's own web certificate.

use crate::error::CtmError;
use crate::reject::{CtmBody, CtmPath, CtmQuery};
use crate::{Ctm, CtmLabError, util};
use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use hyok_core::pki::IssuedCert;
use parking_lot::RwLock;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::{net::IpAddr, sync::Arc};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Name of the CA a fresh CTM creates for itself.
const ROOT_NAME: &str = "CipherTrust Manager Root CA";
/// Revocation reasons CTM accepts.
const REASONS: &[&str] = &[
    "unspecified",
    "keyCompromise",
    "cACompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
    "removeFromCRL",
    "privilegeWithdrawn",
    "aACompromise",
];

/// Fields CTM shows for any certificate, parsed from the DER.
#[derive(Clone, Debug, Serialize)]
struct CertInfo {
    subject: String,
    issuer: String,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    #[serde(rename = "notBefore")]
    not_before: String,
    #[serde(rename = "notAfter")]
    not_after: String,
    #[serde(rename = "sha256Fingerprint")]
    sha256: String,
    #[serde(rename = "sha512Fingerprint")]
    sha512: String,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn cert_info(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let ts = |t: &x509_parser::time::ASN1Time| {
        OffsetDateTime::from_unix_timestamp(t.timestamp()).map(rfc3339).unwrap_or_default()
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial_number: cert.raw_serial_as_string(),
        not_before: ts(&cert.validity().not_before),
        not_after: ts(&cert.validity().not_after),
        sha256: hex::encode_upper(sha2::Sha256::digest(der)),
        sha512: hex::encode_upper(sha2::Sha512::digest(der)),
    })
}

#[derive(Clone, Serialize)]
struct LocalCaView {
    #[serde(flatten)]
    meta: util::Meta,
    name: String,
    state: &'static str,
    cert: String,
    purpose: serde_json::Value,
    #[serde(flatten)]
    info: CertInfo,
}

struct LocalCa {
    view: LocalCaView,
    issuer: Issuer<'static, KeyPair>,
}

#[derive(Clone, Serialize)]
struct IssuedView {
    #[serde(flatten)]
    meta: util::Meta,
    name: String,
    ca: String,
    purpose: String,
    state: &'static str,
    revoked_reason: Option<String>,
    revoked_at: Option<String>,
    cert: String,
    #[serde(flatten)]
    info: CertInfo,
}

pub(crate) struct CaState {
    root: LocalCa,
    issued: RwLock<Vec<IssuedView>>,
}

fn random_serial() -> SerialNumber {
    let mut b: [u8; 16] = rand::random();
    b[0] &= 0x7f; // positive INTEGER
    b[0] |= 0x01; // no leading zero byte
    SerialNumber::from_slice(&b)
}

impl CaState {
    /// Create the local root CA (ECDSA P-384, 10 years), active at once.
    pub(crate) fn new() -> Result<Self, CtmLabError> {
        let pki = |e: rcgen::Error| CtmLabError::Pki(e.to_string());
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(pki)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "US");
        dn.push(DnType::StateOrProvinceName, "TX");
        dn.push(DnType::LocalityName, "Austin");
        dn.push(DnType::OrganizationName, "Thales Group");
        dn.push(DnType::OrganizationalUnitName, "RnD");
        dn.push(DnType::CommonName, ROOT_NAME);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial());
        let now = OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(3650);
        let cert = params.self_signed(&key).map_err(pki)?;
        let info = cert_info(cert.der()).map_err(CtmLabError::Pki)?;
        let id = hyok_core::ids::uuid();
        let view = LocalCaView {
            meta: util::Meta::new(id.clone(), format!("kylo:kylo:naboo:localca:{id}")),
            name: ROOT_NAME.into(),
            state: "active",
            cert: cert.pem(),
            purpose: serde_json::json!({"client_authentication": "Enabled", "user_authentication": "Enabled"}),
            info,
        };
        Ok(Self { root: LocalCa { view, issuer: Issuer::new(params, key) }, issued: RwLock::new(Vec::new()) })
    }

    pub(crate) fn root_pem(&self) -> String {
        self.root.view.cert.clone()
    }

    /// The web interface certificate: RSA 2048 (made with the `rsa` crate, imported into rcgen
    /// as PKCS#8), SAN = FQDN + IP, server and client auth.
    pub(crate) fn issue_web_cert(&self, hostname: &str, ip: &str) -> Result<IssuedCert, CtmLabError> {
        let pki = |e: rcgen::Error| CtmLabError::Pki(e.to_string());
        let key_pem = util::rsa_pkcs8_pem(2048).map_err(CtmLabError::Keygen)?;
        let key = KeyPair::from_pem(&key_pem).map_err(pki)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
        params.subject_alt_names = vec![
            hyok_core::pki::san(hostname).map_err(|e| CtmLabError::Pki(e.to_string()))?,
            hyok_core::pki::san(ip).map_err(|e| CtmLabError::Pki(e.to_string()))?,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Thales Group");
        dn.push(DnType::CommonName, hostname);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(730);
        let cert = params.signed_by(&key, &self.root.issuer).map_err(pki)?;
        Ok(IssuedCert { cert_pem: cert.pem(), key_pem, ca_pem: self.root_pem() })
    }
}

pub(crate) fn routes() -> Router<Arc<Ctm>> {
    Router::new()
        .route("/api/v1/ca/csr", post(create_csr))
        .route("/api/v1/ca/local-cas", get(list_cas))
        .route("/api/v1/ca/local-cas/", get(list_cas))
        .route("/api/v1/ca/local-cas/{id}", get(get_ca))
        .route("/api/v1/ca/local-cas/{id}/certs", get(list_certs).post(issue_cert))
        .route("/api/v1/ca/local-cas/{id}/certs/", get(list_certs).post(issue_cert))
        .route("/api/v1/ca/local-cas/{id}/certs/{cert}", get(get_cert).delete(delete_cert))
        .route("/api/v1/ca/local-cas/{id}/certs/{cert}/revoke", post(revoke_cert))
        .route("/api/v1/ca/local-cas/{id}/certs/{cert}/resume", post(resume_cert))
}

fn ca_of<'a>(ctm: &'a Ctm, id: &str) -> Result<&'a LocalCa, CtmError> {
    if ctm.ca.root.view.meta.id == id || ctm.ca.root.view.name == id {
        Ok(&ctm.ca.root)
    } else {
        Err(CtmError::not_found("Resource not found"))
    }
}

async fn list_cas(State(ctm): State<Arc<Ctm>>, CtmQuery(q): CtmQuery) -> Result<Json<serde_json::Value>, CtmError> {
    let paging = util::paging_of(&q)?;
    let mut items = vec![ctm.ca.root.view.clone()];
    if let Some(name) = q.get("name") {
        items.retain(|c| &c.name == name);
    }
    Ok(util::page(items, &paging))
}

async fn get_ca(State(ctm): State<Arc<Ctm>>, CtmPath(id): CtmPath<String>) -> Result<Json<LocalCaView>, CtmError> {
    Ok(Json(ca_of(&ctm, &id)?.view.clone()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CsrRequest {
    cn: String,
    algorithm: Option<String>,
    size: Option<u32>,
    #[serde(default)]
    dns_names: Vec<String>,
    #[serde(default)]
    ip_addresses: Vec<String>,
    #[serde(default)]
    email_addresses: Vec<String>,
    #[serde(default)]
    names: Vec<NameParts>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct NameParts {
    C: Option<String>,
    ST: Option<String>,
    L: Option<String>,
    O: Option<String>,
    OU: Option<String>,
}

async fn create_csr(CtmBody(body): CtmBody) -> Result<Response, CtmError> {
    let req: CsrRequest = util::parse_json(&body)?;
    if req.cn.trim().is_empty() {
        return Err(CtmError::invalid_param("cn is required"));
    }
    if req.password.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(CtmError::invalid_param(
            "Encrypted private keys (password) are not supported by this CipherTrust Manager",
        ));
    }
    let algorithm = req.algorithm.as_deref().unwrap_or("RSA").to_ascii_uppercase();
    let (key, key_pem) = match algorithm.as_str() {
        "RSA" => {
            let bits = req.size.unwrap_or(2048);
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(CtmError::invalid_param("size for RSA must be 2048, 3072 or 4096"));
            }
            // Key generation is CPU-bound (up to seconds for 4096 bits); keep it off the reactor.
            let pem = tokio::task::spawn_blocking(move || util::rsa_pkcs8_pem(bits as usize))
                .await
                .map_err(CtmError::internal)?
                .map_err(CtmError::internal)?;
            let key = KeyPair::from_pem(&pem).map_err(CtmError::internal)?;
            (key, pem)
        }
        "ECDSA" | "EC" => {
            let alg = match req.size.unwrap_or(256) {
                256 => &rcgen::PKCS_ECDSA_P256_SHA256,
                384 => &rcgen::PKCS_ECDSA_P384_SHA384,
                _ => return Err(CtmError::invalid_param("size for ECDSA must be 256 or 384")),
            };
            let key = KeyPair::generate_for(alg).map_err(CtmError::internal)?;
            let pem = key.serialize_pem();
            (key, pem)
        }
        other => return Err(CtmError::invalid_param(format!("unsupported algorithm {other:?}; use RSA or ECDSA"))),
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(CtmError::internal)?;
    let mut dn = DistinguishedName::new();
    for n in &req.names {
        for (t, v) in [
            (DnType::CountryName, &n.C),
            (DnType::StateOrProvinceName, &n.ST),
            (DnType::LocalityName, &n.L),
            (DnType::OrganizationName, &n.O),
            (DnType::OrganizationalUnitName, &n.OU),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                dn.push(t, v);
            }
        }
    }
    dn.push(DnType::CommonName, req.cn.as_str());
    params.distinguished_name = dn;
    for d in &req.dns_names {
        let ia5 = d.as_str().try_into().map_err(|_| CtmError::invalid_param(format!("invalid DNS name {d:?}")))?;
        params.subject_alt_names.push(SanType::DnsName(ia5));
    }
    for ip in &req.ip_addresses {
        let ip: IpAddr = ip.parse().map_err(|_| CtmError::invalid_param(format!("invalid IP address {ip:?}")))?;
        params.subject_alt_names.push(SanType::IpAddress(ip));
    }
    for e in &req.email_addresses {
        let ia5 = e.as_str().try_into().map_err(|_| CtmError::invalid_param(format!("invalid email address {e:?}")))?;
        params.subject_alt_names.push(SanType::Rfc822Name(ia5));
    }
    let csr = params.serialize_request(&key).map_err(CtmError::internal)?;
    let csr_pem = csr.pem().map_err(CtmError::internal)?;
    Ok((http::StatusCode::CREATED, Json(serde_json::json!({ "csr": csr_pem, "key": key_pem }))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueRequest {
    csr: String,
    purpose: Option<String>,
    duration: Option<i64>,
    not_after: Option<String>,
    not_before: Option<String>,
    name: Option<String>,
}

fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, CtmError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| CtmError::invalid_param(format!("{field} must be an RFC 3339 time")))
}

async fn issue_cert(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmBody(body): CtmBody,
) -> Result<Response, CtmError> {
    let ca = ca_of(&ctm, &id)?;
    let req: IssueRequest = util::parse_json(&body)?;
    let purpose = req.purpose.as_deref().unwrap_or("server").to_string();
    let mut csr = CertificateSigningRequestParams::from_pem(req.csr.trim())
        .map_err(|e| CtmError::invalid_param(format!("Invalid CSR: {e}")))?;
    // rcgen applies no policy: everything that matters is decided here, not by the CSR.
    let p = &mut csr.params;
    match purpose.as_str() {
        "server" => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        "client" => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        "ca" => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![];
        }
        other => return Err(CtmError::invalid_param(format!("purpose must be server, client or ca, not {other:?}"))),
    }
    p.custom_extensions.clear();
    p.serial_number = Some(random_serial());
    p.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    p.not_before = match &req.not_before {
        Some(s) => parse_time("notBefore", s)?,
        None => now - time::Duration::minutes(5),
    };
    p.not_after = match (&req.not_after, req.duration) {
        (Some(s), _) => parse_time("notAfter", s)?,
        (None, Some(d)) if (1..=36500).contains(&d) => now + time::Duration::days(d),
        (None, Some(_)) => return Err(CtmError::invalid_param("duration must be between 1 and 36500 days")),
        (None, None) => now + time::Duration::days(365),
    };
    if p.not_after <= p.not_before {
        return Err(CtmError::invalid_param("notAfter must be later than notBefore"));
    }
    let cert = csr.signed_by(&ca.issuer).map_err(|e| CtmError::invalid_param(format!("Cannot sign CSR: {e}")))?;
    let info = cert_info(cert.der()).map_err(CtmError::internal)?;
    let cid = hyok_core::ids::uuid();
    let view = IssuedView {
        name: req.name.filter(|n| !n.is_empty()).unwrap_or_else(|| format!("cert-{cid}")),
        meta: util::Meta::new(cid.clone(), format!("kylo:kylo:naboo:localca:{}:certs:{cid}", ca.view.meta.id)),
        ca: ca.view.meta.uri.clone(),
        purpose,
        state: "active",
        revoked_reason: None,
        revoked_at: None,
        cert: cert.pem(),
        info,
    };
    ctm.ca.issued.write().push(view.clone());
    Ok((http::StatusCode::CREATED, Json(view)).into_response())
}

async fn list_certs(
    State(ctm): State<Arc<Ctm>>,
    CtmPath(id): CtmPath<String>,
    CtmQuery(q): CtmQuery,
) -> Result<Json<serde_json::Value>, CtmError> {
    let ca = ca_of(&ctm, &id)?;
    let paging = util::paging_of(&q)?;
    let mut items: Vec<IssuedView> =
        ctm.ca.issued.read().iter().filter(|c| c.ca == ca.view.meta.uri).cloned().collect();
    if let Some(s) = q.get("state") {
        items.retain(|c| c.state == s);
    }
    if let Some(s) = q.get("subject") {
        items.retain(|c| c.info.subject.contains(s.as_str()));
    }
    Ok(util::page(items, &paging))
}

fn with_cert<T>(
    ctm: &Ctm,
    ca_id: &str,
    cert_id: &str,
    f: impl FnOnce(&mut IssuedView) -> Result<T, CtmError>,
) -> Result<T, CtmError> {
    let ca = ca_of(ctm, ca_id)?;
    let mut g = ctm.ca.issued.write();
    let c = g
        .iter_mut()
        .find(|c| c.ca == ca.view.meta.uri && c.meta.id == cert_id)
        .ok_or_else(|| CtmError::not_found("Resource not found"))?;
    f(c)
}

async fn get_cert(
    State(ctm): State<Arc<Ctm>>,
    CtmPath((id, cert)): CtmPath<(String, String)>,
) -> Result<Json<IssuedView>, CtmError> {
    with_cert(&ctm, &id, &cert, |c| Ok(Json(c.clone())))
}

async fn delete_cert(
    State(ctm): State<Arc<Ctm>>,
    CtmPath((id, cert)): CtmPath<(String, String)>,
) -> Result<http::StatusCode, CtmError> {
    let ca = ca_of(&ctm, &id)?;
    let mut g = ctm.ca.issued.write();
    let before = g.len();
    g.retain(|c| !(c.ca == ca.view.meta.uri && c.meta.id == cert));
    if g.len() == before {
        return Err(CtmError::not_found("Resource not found"));
    }
    Ok(http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RevokeRequest {
    reason: String,
}

async fn revoke_cert(
    State(ctm): State<Arc<Ctm>>,
    CtmPath((id, cert)): CtmPath<(String, String)>,
    CtmBody(body): CtmBody,
) -> Result<Json<IssuedView>, CtmError> {
    let req: RevokeRequest = util::parse_json(&body)?;
    if !REASONS.contains(&req.reason.as_str()) {
        return Err(CtmError::invalid_param(format!("reason must be one of {}", REASONS.join(", "))));
    }
    with_cert(&ctm, &id, &cert, |c| {
        if c.state == "revoked" {
            return Err(CtmError::conflict("Certificate is already revoked"));
        }
        c.state = "revoked";
        c.revoked_reason = Some(req.reason);
        let ts = util::now();
        c.revoked_at = Some(ts.clone());
        c.meta.updated_at = ts;
        Ok(Json(c.clone()))
    })
}

async fn resume_cert(
    State(ctm): State<Arc<Ctm>>,
    CtmPath((id, cert)): CtmPath<(String, String)>,
) -> Result<Json<IssuedView>, CtmError> {
    with_cert(&ctm, &id, &cert, |c| {
        if c.state != "revoked" || c.revoked_reason.as_deref() != Some("certificateHold") {
            return Err(CtmError::invalid_param(
                "Only certificates revoked with reason certificateHold can be resumed",
            ));
        }
        c.state = "active";
        c.revoked_reason = None;
        c.revoked_at = None;
        c.meta.updated_at = util::now();
        Ok(Json(c.clone()))
    })
}
