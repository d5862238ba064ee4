//! `{{var}}` substitution and the small JSON path language of captures and checks.

use serde_json::Value;
use std::collections::BTreeMap;

/// Variables of a run.
pub type Vars = BTreeMap<String, Value>;

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replace every `{{name}}` in `s`; unknown names are an error naming them. A variable whose
/// value holds `{{…}}` itself is rendered when used, so knobs can name values captured later.
pub fn render(s: &str, vars: &Vars) -> Result<String, String> {
    render_depth(s, vars, 0)
}

fn render_depth(s: &str, vars: &Vars, depth: usize) -> Result<String, String> {
    if depth > 8 {
        return Err(format!("variables refer to each other in a loop around {s:?}"));
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after.find("}}").ok_or_else(|| format!("unclosed {{{{ in {s:?}"))?;
        let name = after[..j].trim();
        let v = vars.get(name).ok_or_else(|| format!("unknown variable {name:?} in {s:?}"))?;
        let text = as_text(v);
        if text.contains("{{") {
            out.push_str(&render_depth(&text, vars, depth + 1)?);
        } else {
            out.push_str(&text);
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Render a TOML value as JSON, templating strings; a string that is exactly `{{name}}` takes
/// the variable's JSON value (so numbers and objects keep their type).
pub fn render_value(v: &toml::Value, vars: &Vars) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => {
            let t = s.trim();
            if t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1 {
                let name = t[2..t.len() - 2].trim();
                match vars.get(name).ok_or_else(|| format!("unknown variable {name:?}"))? {
                    Value::String(inner) if inner.contains("{{") => {
                        render_value(&toml::Value::String(inner.clone()), vars)?
                    }
                    other => other.clone(),
                }
            } else {
                Value::String(render(s, vars)?)
            }
        }
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, vars)).collect::<Result<_, _>>()?),
        toml::Value::Table(t) => Value::Object(
            t.iter().map(|(k, x)| Ok((k.clone(), render_value(x, vars)?))).collect::<Result<_, String>>()?,
        ),
    })
}

/// Follow a path like `/items/[displayName=fra-spoke-a-vcn]/id` or `/data/0/name`.
pub fn select<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        cur = if let Some(filter) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let (k, want) = filter.split_once('=')?;
            cur.as_array()?.iter().find(|e| e.get(k).map(as_text).as_deref() == Some(want))?
        } else if let Ok(i) = seg.parse::<usize>() {
            cur.get(i)?
        } else {
            cur.get(seg)?
        };
    }
    Some(cur)
}

/// A variable's truthiness for `skip_if` / `only_if`.
pub fn truthy(vars: &Vars, name: &str) -> bool {
    match vars.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !(s.is_empty() || s == "false" || s == "0"),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_select() {
        let mut vars = Vars::new();
        vars.insert("ip".into(), Value::String("172.16.1.103".into()));
        vars.insert("port".into(), Value::from(443));
        assert_eq!(render("https://{{ip}}:{{port}}/", &vars).expect("render"), "https://172.16.1.103:443/");
        assert!(render("{{nope}}", &vars).expect_err("unknown").contains("nope"));
        let t: toml::Value = toml::from_str("a = \"{{port}}\"\nb = \"x{{port}}\"").expect("toml");
        let j = render_value(&t, &vars).expect("value");
        assert_eq!(j["a"], 443);
        assert_eq!(j["b"], "x443");
        let doc = serde_json::json!({"items": [{"displayName": "a", "id": 1}, {"displayName": "b", "id": 2}]});
        assert_eq!(select(&doc, "/items/[displayName=b]/id"), Some(&Value::from(2)));
        assert_eq!(select(&doc, "/items/0/displayName"), Some(&Value::from("a")));
        assert!(select(&doc, "/items/[displayName=c]/id").is_none());
    }
}
