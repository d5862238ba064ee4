//! Running a scenario against a lab through its public APIs.

use super::{
    format::{Auth, Scenario, Step, Task},
    template::{Vars, render, render_value, select, truthy},
};
use crate::info::LabInfo;
use axum::body::Body;
use bytes::Bytes;
use hyok_core::client::HttpClient;
use serde::Serialize;
use serde_json::Value;
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// How a task ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step passed.
    Passed,
    /// A step failed; the text explains which hop failed and why.
    Failed {
        /// The explanation.
        explanation: String,
    },
}

/// One task's result.
#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    /// Tutorial task number.
    pub number: u32,
    /// Title.
    pub title: String,
    /// Outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Duration in milliseconds.
    pub millis: f64,
}

/// The run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Tasks run, in order (stops at the first failure).
    pub tasks: Vec<TaskResult>,
    /// True when the run met its expectation (no failure, or the expected one).
    pub passed: bool,
    /// Why the run did not pass.
    pub problem: Option<String>,
    /// Total time in milliseconds.
    pub millis: f64,
}

/// Runs scenarios against the lab described by a lab.json.
pub struct Runner {
    lab_dir: PathBuf,
    info: LabInfo,
    info_stamp: Option<std::time::SystemTime>,
    client: HttpClient,
    signer: Option<(rsa::PrivateKey, String)>,
    /// Variables (lab values, knobs and captures).
    pub vars: Vars,
}

fn flatten(prefix: &str, v: &Value, out: &mut Vars) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// The lab user's OCI signing key and key id (`tenancy/user/fingerprint`), when lab.json has them.
pub(crate) fn lab_signer(info: &LabInfo) -> Result<Option<(rsa::PrivateKey, String)>, String> {
    let Some(oci) = info.credentials.get("oci") else { return Ok(None) };
    let field = |k: &str| oci.get(k).and_then(Value::as_str).unwrap_or_default();
    let (key_file, fp) = (field("key_file"), field("fingerprint"));
    if key_file.is_empty() || fp.is_empty() {
        return Ok(None);
    }
    let path = info.lab_dir.join(key_file);
    let pem = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let key = hyok_oci_rest::ApiKey::from_pem(&pem).map_err(|e| e.to_string())?;
    Ok(Some((key.private_key().clone(), format!("{}/{}/{fp}", field("tenancy"), field("user")))))
}

/// Put `auth` on a buffered request (OCI signature, Basic or Bearer).
pub(crate) fn authorize(
    req: &mut http::Request<Bytes>,
    auth: &Auth,
    signer: Option<&(rsa::PrivateKey, String)>,
) -> Result<(), String> {
    match auth {
        Auth::None => {}
        Auth::Oci => {
            let (key, key_id) = signer.ok_or("lab.json has no OCI credentials to sign with")?;
            hyok_oci_rest::sign_request(req, key, key_id).map_err(|e| e.to_string())?;
        }
        Auth::Basic(u, p) => {
            use base64::Engine;
            let v = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req.headers_mut()
                .insert("authorization", format!("Basic {v}").parse().map_err(|_| "bad basic credentials")?);
        }
        Auth::Bearer(t) => {
            req.headers_mut().insert("authorization", format!("Bearer {t}").parse().map_err(|_| "bad bearer token")?);
        }
    }
    Ok(())
}

fn stamp(lab_dir: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(LabInfo::path(lab_dir)).and_then(|m| m.modified()).ok()
}

impl Runner {
    /// A runner for the lab in `lab_dir` (it must be up).
    pub fn new(lab_dir: &std::path::Path) -> Result<Self, String> {
        let info = LabInfo::load(lab_dir).map_err(|e| e.to_string())?;
        let client = info.host_client()?.with_timeout(Duration::from_secs(20));
        let mut vars = Vars::new();
        flatten("", &Value::Object(info.credentials.clone()), &mut vars);
        vars.insert("region".into(), Value::String(info.region.clone()));
        vars.insert("admin.url".into(), Value::String(info.admin.url.clone()));
        vars.insert("admin.token".into(), Value::String(info.admin.token.clone()));
        if let Ok(pem) = std::fs::read_to_string(info.lab_dir.join(&info.ca.public_root)) {
            vars.insert("lab.public_root_pem".into(), Value::String(pem));
        }
        for s in &info.services {
            vars.insert(format!("service.{}.host", s.name), Value::String(s.host.clone()));
            vars.insert(format!("service.{}.lab_url", s.name), Value::String(s.lab_url.clone()));
            vars.insert(format!("service.{}.ip", s.name), Value::String(s.virtual_ip.to_string()));
        }
        let signer = lab_signer(&info)?;
        Ok(Self { lab_dir: lab_dir.to_path_buf(), info_stamp: stamp(lab_dir), info, client, signer, vars })
    }

    /// The OCI signing key and key id of the lab user, when lab.json has them.
    pub fn signer(&self) -> Option<(&rsa::PrivateKey, &str)> {
        self.signer.as_ref().map(|(k, id)| (k, id.as_str()))
    }

