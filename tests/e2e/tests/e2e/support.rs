//! Starting labs for end-to-end tests.

use hyok_lab::{Lab, LabInfo, LabOptions};
use std::{path::PathBuf, sync::Arc};

/// A lab in a temporary dir; shut down and removed on [`TestLab::stop`].
pub struct TestLab {
    pub lab: Arc<Lab>,
    pub info: LabInfo,
    pub dir: PathBuf,
}

impl TestLab {
    pub async fn start() -> Self {
        hyok_test_support::init();
        let dir = std::env::temp_dir().join(format!("hyok-e2e-{}", hyok_core::ids::hex32()));
        let lab = Lab::start(LabOptions::ephemeral(dir.clone()), &|_| {}).await.expect("lab starts");
        let info = lab.write_lab_json().expect("lab.json");
        Self { lab, info, dir }
    }

    pub async fn stop(self) {
        self.lab.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run a host tool if it is installed; `None` (with a note on stderr) when it is not.
pub fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new(name).args(args).output() {
        Ok(o) => Some(o),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: `{name}` is not installed on this machine (CI installs it)");
            None
        }
        Err(e) => panic!("cannot run {name}: {e}"),
    }
}
