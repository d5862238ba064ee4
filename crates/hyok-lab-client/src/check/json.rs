//! Reading OCI's and CTM's JSON answers: fields as text, lifecycle states, the likeliest item.

use serde_json::Value;

/// At most 300 characters of an answer, for a hint.
pub(super) fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `/a/b` of a JSON value as text ("" when absent or not a string).
pub(super) fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

pub(super) fn state(v: &Value) -> &str {
    text(v, "/lifecycleState")
}

pub(super) fn is_live(v: &Value) -> bool {
    !matches!(
        state(v),
        "DELETED" | "DELETING" | "TERMINATED" | "TERMINATING" | "SCHEDULING_DELETION" | "PENDING_DELETION"
    )
}

/// The resource a student most likely means: the tutorial's name, then a usable state, then
/// the newest.
pub(super) fn pick<'a>(items: &'a [Value], name_field: &str, name: &str) -> Option<&'a Value> {
    items.iter().max_by_key(|v| {
        (text(v, name_field) == name, matches!(state(v), "ACTIVE" | "ENABLED"), text(v, "/timeCreated").to_string())
    })
}
