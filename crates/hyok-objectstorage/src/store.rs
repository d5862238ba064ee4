//! On-disk state of buckets and objects, with an in-memory index.
//!
//! Layout under the data dir:
//! `buckets/<h(bucket)>/bucket.json`, `buckets/<h(bucket)>/objects/<h(object)>.json` (the
//! object's metadata sidecar) and `buckets/<h(bucket)>/objects/<uuid>.data` (its ciphertext);
//! `tmp/` holds uploads in progress. `h` is SHA-256 hex, so any name maps to a safe file name.
//!
//! Invariants: a sidecar always names a complete ciphertext file (data is renamed into place
//! before its sidecar); files only ever hold ciphertext; index and disk change under one lock.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::Write as _,
    path::{Path, PathBuf},
};

/// A bucket as stored (and, in camelCase, as most of the OCI `Bucket` resource).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketRecord {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub compartment_id: String,
    pub created_by: String,
    pub time_created: String,
    pub etag: String,
    pub kms_key_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub public_access_type: String,
    pub storage_tier: String,
    pub object_events_enabled: bool,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: serde_json::Map<String, serde_json::Value>,
    pub versioning: String,
    pub auto_tiering: String,
}

/// How an object's data is encrypted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encryption {
    /// [`crate::crypto::SCHEME`].
    pub scheme: String,
    /// The bucket's KMS key when the object was written; `None` means Oracle-managed.
    pub kms_key_id: Option<String>,
    /// The key version KMS reported, if any.
    pub key_version_id: Option<String>,
    /// The data key as wrapped by KMS (or by the Oracle-managed master key).
    pub wrapped_dek: String,
}

/// An object's metadata sidecar.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRecord {
    pub name: String,
    pub data_file: String,
    pub size: u64,
    /// base64 MD5 of the plaintext.
    pub md5: String,
    pub etag: String,
    pub time_created: String,
    /// Milliseconds since the epoch of the last write.
    pub modified_ms: i64,
    pub content_type: String,
    /// Other standard headers stored with the object (content-language, cache-control, ...).
    pub headers: BTreeMap<String, String>,
    /// `opc-meta-*` headers, names lower-case and complete.
    pub metadata: BTreeMap<String, String>,
    pub encryption: Encryption,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("bucket exists")]
    BucketExists,
    #[error("bucket not found")]
    BucketNotFound,
    #[error("object not found")]
    ObjectNotFound,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

struct BucketState {
    record: BucketRecord,
    dir: PathBuf,
    objects: BTreeMap<String, ObjectRecord>,
    bytes: u64,
}

/// The bucket and object store.
pub struct Store {
    root: PathBuf,
    state: Mutex<HashMap<String, BucketState>>,
}

