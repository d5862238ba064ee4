//! What the lab shows: every answer the grader read, kept as the APIs gave it. Serialisable, so
//! a check can be recorded once and graded again without a lab (the grader's tests do).

use super::cert::first_cert_der;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::Ipv4Addr;

/// An answer, or why there is none (the service refused, or is not running).
pub(super) type Fetched<T> = Result<T, String>;

/// Task 2's view: spoke A's resolver and a live lookup through it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DnsSeen {
    pub(super) attached: Vec<String>,
    pub(super) view_names: Vec<(String, String)>,
    pub(super) hub_view: Option<String>,
    pub(super) lookup: Fetched<Vec<Ipv4Addr>>,
}

/// Spoke A's private subnet and its security lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SubnetSeen {
    pub(super) subnet: Value,
    pub(super) security_lists: Vec<Value>,
}

/// Everything read from CipherTrust Manager.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CtmSeen {
    /// The local CA's certificate (PEM), as CTM lists it.
    pub(super) root_pem: String,
    pub(super) root_subject: String,
    pub(super) issued: Vec<Value>,
    pub(super) issuers: Vec<Value>,
    pub(super) tenancies: Vec<Value>,
    pub(super) vaults: Vec<Value>,
    pub(super) keys: Vec<Value>,
}

impl CtmSeen {
    /// The local CA's certificate (DER), to find it in a CA bundle.
    pub(super) fn root_der(&self) -> Vec<u8> {
        first_cert_der(&self.root_pem).unwrap_or_default()
    }
}

/// Task 8's apps (none, one or several with each name).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct AppsSeen {
    pub(super) resource: Vec<Value>,
    pub(super) client: Vec<Value>,
}

/// What reading the bucket's object gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ObjectRead {
    Readable { name: String, bytes: usize },
    Blocked { name: String, code: String, message: String },
    Failed { name: String, why: String },
}

/// Object Storage as seen for Tasks 17 and 18.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum StorageSeen {
    NotRunning,
    NoBucket,
    /// The bucket is listed, but its KMS key refuses (HTTP 409): its details are unavailable.
    Locked {
        code: String,
        message: String,
    },
    Seen {
        bucket: Value,
        objects: Vec<String>,
        read: Option<ObjectRead>,
    },
}

/// Everything the grader read from a lab, before any verdict: [`super::see`] gathers it,
/// [`super::grade`] turns it into verdicts without I/O. As JSON it is a recording of the
/// answers (`{"Ok": …}` or `{"Err": "why"}` per call), which `serde_json` reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Seen {
    pub(super) ctm_ip: String,
    pub(super) ctm_host: String,
    pub(super) domain_url: String,
    pub(super) tenancy: String,
    pub(super) dns: Fetched<DnsSeen>,
    pub(super) subnet: Fetched<Option<SubnetSeen>>,
    pub(super) ctm: Fetched<CtmSeen>,
    pub(super) bundles: Fetched<Vec<Value>>,
    pub(super) certificates: Fetched<Vec<Value>>,
    pub(super) gateways: Fetched<Vec<Value>>,
    pub(super) deployments: Fetched<Vec<Value>>,
    pub(super) apps: Fetched<AppsSeen>,
    pub(super) pes: Fetched<Vec<Value>>,
    pub(super) vaults: Fetched<Vec<Value>>,
    pub(super) oci_keys: Fetched<Vec<Value>>,
    pub(super) storage: Fetched<StorageSeen>,
}
