//! How Object Storage reaches OCI KMS: the [`KmsClient`] trait, the real HTTPS client
//! [`HttpKmsClient`] that calls a vault's crypto endpoint with signed requests, and
//! [`InProcessKms`], a KMS with real AES-256-GCM key wrapping held in memory (for tests,
//! benchmarks and demos without a vault).
//!
//! Invariant: plaintext data keys are returned to the caller only; they are never logged and
//! never appear in a [`KmsFailure`].

use crate::{crypto, error::Error};
use axum::body::Body;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use http::StatusCode;
use hyok_core::{
    EventLog,
    client::{BoxFuture, Dial, HopName, HttpClient},
};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

/// Name of the hop from Object Storage to a vault's crypto endpoint, as `trace` shows it.
pub const HOP: &str = "Object Storage → KMS crypto";
/// KMS API version prefix.
pub const API_PREFIX: &str = "/20180608";

/// A fresh data encryption key: the plaintext for immediate use and the KMS-wrapped form to store.
#[derive(Clone)]
pub struct DataKey {
    /// The AES-256 key.
    pub plaintext: [u8; 32],
    /// KMS ciphertext of the key, opaque to Object Storage.
    pub wrapped: String,
    /// The key version that wrapped it, when KMS says.
    pub key_version_id: Option<String>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("key_version_id", &self.key_version_id).finish_non_exhaustive()
    }
}

/// Why KMS could not serve a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KmsFailure {
    /// The key is disabled, or its external key is blocked (KMS answered 409 or 403).
    #[error("KMS key {key_id} is disabled or blocked: {detail}")]
    KeyDisabled {
        /// Key OCID.
        key_id: String,
        /// What KMS said.
        detail: String,
    },
    /// The key does not exist or Object Storage may not use it (KMS answered 404/401/400).
    #[error("KMS key {key_id} was not found or is not authorized: {detail}")]
    KeyNotFound {
        /// Key OCID.
        key_id: String,
        /// What KMS said.
        detail: String,
    },
    /// KMS or the key manager behind it did not answer usefully (5xx, 429, network failure).
    #[error("the key manager is unreachable: {detail}")]
    Unreachable {
        /// What failed.
        detail: String,
    },
    /// KMS refused the wrapped key as ciphertext.
    #[error("KMS could not decrypt the wrapped data key: {detail}")]
    BadCiphertext {
        /// What KMS said.
        detail: String,
    },
}

/// Object Storage's view of KMS. Object-safe so the lab can pass `Arc<dyn KmsClient>`.
pub trait KmsClient: Send + Sync + 'static {
    /// A new AES-256 data key under `key_id` (KMS `generateDataEncryptionKey` with the plaintext).
    fn generate_data_encryption_key<'a>(
        &'a self,
        key_id: &'a str,
        request_id: &'a str,
    ) -> BoxFuture<'a, Result<DataKey, KmsFailure>>;

    /// Unwrap a data key wrapped by [`KmsClient::generate_data_encryption_key`] (KMS `decrypt`).
    fn decrypt<'a>(
        &'a self,
        key_id: &'a str,
        wrapped: &'a str,
        request_id: &'a str,
    ) -> BoxFuture<'a, Result<[u8; 32], KmsFailure>>;

    /// Check that `key_id` is usable now (a crypto operation through the key's key manager).
    fn check_key<'a>(&'a self, key_id: &'a str, request_id: &'a str) -> BoxFuture<'a, Result<(), KmsFailure>>;
}

/// Calls a vault's crypto endpoint over HTTPS, signing each request with Object Storage's
/// service API key, and records one hop event per call.
#[derive(Clone)]
pub struct HttpKmsClient {
    http: HttpClient,
    events: EventLog,
    api_key: hyok_oci_rest::ApiKey,
    signing_key_id: String,
}

impl std::fmt::Debug for HttpKmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpKmsClient").field("signing_key_id", &self.signing_key_id).finish_non_exhaustive()
    }
}

