//! The Object Storage service: its configuration, its store and how it gets and unwraps data
//! keys (through KMS, or the Oracle-managed master key).

use crate::{
    crypto,
    error::Error,
    kms::{DataKey, KmsClient, KmsFailure},
    store,
};
use hyok_core::Clock;
use parking_lot::Mutex;
use serde::Deserialize;
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

/// The Object Storage host in the lab's region.
pub const HOST: &str = "objectstorage.eu-frankfurt-1.oraclecloud.com";
/// Default largest object accepted by PutObject.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// Configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsConfig {
    /// The tenancy's Object Storage namespace (what `GET /n` answers).
    pub namespace: String,
    /// Where buckets and objects live (`<lab-dir>/objectstorage`).
    pub data_dir: PathBuf,
    /// The lab compartment (buckets may be created here or in the tenancy).
    pub compartment_id: String,
    /// The tenancy OCID (the root compartment).
    pub tenancy_id: String,
}

/// What Object Storage needs from the lab around it.
#[derive(Clone)]
pub struct OsDeps {
    /// How to reach KMS ([`crate::kms::HttpKmsClient`] in the lab).
    pub kms: Arc<dyn KmsClient>,
}

/// Opt-in memory of unwrapped data keys (off by default: with it, a blocked key keeps working
/// for cached objects until the entry expires).
struct DekCache {
    ttl: Duration,
    map: Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

const DEK_CACHE_MAX: usize = 10_000;

impl DekCache {
    fn get(&self, wrapped: &str, clock: &Clock) -> Option<[u8; 32]> {
        let map = self.map.lock();
        map.get(wrapped).filter(|(_, at)| clock.since(*at) < self.ttl).map(|(k, _)| *k)
    }

    fn put(&self, wrapped: &str, key: [u8; 32], clock: &Clock) {
        let mut map = self.map.lock();
        if map.len() >= DEK_CACHE_MAX {
            map.retain(|_, (_, at)| clock.since(*at) < self.ttl);
            if map.len() >= DEK_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(wrapped.to_string(), (key, clock.now()));
    }
}

/// The Object Storage service state.
pub struct ObjectStorage {
    config: OsConfig,
    pub(crate) kms: Arc<dyn KmsClient>,
    pub(crate) store: store::Store,
    oracle_key: [u8; 32],
    pub(crate) max_object_bytes: u64,
    pub(crate) segment_size: usize,
    dek_cache: Option<DekCache>,
    clock: Clock,
}

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage").field("namespace", &self.config.namespace).finish_non_exhaustive()
    }
}

const ORACLE_KEY_FILE: &str = "oracle-managed.key";
const ORACLE_AAD: &[u8] = b"hyok-objectstorage oracle-managed";

fn valid_namespace(ns: &str) -> bool {
    (1..=128).contains(&ns.len())
        && ns.as_bytes()[0].is_ascii_alphabetic()
        && ns.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl ObjectStorage {
    /// Open the service over `config.data_dir` (created if needed; existing buckets and objects
    /// are loaded, unfinished uploads removed).
    pub fn new(config: OsConfig, deps: OsDeps) -> Result<Self, Error> {
        if !valid_namespace(&config.namespace) {
            return Err(Error::Config(format!("namespace {:?} is not a valid namespace name", config.namespace)));
        }
        for (field, v) in [("compartment_id", &config.compartment_id), ("tenancy_id", &config.tenancy_id)] {
            if !hyok_core::ids::is_ocid(v) {
                return Err(Error::Config(format!("{field} {v:?} is not an OCID")));
            }
        }
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| Error::Store(format!("cannot create {}: {e}", config.data_dir.display())))?;
        let oracle_key = load_or_create_key(&config.data_dir.join(ORACLE_KEY_FILE))?;
        let store = store::Store::open(&config.data_dir).map_err(|e| Error::Store(e.to_string()))?;
        Ok(Self {
            config,
            kms: deps.kms,
            store,
            oracle_key,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
            segment_size: crypto::SEGMENT_SIZE,
            dek_cache: None,
            clock: Clock::system(),
        })
    }

    /// Time the data-key cache on `clock` (default the system clock; tests advance a manual one).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Largest object PutObject accepts (default 8 GiB); larger uploads get 413.
    pub fn with_max_object_bytes(mut self, max: u64) -> Self {
        self.max_object_bytes = max;
        self
    }

    /// Plaintext bytes per encrypted segment (default 64 KiB, at most 4 MiB).
    pub fn with_segment_size(mut self, bytes: usize) -> Self {
        self.segment_size = bytes.clamp(1, crypto::MAX_SEGMENT_SIZE);
        self
    }

    /// Opt in to remembering unwrapped data keys for `ttl`. Off by default: every read then
    /// unwraps through KMS, so a blocked key stops reads at once. With the cache, objects read
    /// within `ttl` stay readable after a block until their entry expires.
    pub fn with_dek_cache(mut self, ttl: Duration) -> Self {
        self.dek_cache = Some(DekCache { ttl, map: Mutex::new(HashMap::new()) });
        self
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    /// The configuration.
    pub fn config(&self) -> &OsConfig {
        &self.config
    }

    /// A new data key for a bucket: from KMS when the bucket has a key, otherwise wrapped by
    /// the Oracle-managed master key.
    pub(crate) async fn new_data_key(&self, kms_key_id: Option<&str>, request_id: &str) -> Result<DataKey, KmsFailure> {
        match kms_key_id {
            Some(k) => self.kms.generate_data_encryption_key(k, request_id).await,
            None => {
                let plaintext = crypto::random_key();
                let wrapped = crypto::wrap_key(&self.oracle_key, &plaintext, ORACLE_AAD);
                Ok(DataKey { plaintext, wrapped, key_version_id: None })
            }
        }
    }

    /// Unwrap an object's data key (through KMS unless cached by the opt-in cache).
    pub(crate) async fn unwrap_data_key(
        &self,
        enc: &store::Encryption,
        request_id: &str,
    ) -> Result<[u8; 32], KmsFailure> {
        let Some(key_id) = enc.kms_key_id.as_deref() else {
            return crypto::unwrap_key(&self.oracle_key, &enc.wrapped_dek, ORACLE_AAD).ok_or_else(|| {
                KmsFailure::BadCiphertext {
                    detail: "the Oracle-managed master key does not unwrap this data key".into(),
                }
            });
        };
        if let Some(k) = self.dek_cache.as_ref().and_then(|c| c.get(&enc.wrapped_dek, &self.clock)) {
            return Ok(k);
        }
        let k = self.kms.decrypt(key_id, &enc.wrapped_dek, request_id).await?;
        if let Some(c) = &self.dek_cache {
            c.put(&enc.wrapped_dek, k, &self.clock);
        }
        Ok(k)
    }
}

fn load_or_create_key(path: &std::path::Path) -> Result<[u8; 32], Error> {
    match std::fs::read(path) {
        Ok(bytes) => {
            bytes.as_slice().try_into().map_err(|_| Error::Store(format!("{} is not a 32-byte key", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = crypto::random_key();
            write_private(path, &key).map_err(|e| Error::Store(format!("cannot write {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(Error::Store(format!("cannot read {}: {e}", path.display()))),
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}
