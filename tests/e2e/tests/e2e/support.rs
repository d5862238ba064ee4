//! Starting labs for end-to-end tests.

use hyok_lab::{Lab, LabOptions};
use hyok_lab_client::LabInfo;
use std::{path::PathBuf, sync::Arc};

/// A lab in a temporary dir; shut down on [`TestLab::stop`], its dir removed when dropped
/// (also when the test fails).
pub struct TestLab {
    pub lab: Arc<Lab>,
    pub info: LabInfo,
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl TestLab {
    pub async fn start() -> Self {
        hyok_test_support::init();
        let tmp = tempfile::Builder::new().prefix("hyok-e2e-").tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let lab = Lab::start(LabOptions::ephemeral(dir.clone()), &|_| {}).await.expect("lab starts");
        let info = lab.write_lab_json().expect("lab.json");
        Self { lab, info, dir, _tmp: tmp }
    }

    pub async fn stop(self) {
        self.lab.shutdown().await;
    }
}

/// Run a host tool if it is installed; `None` (with a note on stderr) when it is not.
pub fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new(name).args(args).output() {
        Ok(o) => Some(o),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            hyok_test_support::skip::missing_tool(&format!(
                "`{name}` is not installed on this machine (CI installs it)"
            ));
            None
        }
        Err(e) => panic!("cannot run {name}: {e}"),
    }
}