impl HttpKmsClient {
    /// A client that dials with `dial` (the lab's `host.dial_from(<Object Storage's address>)`),
    /// trusts the lab's public CA `public_ca_pem`, and signs with `api_key` as
    /// `signing_key_id` (`<tenancy>/<service user>/<fingerprint>`). Hops are recorded in `events`
    /// with source `objectstorage`.
    pub fn new(
        dial: Arc<dyn Dial>,
        public_ca_pem: &str,
        api_key: hyok_oci_rest::ApiKey,
        signing_key_id: impl Into<String>,
        events: EventLog,
    ) -> Result<Self, Error> {
        let tls = hyok_core::tls::client_config(public_ca_pem).map_err(|e| Error::Tls(e.to_string()))?;
        let http = HttpClient::new(dial, tls)
            .with_connect_timeout(Duration::from_secs(3))
            .with_timeout(Duration::from_secs(20))
            .with_max_response(64 * 1024)
            .with_events(events.clone(), "objectstorage");
        Ok(Self { http, events, api_key, signing_key_id: signing_key_id.into() })
    }

    /// Name the source of recorded hops (e.g. `objectstorage@134.70.24.1`).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.http = self.http.clone().with_events(self.events.clone(), source);
        self
    }

    /// Overall timeout per KMS call (default 20 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.clone().with_timeout(timeout);
        self
    }

    async fn call(&self, op: &str, key_id: &str, body: Value, request_id: &str) -> Result<Value, KmsFailure> {
        // The key OCID names its vault, and so the crypto endpoint to call.
        let endpoint =
            hyok_core::ids::kms_vault_endpoints(key_id).map(|e| e.crypto).ok_or_else(|| KmsFailure::KeyNotFound {
                key_id: key_id.to_string(),
                detail: "kmsKeyId is not a key OCID with a vault crypto endpoint".into(),
            })?;
        let bytes = serde_json::to_vec(&body).map_err(|e| KmsFailure::Unreachable { detail: e.to_string() })?;
        let mut req = http::Request::post(format!("{endpoint}{API_PREFIX}/{op}"))
            .header(hyok_core::request_id::HEADER, request_id)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(bytes))
            .map_err(|e| KmsFailure::Unreachable { detail: format!("cannot build the KMS request: {e}") })?;
        hyok_oci_rest::sign_request(&mut req, self.api_key.private_key(), &self.signing_key_id)
            .map_err(|e| KmsFailure::Unreachable { detail: format!("cannot sign the KMS request: {e}") })?;
        let mut req = req.map(Body::from);
        req.extensions_mut().insert(HopName(HOP.to_string()));
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| KmsFailure::Unreachable { detail: format!("{op} at {endpoint} failed: {e}") })?;
        let status = resp.status();
        let json: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let detail = format!(
            "KMS {op} answered {} {}: {}",
            status.as_u16(),
            json["code"].as_str().unwrap_or("?"),
            json["message"].as_str().unwrap_or("")
        );
        let key_id = key_id.to_string();
        Err(match status {
            StatusCode::CONFLICT | StatusCode::FORBIDDEN => KmsFailure::KeyDisabled { key_id, detail },
            StatusCode::BAD_REQUEST if op == "decrypt" => KmsFailure::BadCiphertext { detail },
            StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => {
                KmsFailure::KeyNotFound { key_id, detail }
            }
            _ => KmsFailure::Unreachable { detail },
        })
    }
}

fn decode_key(b64: Option<&str>, what: &str) -> Result<[u8; 32], KmsFailure> {
    let bad = || KmsFailure::Unreachable { detail: format!("KMS answered without a valid 32-byte {what}") };
    let raw = B64.decode(b64.ok_or_else(bad)?.as_bytes()).map_err(|_| bad())?;
    raw.as_slice().try_into().map_err(|_| bad())
}

