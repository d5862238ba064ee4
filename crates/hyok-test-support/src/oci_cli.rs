//! The official `oci` CLI, when installed (`OCI_CLI=/path/to/oci`, the venv `.ci/run` makes in
//! `~/.cache/hyok-lab/venv-oci`, /work/venv-oci, or `oci` on PATH), running the scripts in
//! `tests/oci-cli/` against a lab.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// Where the `oci` CLI is, if anywhere.
pub fn find_cli() -> Option<PathBuf> {
    let home_venv = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/hyok-lab/venv-oci/bin/oci"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::var_os("OCI_CLI")
        .map(PathBuf::from)
        .into_iter()
        .chain(home_venv)
        .chain([PathBuf::from("/work/venv-oci/bin/oci")])
        .chain(std::env::split_paths(&path).map(|d| d.join("oci")))
        .find(|p| p.is_file())
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
