//! `hyok-lab trace`: the hop-by-hop path of a request, for the projector.

use hyok_core::{HopEvent, Outcome};
use std::path::{Path, PathBuf};

/// The service containers of the compose topology that keep their own hop files.
pub const CONTAINER_ROLES: [&str; 4] = ["identity", "ctm", "api-gateway", "dns"];
/// How much of each container's event file is read per query.
const EVENTS_TAIL_BYTES: u64 = 8 * 1024 * 1024;

/// Where the service container `role` appends its hop events in a shared lab dir.
pub fn container_events_file(lab_dir: &Path, role: &str) -> PathBuf {
    lab_dir.join("compose").join(format!("events-{role}.jsonl"))
}

/// Hop events the service containers recorded (all of `request_id`, or all recent ones).
pub fn container_hops(lab_dir: &Path, request_id: Option<&str>) -> Vec<HopEvent> {
    let mut hops = Vec::new();
    for role in CONTAINER_ROLES {
        let Ok(events) = hyok_core::events::read_jsonl_tail(&container_events_file(lab_dir, role), EVENTS_TAIL_BYTES)
        else {
            continue;
        };
        hops.extend(events.into_iter().filter(|e| request_id.is_none_or(|id| e.request_id == id)));
    }
    hops
}

/// Fetch the hops of `request_id` (or of the most recent request when `None`) from a running
/// lab, or from `events.jsonl` when the lab is down.
pub async fn load(lab_dir: &Path, request_id: Option<&str>) -> Result<Vec<HopEvent>, String> {
    let all = match crate::LabInfo::load(lab_dir) {
        Ok(info) => fetch(&info, request_id).await?,
        Err(_) => {
            let mut all = hyok_core::events::read_jsonl(&lab_dir.join("events.jsonl"))
                .map_err(|e| format!("no running lab and no events.jsonl in {}: {e}", lab_dir.display()))?;
            // A compose topology's other containers kept their own hops.
            all.extend(container_hops(lab_dir, request_id));
            all
        }
    };
    Ok(select(all, request_id))
}

async fn fetch(info: &crate::LabInfo, request_id: Option<&str>) -> Result<Vec<HopEvent>, String> {
    let client = info.host_client()?;
    let url = match request_id {
        Some(id) => format!("{}/events?request_id={}", info.admin.url, hyok_core::url::encode_component(id)),
        None => format!("{}/events?last=2000", info.admin.url),
    };
    let auth = format!("Bearer {}", info.admin.token);
    let (status, v) = client.get_json(&url, &[("authorization", auth.as_str())]).await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("the lab's admin endpoint answered {status}"));
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// The hops of one request; with no id, those of the most recent request that has an id.
pub fn select(all: Vec<HopEvent>, request_id: Option<&str>) -> Vec<HopEvent> {
    let id = match request_id {
        Some(id) => id.to_string(),
        None => match all.iter().rev().find(|e| !e.request_id.is_empty()) {
            Some(e) => e.request_id.clone(),
            None => return Vec::new(),
        },
    };
    let mut hops: Vec<HopEvent> = all.into_iter().filter(|e| e.request_id == id).collect();
    hops.sort_by_key(|e| e.ts_ms);
    hops
}

/// Render hops as the text a trainer shows.
pub fn render(hops: &[HopEvent]) -> String {
    let Some(first) = hops.first() else {
        return "no hops recorded for that request\n".into();
    };
    let mut out = format!("request {}\n", first.request_id);
    for (i, h) in hops.iter().enumerate() {
        let mark = match h.outcome {
            Outcome::Ok => "✓",
            _ => "✗",
        };
        let status = h.status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| format!("{:?}", h.outcome).to_lowercase());
        out.push_str(&format!(
            "{:>2}. {mark} {}\n      from {}\n      to   {}\n      {}  {:.1} ms  {}\n",
            i + 1,
            h.hop,
            h.source,
            h.destination,
            status,
            h.duration_us as f64 / 1000.0,
            h.reason
        ));
        if let Some(d) = &h.decided_by {
            out.push_str(&format!("      decided by: {d}\n"));
        }
    }
    // Outer hops fail because an inner one did; the inner one started last.
    if let Some(fail) = hops.iter().rev().find(|h| h.outcome != Outcome::Ok) {
        // A peer's answer speaks for itself; a refusal by the network is best told by its rule.
        let why = match (fail.outcome, &fail.decided_by) {
            (Outcome::Error, _) | (_, None) => fail.reason.as_str(),
            (_, Some(rule)) => rule.as_str(),
        };
        out.push_str(&format!("\nwhere it failed: {} — {why}\n", fail.hop));
    }
    out
}