impl KmsClient for HttpKmsClient {
    fn generate_data_encryption_key<'a>(
        &'a self,
        key_id: &'a str,
        request_id: &'a str,
    ) -> BoxFuture<'a, Result<DataKey, KmsFailure>> {
        Box::pin(async move {
            let body =
                json!({"keyId": key_id, "keyShape": {"algorithm": "AES", "length": 32}, "includePlaintextKey": true});
            let v = self.call("generateDataEncryptionKey", key_id, body, request_id).await?;
            let plaintext = decode_key(v["plaintext"].as_str(), "plaintext key")?;
            let wrapped = v["ciphertext"]
                .as_str()
                .filter(|c| !c.is_empty() && c.len() <= 16 * 1024)
                .ok_or_else(|| KmsFailure::Unreachable { detail: "KMS answered without a ciphertext".into() })?
                .to_string();
            let key_version_id = v["keyVersionId"].as_str().map(str::to_string);
            Ok(DataKey { plaintext, wrapped, key_version_id })
        })
    }

    fn decrypt<'a>(
        &'a self,
        key_id: &'a str,
        wrapped: &'a str,
        request_id: &'a str,
    ) -> BoxFuture<'a, Result<[u8; 32], KmsFailure>> {
        Box::pin(async move {
            let v = self.call("decrypt", key_id, json!({"keyId": key_id, "ciphertext": wrapped}), request_id).await?;
            decode_key(v["plaintext"].as_str(), "plaintext key")
        })
    }

    fn check_key<'a>(&'a self, key_id: &'a str, request_id: &'a str) -> BoxFuture<'a, Result<(), KmsFailure>> {
        Box::pin(async move {
            // A data key without its plaintext: exercises the key (and its external key manager)
            // without handing any key material to Object Storage.
            let body =
                json!({"keyId": key_id, "keyShape": {"algorithm": "AES", "length": 32}, "includePlaintextKey": false});
            self.call("generateDataEncryptionKey", key_id, body, request_id).await.map(|_| ())
        })
    }
}

struct LocalKey {
    kek: [u8; 32],
    version_id: String,
    blocked: bool,
}

/// A KMS held in memory: each key is a random AES-256 key-encryption key, data keys are wrapped
/// with AES-256-GCM (the key OCID bound as associated data). Keys can be blocked and the whole
/// KMS made unreachable, to model tutorial Task 18 without a key manager.
#[derive(Default)]
pub struct InProcessKms {
    keys: Mutex<HashMap<String, LocalKey>>,
    unreachable: AtomicBool,
    generate_calls: AtomicU64,
    decrypt_calls: AtomicU64,
}

impl std::fmt::Debug for InProcessKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessKms").finish_non_exhaustive()
    }
}

/// A key OCID in the shape OCI uses, with a vault endpoint prefix.
pub fn new_key_ocid(vault_prefix: &str) -> String {
    format!("ocid1.key.oc1.{}.{vault_prefix}.aaaaaaaa{}", hyok_core::ids::REGION, hyok_core::ids::hex32())
}

impl InProcessKms {
    /// An empty KMS.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<String, LocalKey>> {
        self.keys.lock()
    }

    /// Create an enabled AES-256 key; returns its OCID.
    pub fn create_key(&self) -> String {
        let prefix = format!("b{}", &hyok_core::ids::hex32()[..12]);
        let id = new_key_ocid(&prefix);
        let version_id =
            format!("ocid1.keyversion.oc1.{}.{prefix}.aaaaaaaa{}", hyok_core::ids::REGION, hyok_core::ids::hex32());
        self.lock().insert(id.clone(), LocalKey { kek: crypto::random_key(), version_id, blocked: false });
        id
    }

    /// Block or unblock a key; false if there is no such key. Takes effect for every call
    /// that starts after this returns.
    pub fn set_blocked(&self, key_id: &str, blocked: bool) -> bool {
        match self.lock().get_mut(key_id) {
            Some(k) => {
                k.blocked = blocked;
                true
            }
            None => false,
        }
    }

    /// Make every call fail as if the key manager could not be reached.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.store(unreachable, Ordering::SeqCst);
    }

    /// Number of `generateDataEncryptionKey` calls served or refused so far (including checks).
    pub fn generate_calls(&self) -> u64 {
        self.generate_calls.load(Ordering::SeqCst)
    }

    /// Number of `decrypt` calls served or refused so far.
    pub fn decrypt_calls(&self) -> u64 {
        self.decrypt_calls.load(Ordering::SeqCst)
    }

    /// Run `f` with the key's KEK if the key is usable now.
    fn with_key<T>(&self, key_id: &str, f: impl FnOnce(&LocalKey) -> Result<T, KmsFailure>) -> Result<T, KmsFailure> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(KmsFailure::Unreachable { detail: "the external key manager did not answer".into() });
        }
        let keys = self.lock();
        let k = keys.get(key_id).ok_or_else(|| KmsFailure::KeyNotFound {
            key_id: key_id.to_string(),
            detail: "no such key in this KMS".into(),
        })?;
        if k.blocked {
            return Err(KmsFailure::KeyDisabled {
                key_id: key_id.to_string(),
                detail: "the external key is blocked in its key manager".into(),
            });
        }
        f(k)
    }

    /// Synchronous `generateDataEncryptionKey`.
    pub fn generate_now(&self, key_id: &str) -> Result<DataKey, KmsFailure> {
        self.generate_calls.fetch_add(1, Ordering::SeqCst);
        self.with_key(key_id, |k| {
            let plaintext = crypto::random_key();
            let wrapped = crypto::wrap_key(&k.kek, &plaintext, key_id.as_bytes());
            Ok(DataKey { plaintext, wrapped, key_version_id: Some(k.version_id.clone()) })
        })
    }

    /// Synchronous `decrypt`.
    pub fn decrypt_now(&self, key_id: &str, wrapped: &str) -> Result<[u8; 32], KmsFailure> {
        self.decrypt_calls.fetch_add(1, Ordering::SeqCst);
        self.with_key(key_id, |k| {
            crypto::unwrap_key(&k.kek, wrapped, key_id.as_bytes()).ok_or_else(|| KmsFailure::BadCiphertext {
                detail: "the ciphertext does not decrypt under this key".into(),
            })
        })
    }
}

