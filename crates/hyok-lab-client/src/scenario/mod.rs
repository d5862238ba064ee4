//! Scenarios: the tutorial (and its misconfigurations) as data. Format: docs/scenarios.md.
//!
//! Invariant: a scenario only calls the lab's public APIs (OCI, identity domain, CTM), never
//! internal shortcuts, so what passes here passes for a student with `oci` and `curl`.

mod format;
mod run;
mod template;

pub use format::{Auth, Check, Expect, Scenario, ScenarioError, Step, Task, Wait};
pub use run::{Outcome, Report, Runner, TaskResult};
pub(crate) use run::{authorize, lab_signer};

use include_dir::{Dir, include_dir};
use std::{path::Path, sync::OnceLock};

/// `scenarios/`, compiled in; build.rs has cargo rebuild this crate when a file is added there.
static SCENARIOS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../scenarios");

/// The world file lives beside the scenarios but is not one.
const WORLD_FILE: &str = "world.toml";

/// The scenarios shipped with the lab: every `.toml` file under `scenarios/` but the world
/// file, as (name, file text). A name is the file's path without `.toml`, folders joined with
/// `-` (`misconfig/wrong-backend-path.toml` is `misconfig-wrong-backend-path`); the files at
/// the top come first, then each folder's, in name order.
pub fn shipped() -> &'static [(String, &'static str)] {
    static SHIPPED: OnceLock<Vec<(String, &'static str)>> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let mut out = Vec::new();
        collect(&SCENARIOS, &mut out);
        out
    })
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
    let mut files: Vec<_> = dir
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml") && f.path() != Path::new(WORLD_FILE))
        .filter_map(|f| Some((f.path().with_extension(""), f.contents_utf8()?)))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, text) in files {
        let parts: Vec<_> = path.iter().map(|p| p.to_string_lossy()).collect();
        out.push((parts.join("-"), text));
    }
    let mut dirs: Vec<_> = dir.dirs().collect();
    dirs.sort_by_key(|d| d.path());
    for d in dirs {
        collect(d, out);
    }
}

/// Load a shipped scenario by name, or a file by path, resolving `base`.
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    let text = match shipped().iter().find(|(n, _)| n == name_or_path) {
        Some((_, t)) => t.to_string(),
        None => std::fs::read_to_string(name_or_path).map_err(|e| ScenarioError::NotFound {
            name: name_or_path.to_string(),
            reason: e.to_string(),
            known: shipped().iter().map(|(n, _)| n.clone()).collect(),
        })?,
    };
    let mut s = Scenario::parse(name_or_path, &text)?;
    if let Some(base) = s.base.clone() {
        let b = load(&base)?;
        s = s.on_top_of(b);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_toml_file_under_scenarios_is_shipped_under_the_name_it_declares() {
        let names: Vec<&str> = shipped().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[..2], ["oci-hyok-api-gateway", "oci-hyok-direct"], "the tutorial first: {names:?}");
        assert!(names.contains(&"misconfig-wrong-backend-path"), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("world")), "the world file is not a scenario: {names:?}");
        // Everything on disk is there, and nothing else.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut on_disk = Vec::new();
        for d in [dir.clone(), dir.join("misconfig")] {
            for e in std::fs::read_dir(&d).expect("scenarios dir") {
                let p = e.expect("entry").path();
                if p.extension().is_some_and(|x| x == "toml") && !p.ends_with(WORLD_FILE) {
                    on_disk.push(p);
                }
            }
        }
        assert_eq!(shipped().len(), on_disk.len(), "{names:?} vs {on_disk:?}");
        for (name, text) in shipped() {
            let s = Scenario::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name, "a scenario's `name` is its file's name");
            load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
