//! Tasks 17 and 18: the bucket with the customer-managed key, and blocking the key.

use super::{chosen::Chosen, verdicts::Verdicts};
use crate::check::{
    json::{short, text},
    names::BUCKET,
    report::Status,
    seen::{ObjectRead, Seen, StorageSeen},
};
use serde_json::Value;

pub(super) fn task17_18(s: &Seen, c: &Chosen<'_>, v: &mut Verdicts) {
    let blocked_in_ctm = || {
        let vault_blocked = c.ctm_vault.and_then(|x| x.get("blocked")).and_then(Value::as_bool) == Some(true);
        let key_blocked =
            c.ctm_key.and_then(|k| k.pointer("/hyok_key_params/blocked")).and_then(Value::as_bool) == Some(true);
        (key_blocked, vault_blocked)
    };
    let what_blocks = || match blocked_in_ctm() {
        (_, true) => format!(
            "the external vault `{}` is blocked in CTM; unblock it (blocking the vault, not the key, is the misstep)",
            c.ctm_vault.map(|x| text(x, "/vault_name")).unwrap_or_default()
        ),
        _ => "the key is blocked; unblock it in CTM".to_string(),
    };
    let (bucket, objects, read) = match &s.storage {
        Ok(StorageSeen::Seen { bucket, objects, read }) => (bucket, objects, read),
        Ok(StorageSeen::NotRunning) => {
            v.not_done(17, "Object Storage is not running in this lab");
            return v.not_done(18, "Object Storage is not running in this lab");
        }
        Ok(StorageSeen::NoBucket) => {
            v.not_done(17, format!("no bucket {BUCKET}"));
            return v.not_done(18, format!("no bucket {BUCKET} yet (Task 17)"));
        }
        Ok(StorageSeen::Locked { code, message }) => {
            v.done(
                17,
                format!(
                    "bucket {BUCKET} is protected by a customer-managed key, which refuses right now (HTTP 409 {code})"
                ),
            );
            return v
                .not_done(18, format!("the bucket answered HTTP 409 {code}: {} ({})", what_blocks(), short(message)));
        }
        Err(e) => {
            v.not_done(17, format!("cannot read Object Storage: {e}"));
            return v.not_done(18, format!("cannot read Object Storage: {e}"));
        }
    };
    let kms = text(bucket, "/kmsKeyId");
    let mut hints = Vec::new();
    match c.oci_key {
        _ if kms.is_empty() => hints.push(format!(
            "bucket {BUCKET} has no kmsKeyId (Oracle-managed keys); expected the key reference OCI_Key_Reference"
        )),
        Some(k) if text(k, "/id") != kms => hints.push(format!(
            "bucket {BUCKET} has kmsKeyId {kms}; expected the key reference {} ({})",
            text(k, "/displayName"),
            text(k, "/id")
        )),
        _ => {}
    }
    v.judge(17, hints, format!("bucket {BUCKET} is encrypted with {kms}"));
    match read {
        None => {
            v.not_done(18, format!("bucket {BUCKET} is empty: upload a file, block the key in CTM, then unblock it"))
        }
        Some(ObjectRead::Readable { name, bytes }) => {
            let state = match blocked_in_ctm() {
                (false, false) => "the key is not blocked in CTM now".to_string(),
                (k, vb) => {
                    format!("CTM shows the key blocked={k}, vault blocked={vb}, yet the read succeeded (a cached key?)")
                }
            };
            v.done(
                18,
                format!(
                    "object {name:?} ({bytes} bytes, {} object(s) in the bucket) is readable; {state}",
                    objects.len()
                ),
            )
        }
        Some(ObjectRead::Blocked { name, code, message }) => {
            v.not_done(18, format!("reading {name:?} answered HTTP 409 {code}: {} ({})", what_blocks(), short(message)))
        }
        Some(ObjectRead::Failed { name, why }) => {
            v.push(18, Status::Wrong, vec![format!("reading object {name:?} failed: {why}")])
        }
    }
}
