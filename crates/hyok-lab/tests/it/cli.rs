//! `up`, then `lab.json`, then `status`, then `down`, as a person runs them.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hyok-lab"));
    c.env_remove("HYOK_LAB_DIR").env_remove("HYOK_LAB_PORT_BASE");
    c
}

/// A dir for one test, removed when it is dropped (also when the test fails).
fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("hyok-lab-it-{tag}-")).tempdir().expect("temp dir")
}

fn wait_for_file(path: &Path, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn up_status_down() {
    let tmp = temp_dir("cycle");
    let dir = tmp.path();
    let lab_dir = dir.join("lab");
    let mut up = bin()
        .args(["up", "--port-base", "0", "--lab-dir"])
        .arg(&lab_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    assert!(wait_for_file(&lab_dir.join("lab.json"), hyok_test_support::patience()), "lab.json never appeared");

    let info = hyok_lab_client::LabInfo::load(&lab_dir).expect("lab.json parses");
    assert_eq!(info.schema, hyok_lab_client::info::SCHEMA);
    assert_eq!(info.pid, up.id());
    assert!(lab_dir.join(&info.ca.bundle).exists());
    assert_eq!(info.dns.vcn_resolvers.len(), 4);

    let out = bin().args(["status", "--json", "--lab-dir"]).arg(&lab_dir).output().expect("status");
    assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(report["healthy"], true);
    assert!(report["checks"].as_array().expect("checks").iter().any(|c| c["name"] == "dns" && c["ok"] == true));

    let out = bin().args(["down", "--lab-dir"]).arg(&lab_dir).output().expect("down");
    assert!(out.status.success(), "down failed: {}", String::from_utf8_lossy(&out.stderr));
    let status = up.wait().expect("up exits");
    assert!(status.success(), "up exited with {status}");
    assert!(!lab_dir.join("lab.json").exists(), "lab.json left behind");

    let out = bin().args(["status", "--lab-dir"]).arg(&lab_dir).output().expect("status after down");
    assert!(!out.status.success(), "status must fail once the lab is down");
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let tmp = temp_dir("busy");
    let dir = tmp.path();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    // The admin endpoint takes port_base + 0.
    let out =
        bin().args(["up", "--port-base", &port.to_string(), "--lab-dir"]).arg(dir.join("lab")).output().expect("up");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // The held port is the admin endpoint's; when another test happens to hold one of the
    // other fixed ports first, that one is named instead. Either way the message names it.
    assert!(err.contains("cannot listen on 127.0.0.1:") && err.contains("using this port"), "{err}");
    assert!(!dir.join("lab/lab.json").exists());
}

#[test]
fn a_bad_world_is_a_clear_error() {
    let tmp = temp_dir("world");
    let dir = tmp.path();
    let world = dir.join("world.toml");
    let text = hyok_lab::world::DEFAULT_WORLD.replace("cidr = \"10.222.0.0/16\"", "cidr = \"10.222.0.0/99\"");
    std::fs::write(&world, text).expect("write world");
    let out = bin()
        .args(["up", "--port-base", "0", "--world"])
        .arg(&world)
        .arg("--lab-dir")
        .arg(dir.join("lab"))
        .output()
        .expect("up");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("vcn \"ams-vcn\"") && err.contains("invalid CIDR"), "{err}");
}

#[test]
fn up_with_a_scenario_starts_mid_way() {
    let tmp = temp_dir("scenario");
    let dir = tmp.path();
    let lab_dir = dir.join("lab");
    let mut up = bin()
        .args(["up", "--port-base", "0", "--scenario", "oci-hyok-api-gateway", "--until", "7", "--lab-dir"])
        .arg(&lab_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    // lab.json appears before provisioning (the scenario runs through it) and says when done.
    let deadline = Instant::now() + hyok_test_support::patience() * 4;
    let mut provisioned = false;
    while Instant::now() < deadline {
        if let Ok(info) = hyok_lab_client::LabInfo::load(&lab_dir)
            && info.provisioned.is_some()
        {
            assert!(info.services.iter().any(|s| s.created && s.kind == "api-gateway"), "Task 6's gateway");
            provisioned = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(provisioned, "the lab was never marked provisioned in lab.json");
    let out = bin().args(["down", "--lab-dir"]).arg(&lab_dir).output().expect("down");
    assert!(out.status.success());
    let status = up.wait().expect("up exits");
    assert!(status.success(), "up exited with {status}");
}
