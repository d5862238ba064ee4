//! Zone records: PatchZoneRecords (ADD, REMOVE) and UpdateZoneRecords, validated item by item
//! against the zone, every error naming `items[i]`.

use crate::dns::{
    api::{DnsApi, dns_error},
    shapes::{RecordItems, ZoneSelector, record_hash},
};
use http::HeaderMap;
use hyok_dns::{
    DnsError, RecordData, ZoneInfo,
    model::{RecordOp, normalize_name, validate_record},
};
use hyok_oci_rest::{
    OciError,
    conventions::{OciResult, check_if_match},
};
use serde_json::Value;

impl DnsApi {
    /// PatchZoneRecords: `ADD` and `REMOVE` operations, applied all or nothing.
    pub fn patch_records(
        &self,
        name_or_id: &str,
        sel: &ZoneSelector,
        body: RecordItems,
        headers: &HeaderMap,
    ) -> OciResult<ZoneInfo> {
        let items = items_of(body)?;
        let _g = self.gate();
        let zone = self.find_zone(name_or_id, sel)?;
        check_if_match(headers, &Self::records_etag(&zone))?;
        let mut ops: Vec<(RecordOp, RecordData)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let f = |k: &str| item.get(k).filter(|v| !v.is_null());
            let op = match f("operation").and_then(Value::as_str) {
                None => return Err(OciError::missing_parameter(format!("items[{i}].operation is required"))),
                Some(o) if o.eq_ignore_ascii_case("ADD") => RecordOp::Add,
                Some(o) if o.eq_ignore_ascii_case("REMOVE") => RecordOp::Remove,
                Some(o) if o.eq_ignore_ascii_case("REQUIRE") || o.eq_ignore_ascii_case("PROHIBIT") => {
                    return Err(OciError::invalid_parameter(format!(
                        "items[{i}].operation {o} is not supported by the lab (ADD, REMOVE)"
                    )));
                }
                Some(o) => {
                    return Err(OciError::invalid_parameter(format!(
                        "items[{i}].operation {o:?} must be ADD, REMOVE, REQUIRE or PROHIBIT"
                    )));
                }
            };
            match op {
                RecordOp::Add => ops.push((RecordOp::Add, record_of(&zone, i, item)?)),
                RecordOp::Remove => {
                    let matched = matching_records(&zone, i, item)?;
                    ops.extend(matched.into_iter().map(|r| (RecordOp::Remove, r)));
                }
            }
        }
        let z = self.inner.dns.patch_records(&zone.id, &ops).map_err(dns_error)?;
        tracing::info!(zone = %z.name, operations = ops.len(), serial = z.serial, "zone records patched through the DNS API");
        Ok(z)
    }

    /// UpdateZoneRecords: replace every record.
    pub fn replace_records(
        &self,
        name_or_id: &str,
        sel: &ZoneSelector,
        body: RecordItems,
        headers: &HeaderMap,
    ) -> OciResult<ZoneInfo> {
        let items = items_of(body)?;
        let _g = self.gate();
        let zone = self.find_zone(name_or_id, sel)?;
        check_if_match(headers, &Self::records_etag(&zone))?;
        let records = items.iter().enumerate().map(|(i, it)| record_of(&zone, i, it)).collect::<OciResult<Vec<_>>>()?;
        let z = self.inner.dns.replace_records(&zone.id, &records).map_err(dns_error)?;
        tracing::info!(zone = %z.name, records = records.len(), "zone records replaced through the DNS API");
        Ok(z)
    }
}

fn items_of(body: RecordItems) -> OciResult<Vec<Value>> {
    match body.items {
        None | Some(Value::Null) => Err(OciError::missing_parameter("items is required")),
        Some(Value::Array(a)) => {
            if let Some(i) = a.iter().position(|v| !v.is_object()) {
                return Err(OciError::invalid_parameter(format!("items[{i}] must be an object")));
            }
            Ok(a)
        }
        Some(_) => Err(OciError::invalid_parameter("items must be an array")),
    }
}

fn str_field<'a>(item: &'a Value, i: usize, key: &str) -> OciResult<Option<&'a str>> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(OciError::invalid_parameter(format!("items[{i}].{key} must be a string"))),
    }
}

/// A full record from an ADD operation or a PUT item, validated against the zone.
fn record_of(zone: &ZoneInfo, i: usize, item: &Value) -> OciResult<RecordData> {
    let need = |k: &str| -> OciResult<&str> {
        str_field(item, i, k)?.ok_or_else(|| OciError::missing_parameter(format!("items[{i}].{k} is required")))
    };
    let domain = need("domain")?;
    let rtype = need("rtype")?;
    let rdata = need("rdata")?;
    let ttl = match item.get("ttl") {
        None | Some(Value::Null) => return Err(OciError::missing_parameter(format!("items[{i}].ttl is required"))),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| OciError::invalid_parameter(format!("items[{i}].ttl must be a non-negative integer")))?,
    };
    normalize_name(domain).map_err(|e| OciError::invalid_parameter(format!("items[{i}].domain: {e}")))?;
    let r = RecordData { domain: domain.into(), rtype: rtype.into(), rdata: rdata.into(), ttl };
    validate_record(&zone.name, &r).map_err(|e| match e {
        // The domain was checked above, so a bad name here is CNAME rdata.
        DnsError::InvalidName(..) => OciError::invalid_parameter(format!("items[{i}].rdata: {e}")),
        other => OciError::invalid_parameter(format!("items[{i}]: {other}")),
    })
}