    /// Re-read lab.json when services were added (a gateway, a vault's endpoints).
    fn refresh(&mut self) -> Result<(), String> {
        let now = stamp(&self.lab_dir);
        if now != self.info_stamp {
            self.info = LabInfo::load(&self.lab_dir).map_err(|e| e.to_string())?;
            self.client = self.info.host_client()?.with_timeout(Duration::from_secs(20));
            self.info_stamp = now;
        }
        Ok(())
    }

    /// Run `scenario` up to task `until` (inclusive); `on_task` sees each task as it ends.
    pub async fn run(
        &mut self,
        scenario: &Scenario,
        until: Option<u32>,
        on_task: &(dyn Fn(&TaskResult) + Sync),
    ) -> Report {
        let started = Instant::now();
        // Knobs are kept as written; `{{…}}` inside them is rendered when a step uses them.
        for (k, v) in &scenario.vars {
            let j = match v {
                toml::Value::String(s) => Value::String(s.clone()),
                other => render_value(other, &Vars::new()).unwrap_or(Value::Null),
            };
            self.vars.insert(k.clone(), j);
        }
        let mut tasks = Vec::new();
        let mut failure: Option<(u32, String)> = None;
        for task in scenario.tasks.iter().filter(|t| until.is_none_or(|u| t.number <= u)) {
            let t0 = Instant::now();
            let outcome = match self.run_task(task).await {
                Ok(()) => Outcome::Passed,
                Err(explanation) => Outcome::Failed { explanation },
            };
            let result = TaskResult {
                number: task.number,
                title: task.title.clone(),
                outcome: outcome.clone(),
                millis: t0.elapsed().as_secs_f64() * 1000.0,
            };
            on_task(&result);
            tasks.push(result);
            if let Outcome::Failed { explanation } = outcome {
                failure = Some((task.number, explanation));
                break;
            }
        }
        let (passed, problem) = match (&scenario.expect, &failure) {
            (None, None) => (true, None),
            (None, Some((n, e))) => (false, Some(format!("task {n} failed: {e}"))),
            (Some(x), None) => (false, Some(format!("expected task {} to fail, but every task passed", x.task))),
            (Some(x), Some((n, e))) => {
                if *n != x.task {
                    (false, Some(format!("expected task {} to fail, but task {n} failed: {e}", x.task)))
                } else if let Some(missing) = x.contains.iter().find(|c| !e.contains(c.as_str())) {
                    (false, Some(format!("task {n} failed as expected, but the explanation lacks {missing:?}: {e}")))
                } else {
                    (true, None)
                }
            }
        };
        Report {
            scenario: scenario.name.clone(),
            tasks,
            passed,
            problem,
            millis: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    async fn run_task(&mut self, task: &Task) -> Result<(), String> {
        for (i, step) in task.steps.iter().enumerate() {
            if step.skip_if.as_deref().is_some_and(|v| truthy(&self.vars, v))
                || step.only_if.as_deref().is_some_and(|v| !truthy(&self.vars, v))
            {
                continue;
            }
            let request_id = format!("scenario-t{}-s{}-{}", task.number, i + 1, &hyok_core::ids::hex32()[..8]);
            if let Err(why) = self.run_step(step, &request_id).await {
                let mut text = format!("Task {} ({}), step \"{}\": {why}", task.number, task.title, step.name);
                let hops = self.hops(&request_id).await;
                if !hops.is_empty() {
                    text.push_str("\n\nHop by hop (hyok-lab trace ");
                    text.push_str(&request_id);
                    text.push_str("):\n");
                    text.push_str(&crate::trace::render(&hops));
                }
                return Err(text);
            }
        }
        Ok(())
    }

    async fn hops(&self, request_id: &str) -> Vec<hyok_core::HopEvent> {
        crate::trace::load(&self.lab_dir, Some(request_id)).await.unwrap_or_default()
    }

    fn base_url(&self, step: &Step) -> Result<String, String> {
        match (&step.service, &step.url) {
            (Some(s), _) => {
                let name = render(s, &self.vars)?;
                self.info.service(&name).map(|s| s.lab_url.clone()).ok_or_else(|| {
                    format!(
                        "no service {name:?} in lab.json (known: {})",
                        self.info.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                    )
                })
            }
            (None, Some(u)) => Ok(render(u, &self.vars)?.trim_end_matches('/').to_string()),
            (None, None) => Err("step has neither service nor url".into()),
        }
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        auth: &Auth,
        step: &Step,
        body: Option<(Bytes, &str)>,
        request_id: &str,
    ) -> Result<(u16, Value, String), String> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(url)
            .header("accept", "application/json")
            .header("opc-request-id", request_id);
        for (k, v) in &step.headers {
            b = b.header(k.as_str(), render(v, &self.vars)?);
        }
        let bytes = match &body {
            Some((bytes, ctype)) => {
                b = b.header("content-type", *ctype);
                bytes.clone()
            }
            None => Bytes::new(),
        };
        let mut req = b.body(bytes).map_err(|e| format!("bad request {method} {url}: {e}"))?;
        authorize(&mut req, auth, self.signer.as_ref())?;
        let (parts, bytes) = req.into_parts();
        let resp = self
            .client
            .send(http::Request::from_parts(parts, Body::from(bytes)))
            .await
            .map_err(|e| format!("{method} {url} did not get an answer: {e}"))?;
        let text = String::from_utf8_lossy(resp.body()).into_owned();
        let json = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        Ok((resp.status().as_u16(), json, text))
    }

    async fn run_step(&mut self, step: &Step, request_id: &str) -> Result<(), String> {
        self.refresh()?;
        let base = self.base_url(step)?;
        let path = render(&step.path, &self.vars)?;
        let url = format!("{base}{path}");
        let auth = Auth::parse(&render(&step.auth, &self.vars)?)?;
        let body = match (&step.json, &step.form) {
            _ if step.body.is_some() => {
                Some((Bytes::from(render(step.body.as_deref().unwrap_or_default(), &self.vars)?), "text/plain"))
            }
            (Some(j), _) => Some((
                Bytes::from(serde_json::to_vec(&render_value(j, &self.vars)?).map_err(|e| e.to_string())?),
                "application/json",
            )),
            (None, Some(f)) => {
                let mut pairs = Vec::new();
                for (k, v) in f {
                    pairs.push(format!(
                        "{}={}",
                        hyok_core::url::encode_component(k),
                        hyok_core::url::encode_component(&render(v, &self.vars)?)
                    ));
                }
                Some((Bytes::from(pairs.join("&")), "application/x-www-form-urlencoded"))
            }
            (None, None) => None,
        };
        let (status, mut json, text) = self.send(&step.method, &url, &auth, step, body, request_id).await?;
        let ok = if step.status.is_empty() { (200..300).contains(&status) } else { step.status.contains(&status) };
        if !ok {
            return Err(format!("{} {url} answered HTTP {status}: {}", step.method, short(&text)));
        }
        if let Some(w) = &step.wait {
            // Captures may be needed to build the wait path (e.g. the new resource's id); fields
            // that appear only once the resource settles are captured after the wait.
            self.capture_available(step, &json);
            let wait_url = match &w.path {
                Some(p) => format!("{base}{}", render(p, &self.vars)?),
                None => url.clone(),
            };
            let deadline = Instant::now() + Duration::from_millis(w.timeout_ms);
            loop {
                let (st, j, t) = self.send("GET", &wait_url, &auth, step, None, request_id).await?;
                if !(200..300).contains(&st) {
                    return Err(format!("GET {wait_url} answered HTTP {st} while waiting: {}", short(&t)));
                }
                let state = select(&j, &w.field).map(text_of).unwrap_or_default();
                if state == w.until {
                    json = j;
                    break;
                }
                if w.fail_on.contains(&state) {
                    let details = w.details.as_deref().and_then(|d| select(&j, d)).map(text_of).unwrap_or_default();
                    return Err(format!("{} became {state}: {details}", w.field.trim_start_matches('/')));
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "{} is still {state:?} after {} ms (waiting for {})",
                        w.field.trim_start_matches('/'),
                        w.timeout_ms,
                        w.until
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        self.capture(step, &json)?;
        if let Some(want) = &step.expect_body {
            let want = render(want, &self.vars)?;
            if text != want {
                return Err(format!("the body is {:?}, expected {want:?}", short(&text)));
            }
        }
        for c in &step.check {
            let field = render(&c.field, &self.vars)?;
            let got = select(&json, &field);
            if c.absent {
                if got.is_some() {
                    return Err(format!("{field} must not be in the response, but it is"));
                }
                continue;
            }
            let got = got
                .map(text_of)
                .ok_or_else(|| format!("{field} is missing from the response: {}", short(&json.to_string())))?;
            if let Some(e) = &c.equals {
                let e = render(e, &self.vars)?;
                if got != e {
                    return Err(format!("{field} is {got:?}, expected {e:?}"));
                }
            }
            if let Some(e) = &c.contains {
                let e = render(e, &self.vars)?;
                if !got.contains(&e) {
                    return Err(format!("{field} is {got:?}, expected it to contain {e:?}"));
                }
            }
        }
        Ok(())
    }

    fn capture_available(&mut self, step: &Step, json: &Value) {
        for (var, path) in &step.capture {
            if let Ok(path) = render(path, &self.vars)
                && let Some(v) = select(json, &path)
            {
                self.vars.insert(var.clone(), v.clone());
            }
        }
    }

    fn capture(&mut self, step: &Step, json: &Value) -> Result<(), String> {
        for (var, path) in &step.capture {
            let path = render(path, &self.vars)?;
            let v = select(json, &path).ok_or_else(|| {
                format!("cannot capture {var}: {path} is not in the response: {}", short(&json.to_string()))
            })?;
            self.vars.insert(var.clone(), v.clone());
        }
        Ok(())
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short(s: &str) -> String {
    let s = s.trim();
    if s.len() > 600 {
        format!(
            "{}…",
            &s[..s.char_indices().take_while(|(i, _)| *i < 600).last().map(|(i, c)| i + c.len_utf8()).unwrap_or(0)]
        )
    } else {
        s.to_string()
    }
}
