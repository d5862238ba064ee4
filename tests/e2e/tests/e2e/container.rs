//! The lab image under Docker: `docker run` to healthy, then the whole tutorial driven from the
//! host through the published ports. This is the container suite: it runs when
//! `HYOK_DOCKER_TESTS=1` (CI sets it after `docker/build.sh`), and says SKIPPED otherwise.

use std::{
    process::Command,
    time::{Duration, Instant},
};

const IMAGE: &str = "hyok-lab:dev";
/// A port base no developer lab uses by default (that one is 17400).
const BASE: u16 = 27400;

/// Removes the container even when the test fails.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker").args(args).output().map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn publish(offsets: &std::ops::RangeInclusive<u16>, proto: &str) -> String {
    let (from, to) = (BASE + offsets.start(), BASE + offsets.end());
    format!("127.0.0.1:{from}-{to}:{from}-{to}/{proto}")
}

#[tokio::test]
async fn the_image_becomes_healthy_and_runs_the_tutorial() {
    if std::env::var("HYOK_DOCKER_TESTS").as_deref() != Ok("1") {
        hyok_test_support::skip::not_selected(&format!(
            "container suite (HYOK_DOCKER_TESTS=1 with a Docker engine and the {IMAGE} image from docker/build.sh)"
        ));
        return;
    }
    docker(&["info", "--format", "{{.ServerVersion}}"]).expect("a Docker engine must answer for the container suite");
    docker(&["image", "inspect", IMAGE]).expect("build the image first: docker/build.sh");
    let tmp = tempfile::Builder::new().prefix("hyok-container-").tempdir().expect("lab dir");
    let dir = tmp.path();
    let name = format!("hyok-lab-test-{}", &hyok_core::ids::hex32()[..8]);
    let volume = format!("{}:/lab", dir.display());
    let base = BASE.to_string();
    // The lab's port plan, published under the same numbers.
    let ports: Vec<String> = (hyok_lab_client::ports::published_tcp().iter().map(|r| publish(r, "tcp")))
        .chain(hyok_lab_client::ports::published_udp().iter().map(|r| publish(r, "udp")))
        .collect();
    let mut args: Vec<&str> = vec!["run", "-d", "--name", &name, "-v", &volume, "-e"];
    let env = format!("HYOK_LAB_PORT_BASE={base}");
    args.push(&env);
    for p in &ports {
        args.push("-p");
        args.push(p);
    }
    args.push(IMAGE);
    let started = Instant::now();
    docker(&args).expect("docker run");
    let _guard = Container(name.clone());

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = docker(&["inspect", "-f", "{{.State.Health.Status}}", &name]).unwrap_or_default();
        if health == "healthy" {
            break;
        }
        if Instant::now() > deadline {
            let logs = docker(&["logs", &name]).unwrap_or_default();
            panic!("container not healthy after 60 s (state {health}); logs:\n{logs}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("docker run → healthy in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    // The host drives the tutorial through the published ports, reading the lab.json that the
    // container wrote into the mounted folder.
    let scenario = hyok_lab_client::scenario::load("oci-hyok-api-gateway").expect("scenario");
    let mut runner = hyok_lab_client::scenario::Runner::new(dir).expect("runner reads lab.json");
    let report = runner.run(&scenario, None, &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    eprintln!("tutorial against the container: {:.0} ms", report.millis);
    drop(_guard);
}