/// The zone's records a REMOVE item names: by `recordHash`, or by `domain` plus optional
/// `rtype` and `rdata`.
fn matching_records(zone: &ZoneInfo, i: usize, item: &Value) -> OciResult<Vec<RecordData>> {
    if let Some(hash) = str_field(item, i, "recordHash")? {
        let hit: Vec<RecordData> = zone.records.iter().filter(|r| record_hash(r) == hash).cloned().collect();
        if hit.is_empty() {
            return Err(OciError::invalid_parameter(format!("items[{i}].recordHash {hash} matches no record")));
        }
        return Ok(hit);
    }
    let domain = str_field(item, i, "domain")?.ok_or_else(|| {
        OciError::missing_parameter(format!("items[{i}].domain or items[{i}].recordHash is required"))
    })?;
    let domain = normalize_name(domain).map_err(|e| OciError::invalid_parameter(format!("items[{i}].domain: {e}")))?;
    let rtype = str_field(item, i, "rtype")?.map(str::to_ascii_uppercase);
    let rdata = match (str_field(item, i, "rdata")?, &rtype) {
        (None, _) => None,
        // Normalise the data the way stored records were (CNAME targets get a trailing dot).
        (Some(d), Some(t)) => Some(
            validate_record(
                &zone.name,
                &RecordData { domain: domain.clone(), rtype: t.clone(), rdata: d.into(), ttl: 0 },
            )
            .map(|r| r.rdata)
            .unwrap_or_else(|_| d.to_string()),
        ),
        (Some(d), None) => Some(d.to_string()),
    };
    Ok(zone
        .records
        .iter()
        .filter(|r| {
            r.domain == domain
                && rtype.as_deref().is_none_or(|t| t == r.rtype)
                && rdata.as_deref().is_none_or(|d| d == r.rdata)
        })
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> ZoneInfo {
        ZoneInfo {
            id: "z".into(),
            name: "oci-thales.lab".into(),
            view_id: "v".into(),
            compartment_id: "c".into(),
            serial: 3,
            time_created: "2026-01-05T09:03:07Z".into(),
            records: vec![
                RecordData { domain: "a.oci-thales.lab".into(), rtype: "A".into(), rdata: "10.0.0.1".into(), ttl: 30 },
                RecordData { domain: "a.oci-thales.lab".into(), rtype: "A".into(), rdata: "10.0.0.2".into(), ttl: 30 },
                RecordData {
                    domain: "gw.oci-thales.lab".into(),
                    rtype: "CNAME".into(),
                    rdata: "a.oci-thales.lab.".into(),
                    ttl: 30,
                },
            ],
        }
    }

    #[test]
    fn record_items_name_their_index_and_field() {
        let z = zone();
        let e = record_of(&z, 2, &serde_json::json!({"domain": "x.oci-thales.lab", "rtype": "A", "rdata": "1.2.3.4"}))
            .expect_err("no ttl");
        assert_eq!(e.message, "items[2].ttl is required");
        let e = record_of(&z, 0, &serde_json::json!({"domain": "x..lab", "rtype": "A", "rdata": "1.2.3.4", "ttl": 1}))
            .expect_err("bad domain");
        assert!(e.message.starts_with("items[0].domain"), "{}", e.message);
        let e = record_of(
            &z,
            1,
            &serde_json::json!({"domain": "x.oci-thales.lab", "rtype": "A", "rdata": "1.2.3", "ttl": 1}),
        )
        .expect_err("bad rdata");
        assert!(e.message.starts_with("items[1]: invalid record: rdata"), "{}", e.message);
        let e = record_of(
            &z,
            0,
            &serde_json::json!({"domain": "x.oci-thales.lab", "rtype": "CNAME", "rdata": "bad..x", "ttl": 1}),
        )
        .expect_err("bad cname");
        assert!(e.message.starts_with("items[0].rdata"), "{}", e.message);
    }

    #[test]
    fn remove_matches_by_fields_or_hash() {
        let z = zone();
        let all = matching_records(&z, 0, &serde_json::json!({"domain": "A.oci-thales.lab."})).expect("match");
        assert_eq!(all.len(), 2);
        let one = matching_records(
            &z,
            0,
            &serde_json::json!({"domain": "a.oci-thales.lab", "rtype": "a", "rdata": "10.0.0.2"}),
        )
        .expect("match");
        assert_eq!(one.len(), 1);
        let cname = matching_records(
            &z,
            0,
            &serde_json::json!({"domain": "gw.oci-thales.lab", "rtype": "CNAME", "rdata": "a.oci-thales.lab"}),
        )
        .expect("match");
        assert_eq!(cname.len(), 1, "CNAME data is compared normalised");
        let h = record_hash(&z.records[0]);
        assert_eq!(matching_records(&z, 0, &serde_json::json!({"recordHash": h})).expect("hash").len(), 1);
        assert!(matching_records(&z, 0, &serde_json::json!({"recordHash": "00"})).is_err());
    }
}
