//! The scenario file format (TOML).

use serde::Deserialize;
use std::collections::BTreeMap;

/// Errors in scenario files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The TOML does not parse or a field is wrong; the message has the line, column and field.
    #[error("scenario {file}: {source}")]
    Parse {
        /// File or scenario name.
        file: String,
        /// The TOML error with its position.
        source: toml::de::Error,
    },
    /// No such scenario.
    #[error("no scenario {name:?} ({reason}); shipped scenarios: {}", known.join(", "))]
    NotFound {
        /// Name asked for.
        name: String,
        /// Why it could not be read.
        reason: String,
        /// Shipped names.
        known: Vec<String>,
    },
    /// A semantic mistake (unknown auth kind, task numbers out of order).
    #[error("scenario {file}: task {task}, step {step:?}: {reason}")]
    Invalid {
        /// File.
        file: String,
        /// Task number.
        task: u32,
        /// Step name.
        step: String,
        /// What is wrong.
        reason: String,
    },
}

/// A scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (`oci-hyok-api-gateway`).
    pub name: String,
    /// One line shown in `scenario list`.
    pub title: String,
    /// Longer text.
    #[serde(default)]
    pub description: String,
    /// Another scenario whose tasks this one runs, with `vars` overriding its knobs.
    #[serde(default)]
    pub base: Option<String>,
    /// Variables (knobs); steps use them as `{{name}}`.
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
    /// For misconfiguration scenarios: where and how the run must fail.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Tasks in order.
    #[serde(default, rename = "task")]
    pub tasks: Vec<Task>,
}

/// The failure a misconfiguration scenario expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Task that must fail.
    pub task: u32,
    /// Texts the explanation must contain.
    #[serde(default)]
    pub contains: Vec<String>,
}

/// A task, numbered as in the tutorial.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Tutorial task number.
    pub number: u32,
    /// Tutorial task title.
    pub title: String,
    /// Steps in order.
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
}

/// One call on a lab API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the step does, in the tutorial's words.
    pub name: String,
    /// Skip the step when this variable is true.
    #[serde(default)]
    pub skip_if: Option<String>,
    /// Run the step only when this variable is true.
    #[serde(default)]
    pub only_if: Option<String>,
    /// A service of lab.json (`identity`, `ctm-ams`, `oci-iaas`, ...); the request goes to its lab URL.
    #[serde(default)]
    pub service: Option<String>,
    /// A full lab URL instead of `service` (e.g. a vault's management endpoint).
    #[serde(default)]
    pub url: Option<String>,
    /// HTTP method.
    #[serde(default = "get")]
    pub method: String,
    /// Path (with query) appended to the service URL.
    #[serde(default)]
    pub path: String,
    /// `none`, `oci` (signed with the lab user's API key), `basic:USER:PASS`, `bearer:TOKEN`.
    #[serde(default = "none")]
    pub auth: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body.
    #[serde(default)]
    pub json: Option<toml::Value>,
    /// Form body (`application/x-www-form-urlencoded`).
    #[serde(default)]
    pub form: Option<BTreeMap<String, String>>,
    /// Raw text body (e.g. an object's content), sent as `text/plain` unless headers say otherwise.
    #[serde(default)]
    pub body: Option<String>,
    /// The raw response body must equal this text.
    #[serde(default)]
    pub expect_body: Option<String>,
    /// Accepted statuses (default: any 2xx).
    #[serde(default)]
    pub status: Vec<u16>,
    /// Variables to capture from the JSON response: `var = "/json/path"`; a path segment
    /// `[field=value]` picks the first array element whose field equals value.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Poll until the resource settles.
    #[serde(default)]
    pub wait: Option<Wait>,
    /// Checks on the (final) response.
    #[serde(default)]
    pub check: Vec<Check>,
}

/// Poll a resource until a field reaches a value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Path to GET (default: the step's path); on the step's service or URL base.
    #[serde(default)]
    pub path: Option<String>,
    /// Field to watch (`/lifecycleState`).
    pub field: String,
    /// Value that ends the wait successfully.
    pub until: String,
    /// Values that end it with a failure (`FAILED`).
    #[serde(default)]
    pub fail_on: Vec<String>,
    /// Field explaining a failure (`/lifecycleDetails`).
    #[serde(default)]
    pub details: Option<String>,
    /// Patience in milliseconds (default 5000).
    #[serde(default = "five_seconds")]
    pub timeout_ms: u64,
}

/// A check on a response field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// JSON path.
    pub field: String,
    /// Must equal (as text).
    #[serde(default)]
    pub equals: Option<String>,
    /// Must contain (as text).
    #[serde(default)]
    pub contains: Option<String>,
    /// Must be absent.
    #[serde(default)]
    pub absent: bool,
}

/// Parsed `auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// OCI request signature with the lab user's key.
    Oci,
    /// HTTP Basic.
    Basic(String, String),
    /// Bearer token.
    Bearer(String),
}

impl Auth {
    /// Parse an auth string after templating.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "none" || s.is_empty() {
            return Ok(Auth::None);
        }
        if s == "oci" {
            return Ok(Auth::Oci);
        }
        if let Some(rest) = s.strip_prefix("basic:") {
            let (u, p) = rest.split_once(':').ok_or("basic auth is `basic:USER:PASSWORD`")?;
            return Ok(Auth::Basic(u.into(), p.into()));
        }
        if let Some(t) = s.strip_prefix("bearer:") {
            return Ok(Auth::Bearer(t.into()));
        }
        Err(format!("auth {s:?} is not none, oci, basic:USER:PASS or bearer:TOKEN"))
    }
}

fn get() -> String {
    "GET".into()
}
fn none() -> String {
    "none".into()
}
fn five_seconds() -> u64 {
    5000
}

impl Scenario {
    /// Parse and check a scenario file.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|source| ScenarioError::Parse { file: file.into(), source })?;
        let mut last = 0;
        for t in &s.tasks {
            if t.number <= last && last != 0 {
                return Err(ScenarioError::Invalid {
                    file: file.into(),
                    task: t.number,
                    step: String::new(),
                    reason: format!("tasks must be in increasing order (task {} after task {last})", t.number),
                });
            }
            last = t.number;
            for st in &t.steps {
                let invalid = |reason: String| ScenarioError::Invalid {
                    file: file.into(),
                    task: t.number,
                    step: st.name.clone(),
                    reason,
                };
                if st.service.is_none() == st.url.is_none() {
                    return Err(invalid("give exactly one of `service` and `url`".into()));
                }
                if !st.auth.contains("{{") {
                    Auth::parse(&st.auth).map_err(invalid)?;
                }
                if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&st.method.as_str()) {
                    return Err(invalid(format!("method {:?} is not an HTTP method", st.method)));
                }
                if [st.json.is_some(), st.form.is_some(), st.body.is_some()].iter().filter(|x| **x).count() > 1 {
                    return Err(invalid("give at most one of `json`, `form` and `body`".into()));
                }
            }
        }
        Ok(s)
    }

    /// This scenario's knobs and expectation over `base`'s tasks.
    pub fn on_top_of(self, base: Scenario) -> Scenario {
        let mut vars = base.vars;
        vars.extend(self.vars);
        Scenario {
            name: self.name,
            title: self.title,
            description: self.description,
            base: None,
            vars,
            expect: self.expect,
            tasks: if self.tasks.is_empty() { base.tasks } else { self.tasks },
        }
    }
}