fn h(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> StoreError {
    let what = what.to_string();
    move |e| StoreError::Io(what, e)
}

impl Store {
    /// Open (or create) the store under `root`, dropping unfinished uploads and orphans.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let tmp = root.join("tmp");
        let buckets = root.join("buckets");
        for d in [&tmp, &buckets] {
            std::fs::create_dir_all(d).map_err(io(d.display()))?;
        }
        for e in std::fs::read_dir(&tmp).map_err(io(tmp.display()))?.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
        let mut state = HashMap::new();
        for e in std::fs::read_dir(&buckets).map_err(io(buckets.display()))?.flatten() {
            let dir = e.path();
            let Some(record) = read_json::<BucketRecord>(&dir.join("bucket.json")) else {
                tracing::warn!(dir = %dir.display(), "skipping a bucket directory without a readable bucket.json");
                continue;
            };
            let objects_dir = dir.join("objects");
            let mut objects = BTreeMap::new();
            let mut referenced = HashSet::new();
            let mut data_files = vec![];
            if let Ok(rd) = std::fs::read_dir(&objects_dir) {
                for f in rd.flatten() {
                    let p = f.path();
                    match p.extension().and_then(|x| x.to_str()) {
                        Some("json") => {
                            if let Some(o) = read_json::<ObjectRecord>(&p) {
                                if objects_dir.join(&o.data_file).is_file() {
                                    referenced.insert(o.data_file.clone());
                                    objects.insert(o.name.clone(), o);
                                } else {
                                    tracing::warn!(sidecar = %p.display(), "object data file missing; object dropped");
                                }
                            }
                        }
                        Some("data") => data_files.push(p),
                        _ => {}
                    }
                }
            }
            for p in data_files {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                if !referenced.contains(&name) {
                    let _ = std::fs::remove_file(&p);
                }
            }
            let bytes = objects.values().map(|o| o.size).sum();
            state.insert(record.name.clone(), BucketState { record, dir, objects, bytes });
        }
        Ok(Self { root: root.to_path_buf(), state: Mutex::new(state) })
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<String, BucketState>> {
        self.state.lock()
    }

    /// A fresh path for an upload in progress.
    pub fn tmp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!("{}.part", uuid::Uuid::new_v4()))
    }

    fn write_json<T: Serialize>(&self, target: &Path, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Io(e.to_string(), e.into()))?;
        let tmp = self.root.join("tmp").join(format!("{}.json", uuid::Uuid::new_v4()));
        let mut f = std::fs::File::create(&tmp).map_err(io(tmp.display()))?;
        f.write_all(&bytes).map_err(io(tmp.display()))?;
        drop(f);
        std::fs::rename(&tmp, target).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            StoreError::Io(target.display().to_string(), e)
        })
    }

    /// Whether a bucket of that name exists.
    pub fn has_bucket(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// Create a bucket.
    pub fn create_bucket(&self, record: BucketRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.contains_key(&record.name) {
            return Err(StoreError::BucketExists);
        }
        let dir = self.root.join("buckets").join(&h(&record.name)[..32]);
        std::fs::create_dir_all(dir.join("objects")).map_err(io(dir.display()))?;
        self.write_json(&dir.join("bucket.json"), &record)?;
        state.insert(record.name.clone(), BucketState { record, dir, objects: BTreeMap::new(), bytes: 0 });
        Ok(())
    }

    /// A bucket with its object count and total size.
    pub fn bucket(&self, name: &str) -> Result<(BucketRecord, u64, u64), StoreError> {
        let state = self.lock();
        let b = state.get(name).ok_or(StoreError::BucketNotFound)?;
        Ok((b.record.clone(), b.objects.len() as u64, b.bytes))
    }

    /// Buckets of a compartment, by name.
    pub fn list_buckets(&self, compartment_id: &str) -> Vec<BucketRecord> {
        let mut v: Vec<BucketRecord> = self
            .lock()
            .values()
            .filter(|b| b.record.compartment_id == compartment_id)
            .map(|b| b.record.clone())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Delete an empty bucket.
    pub fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state.get(name).ok_or(StoreError::BucketNotFound)?;
        if !b.objects.is_empty() {
            return Err(StoreError::BucketNotEmpty);
        }
        let dir = b.dir.clone();
        std::fs::remove_dir_all(&dir).map_err(io(dir.display()))?;
        state.remove(name);
        Ok(())
    }

    /// An object's metadata.
    pub fn object(&self, bucket: &str, name: &str) -> Result<ObjectRecord, StoreError> {
        let state = self.lock();
        let b = state.get(bucket).ok_or(StoreError::BucketNotFound)?;
        b.objects.get(name).cloned().ok_or(StoreError::ObjectNotFound)
    }

    /// An object's metadata and its ciphertext file, opened under the lock so a concurrent
    /// overwrite or delete cannot remove the file in between.
    pub fn open_object(&self, bucket: &str, name: &str) -> Result<(ObjectRecord, std::fs::File), StoreError> {
        let state = self.lock();
        let b = state.get(bucket).ok_or(StoreError::BucketNotFound)?;
        let o = b.objects.get(name).cloned().ok_or(StoreError::ObjectNotFound)?;
        let path = b.dir.join("objects").join(&o.data_file);
        let f = std::fs::File::open(&path).map_err(io(path.display()))?;
        Ok((o, f))
    }

    /// Make a finished upload (`tmp`, complete ciphertext) the object's current data.
    pub fn commit_object(&self, bucket: &str, mut record: ObjectRecord, tmp: &Path) -> Result<(), StoreError> {
        let mut state = self.lock();
        let b = state.get_mut(bucket).ok_or(StoreError::BucketNotFound)?;
        let objects_dir = b.dir.join("objects");
        record.data_file = format!("{}.data", uuid::Uuid::new_v4());
        let data = objects_dir.join(&record.data_file);
        std::fs::rename(tmp, &data).map_err(io(data.display()))?;
        if let Err(e) = self.write_json(&objects_dir.join(format!("{}.json", h(&record.name))), &record) {
            let _ = std::fs::remove_file(&data);
            return Err(e);
        }
        b.bytes += record.size;
        if let Some(old) = b.objects.insert(record.name.clone(), record) {
            b.bytes = b.bytes.saturating_sub(old.size);
            let _ = std::fs::remove_file(objects_dir.join(old.data_file));
        }
        Ok(())
    }

    /// Delete an object; returns what it was.
    pub fn delete_object(&self, bucket: &str, name: &str) -> Result<ObjectRecord, StoreError> {
        let mut state = self.lock();
        let b = state.get_mut(bucket).ok_or(StoreError::BucketNotFound)?;
        if !b.objects.contains_key(name) {
            return Err(StoreError::ObjectNotFound);
        }
        let objects_dir = b.dir.join("objects");
        let sidecar = objects_dir.join(format!("{}.json", h(name)));
        std::fs::remove_file(&sidecar).map_err(io(sidecar.display()))?;
        let old = b.objects.remove(name).ok_or(StoreError::ObjectNotFound)?;
        b.bytes = b.bytes.saturating_sub(old.size);
        let _ = std::fs::remove_file(objects_dir.join(&old.data_file));
        Ok(old)
    }

    /// Visit objects with names `>= start` in name order until `f` returns false.
    pub fn visit_objects(
        &self,
        bucket: &str,
        start: &str,
        mut f: impl FnMut(&ObjectRecord) -> bool,
    ) -> Result<(), StoreError> {
        let state = self.lock();
        let b = state.get(bucket).ok_or(StoreError::BucketNotFound)?;
        for (_, o) in b.objects.range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded)) {
            if !f(o) {
                break;
            }
        }
        Ok(())
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable metadata file");
            None
        }
    }
}