impl KmsClient for InProcessKms {
    fn generate_data_encryption_key<'a>(
        &'a self,
        key_id: &'a str,
        _request_id: &'a str,
    ) -> BoxFuture<'a, Result<DataKey, KmsFailure>> {
        Box::pin(async move { self.generate_now(key_id) })
    }

    fn decrypt<'a>(
        &'a self,
        key_id: &'a str,
        wrapped: &'a str,
        _request_id: &'a str,
    ) -> BoxFuture<'a, Result<[u8; 32], KmsFailure>> {
        Box::pin(async move { self.decrypt_now(key_id, wrapped) })
    }

    fn check_key<'a>(&'a self, key_id: &'a str, _request_id: &'a str) -> BoxFuture<'a, Result<(), KmsFailure>> {
        Box::pin(async move { self.generate_now(key_id).map(|_| ()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_key_ocids_name_a_vault() {
        let kms = InProcessKms::new();
        let key = kms.create_key();
        assert!(hyok_core::ids::kms_vault_endpoints(&key).is_some(), "{key}");
        assert!(hyok_core::ids::kms_vault_endpoints(&new_key_ocid("bunknownvault")).is_some());
    }

    #[test]
    fn in_process_kms_blocks_and_unblocks() {
        let kms = InProcessKms::new();
        let key = kms.create_key();
        assert!(hyok_core::ids::is_ocid(&key), "{key}");
        let dk = kms.generate_now(&key).expect("dek");
        assert_eq!(kms.decrypt_now(&key, &dk.wrapped).expect("decrypt"), dk.plaintext);
        assert!(kms.set_blocked(&key, true));
        assert!(matches!(kms.decrypt_now(&key, &dk.wrapped), Err(KmsFailure::KeyDisabled { .. })));
        kms.set_blocked(&key, false);
        assert!(matches!(kms.decrypt_now(&key, "AAAA"), Err(KmsFailure::BadCiphertext { .. })));
        let other = kms.create_key();
        assert!(matches!(kms.decrypt_now(&other, &dk.wrapped), Err(KmsFailure::BadCiphertext { .. })));
        kms.set_unreachable(true);
        assert!(matches!(kms.generate_now(&key), Err(KmsFailure::Unreachable { .. })));
        assert!(matches!(kms.generate_now("ocid1.key.oc1..x"), Err(KmsFailure::Unreachable { .. })));
        kms.set_unreachable(false);
        assert!(matches!(kms.generate_now("ocid1.key.oc1..x"), Err(KmsFailure::KeyNotFound { .. })));
    }
}
