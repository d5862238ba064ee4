//! `docs/workshop.md`, run: every ```sh block of the guide (except those marked `{no-test}`), in
//! order, in one bash session, against a fresh lab, with the official `oci` CLI, `curl`, `dig`,
//! `python3` and the `hyok-lab` binary. The blocks carry their own checks (`test …`, `grep -q …`,
//! `cmp`), so a wrong answer from the lab fails the test, and a changed lab fails the guide.
//!
//! The `hyok-lab` binary must be built first. `cargo test --workspace` (the README's and CI's
//! test command) builds it, because `hyok-lab` has integration tests of its own; alone,
//! run `cargo build -p hyok-lab` before `cargo test -p hyok-e2e`. `HYOK_LAB_BIN` overrides where
//! it is looked for. The CLI is found by `hyok_test_support::oci_cli::find_cli` (`$OCI_CLI`, CI's venv, `PATH`);
//! without it (or without bash, python3, curl or dig) the test is skipped (`scripts/test` lists it),
//! and fails under `CI=true`.

use crate::support::TestLab;
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

const GUIDE: &str = include_str!("../../../../docs/workshop.md");
/// The whole guide must finish within this (it takes well under a minute on a laptop).
const TIMEOUT: Duration = Duration::from_secs(300);

/// A fenced block of the guide.
#[derive(Debug)]
struct Block {
    /// Line of the opening fence (1-based).
    line: usize,
    /// The info string after ```` ```sh ````.
    info: String,
    /// The `## …` heading the block is under.
    section: String,
    code: String,
}

/// Every ```` ```sh ```` block of a markdown text, with its section.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut section = "";
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        if let Some(mut block) = open.take() {
            if line.trim_end() == "```" {
                blocks.push(block);
            } else {
                block.code.push_str(line);
                block.code.push('\n');
                open = Some(block);
            }
        } else if let Some(h) = line.strip_prefix("## ") {
            section = h.trim();
        } else if let Some(info) = line.strip_prefix("```sh") {
            open = Some(Block { line: i + 1, info: info.trim().into(), section: section.into(), code: String::new() });
        }
    }
    assert!(open.is_none(), "docs/workshop.md: a ```sh block is not closed");
    blocks
}

/// The runnable blocks as one bash script; each block is announced with its place in the guide,
/// so a failure in the transcript points at the line to fix.
fn guide_script(blocks: &[Block]) -> String {
    // The ERR trap names the command that failed (a `test` that failed prints nothing itself).
    let mut script = String::from("set -euo pipefail\ntrap 'echo \"!!! exit $? from: $BASH_COMMAND\"' ERR\n");
    for b in blocks.iter().filter(|b| !b.info.contains("no-test")) {
        script.push_str(&format!("echo '>>> docs/workshop.md:{} ({})'\n", b.line, b.section.replace('\'', "")));
        script.push_str(&b.code);
    }
    script
}

/// A program on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

/// `target/<profile>/hyok-lab`, next to this test's `target/<profile>/deps/e2e-…`.
fn hyok_lab_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HYOK_LAB_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("path of the test executable");
    let profile_dir = exe.parent().and_then(Path::parent).expect("test executable lives in target/<profile>/deps");
    profile_dir.join(format!("hyok-lab{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn the_guide_has_a_section_with_commands_for_every_task() {
    let blocks = sh_blocks(GUIDE);
    let headings: Vec<&str> = GUIDE.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    let tasks: Vec<u32> =
        headings.iter().filter_map(|h| h.strip_prefix("Task ")?.split(':').next()?.parse().ok()).collect();
    assert_eq!(tasks, (1..=18).collect::<Vec<_>>(), "one `## Task N: …` section per tutorial task, in order");
    for n in 1..=18 {
        let prefix = format!("Task {n}:");
        assert!(
            blocks.iter().any(|b| b.section.starts_with(&prefix) && !b.info.contains("no-test")),
            "Task {n} has no command the test runs"
        );
    }
    let skipped: Vec<usize> = blocks.iter().filter(|b| b.info.contains("no-test")).map(|b| b.line).collect();
    assert!(skipped.len() <= 6, "keep {{no-test}} blocks few; they are at lines {skipped:?}");
    for b in &blocks {
        assert!(b.info.is_empty() || b.info == "{no-test}", "line {}: unknown block marker {:?}", b.line, b.info);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_of_the_workshop_guide_works_against_the_lab() {
    let Some(oci) = hyok_test_support::oci_cli::cli_or_skip() else { return };
    for tool in ["bash", "python3", "curl", "dig"] {
        if on_path(tool).is_none() {
            hyok_test_support::skip::missing_tool(&format!(
                "`{tool}` is not installed on this machine (CI installs it)"
            ));
            return;
        }
    }
    let bin = hyok_lab_bin();
    assert!(
        bin.is_file(),
        "the guide runs `hyok-lab`, which is not built at {}: run `cargo build -p hyok-lab` first \
         (`cargo test --workspace` builds it), or point HYOK_LAB_BIN at it",
        bin.display()
    );

    let t = TestLab::start().await;
    let work = t.dir.join("workshop");
    let tmp = work.join("tmp");
    std::fs::create_dir_all(&tmp).expect("work dir");
    let mut path = vec![bin.parent().expect("binary dir").to_path_buf(), oci.parent().expect("CLI dir").to_path_buf()];
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let script = guide_script(&sh_blocks(GUIDE));

    // The transcript goes to a file, so a run stopped at the timeout still shows how far it got.
    let transcript_path = work.join("transcript.txt");
    let transcript_file = std::fs::File::create(&transcript_path).expect("transcript file");
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env("PATH", std::env::join_paths(path).expect("PATH"))
        .env("HYOK_LAB_DIR", &t.dir)
        // mktemp in the guide lands in the test's dir, which is removed at the end.
        .env("TMPDIR", &tmp)
        .env_remove("OCI_CLI_PROFILE")
        .env_remove("OCI_CLI_CONFIG_FILE")
        .env_remove("REQUESTS_CA_BUNDLE")
        .stdin(Stdio::null())
        .stdout(Stdio::from(transcript_file.try_clone().expect("transcript file")))
        .stderr(Stdio::from(transcript_file))
        // Its own process group, so a timeout stops the CLI processes it started too.
        .process_group(0)
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("bash starts");
    let pgid = child.id().expect("bash has a pid");
    let status = match tokio::time::timeout(TIMEOUT, child.wait()).await {
        Ok(status) => Some(status.expect("bash runs")),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
            let _ = child.wait().await;
            None
        }
    };
    let took = started.elapsed();
    let transcript = std::fs::read_to_string(&transcript_path).unwrap_or_default();
    eprintln!("workshop guide ran in {:.1} s", took.as_secs_f64());
    t.stop().await;
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("docs/workshop.md failed ({s}); the last `>>>` line names the block:\n{transcript}"),
        None => {
            panic!("docs/workshop.md did not finish within {} s; transcript so far:\n{transcript}", TIMEOUT.as_secs())
        }
    }
}
