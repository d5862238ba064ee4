//! The official `oci` CLI, when installed (`OCI_CLI=/path/to/oci`, or /work/venv-oci/bin/oci,
//! or `oci` on PATH), running the scripts in `tests/oci-cli/` against a lab.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// Where the `oci` CLI is, if anywhere.
pub fn find_cli() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("OCI_CLI") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from("/work/venv-oci/bin/oci");
    if venv.exists() {
        return Some(venv);
    }
    let ok = Command::new("oci").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    ok.then(|| PathBuf::from("oci"))
}

/// [`find_cli`], saying on stderr that the test is skipped when there is none.
pub fn cli_or_skip() -> Option<PathBuf> {
    let cli = find_cli();
    if cli.is_none() {
        crate::skip::missing_tool("the oci CLI is not installed (pip install oci-cli, or OCI_CLI=/path/to/oci)");
    }
    cli
}

/// What a script printed.
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
}

impl ScriptOutput {
    /// The value of the first `key=value` line of stdout.
    #[track_caller]
    pub fn value(&self, key: &str) -> &str {
        let prefix = format!("{key}=");
        self.stdout.lines().find_map(|l| l.strip_prefix(prefix.as_str())).unwrap_or_else(|| panic!("{key} line")).trim()
    }
}

/// Run `tests/oci-cli/<script>` with `OCI_CLI`, `OCI_LAB_DIR` and `env`; asserts it finished
/// within five minutes, succeeded and printed `CLI OK`.
pub async fn run_script(script: &str, cli: &Path, dir: &Path, env: &[(&str, &str)]) -> ScriptOutput {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oci-cli").join(script);
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(&path).env("OCI_CLI", cli).env("OCI_LAB_DIR", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("CLI run within 5 minutes")
        .expect("run script");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("CLI OK"), "{stdout}");
    eprintln!("{script} stdout:\n{stdout}\n{script} stderr:\n{stderr}");
    ScriptOutput { stdout, stderr }
}
