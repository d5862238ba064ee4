//! The compose topology (docker/compose.yaml): one container per service on Docker networks that
//! mirror the tutorial, started with `docker/compose.sh up` as `just compose up` does, then the
//! whole tutorial driven from the host. Part of the container suite (`HYOK_DOCKER_TESTS=1`).

use std::{path::Path, process::Command, time::Instant};

const IMAGE: &str = "hyok-lab:dev";

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().and_then(Path::parent).expect("repo root")
}

fn compose(dir: &Path, project: &str, cmd: &str) -> Result<String, String> {
    let out = Command::new(repo_root().join("docker/compose.sh"))
        .arg(cmd)
        .env("HYOK_COMPOSE_DIR", dir)
        .env("HYOK_COMPOSE_PROJECT", project)
        .output()
        .map_err(|e| format!("cannot run docker/compose.sh: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(text) }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Takes the topology down even when the test fails.
struct Topology<'a> {
    dir: &'a Path,
    project: String,
}

impl Drop for Topology<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Ok(logs) = compose(self.dir, &self.project, "logs")
        {
            eprintln!("compose logs:\n{logs}");
        }
        let _ = compose(self.dir, &self.project, "down");
    }
}

#[tokio::test]
async fn the_compose_topology_runs_the_tutorial_one_service_each() {
    if std::env::var("HYOK_DOCKER_TESTS").as_deref() != Ok("1") {
        hyok_test_support::skip::not_selected(&format!(
            "compose topology (HYOK_DOCKER_TESTS=1 with a Docker engine and the {IMAGE} image)"
        ));
        return;
    }
    let tmp = tempfile::Builder::new().prefix("hyok-compose-").tempdir().expect("lab dir");
    let dir = tmp.path().to_path_buf();
    let project = format!("hyok-test-{}", &hyok_core::ids::hex32()[..8]);
    let started = Instant::now();
    let topology = Topology { dir: &dir, project: project.clone() };
    let up = compose(&dir, &project, "up").unwrap_or_else(|e| panic!("compose up failed:\n{e}"));
    eprintln!("{up}compose up → lab.json in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    // Five containers, one per service.
    let ps = compose(&dir, &project, "ps").expect("compose ps");
    for service in ["dns", "identity", "ctm-ams", "api-gateway", "oci"] {
        assert!(
            ps.contains(&format!("{project}_{service}_1")) || ps.contains(&format!("{project}-{service}-1")),
            "{ps}"
        );
    }

    // lab.json lists the services of every container, reachable from the host.
    let info = hyok_lab_client::LabInfo::load(&dir).expect("lab.json");
    let report = hyok_lab_client::status::check(&info).await;
    assert!(report.healthy, "{report:?}");

    let scenario = hyok_lab_client::scenario::load("oci-hyok-api-gateway").expect("scenario");
    let mut runner = hyok_lab_client::scenario::Runner::new(&dir).expect("runner reads lab.json");
    let report = runner.run(&scenario, None, &|_| {}).await;
    assert!(report.passed, "{:?}", report.problem);
    eprintln!("tutorial against the compose topology: {:.0} ms", report.millis);
    // The grader sees every task done, through the same public APIs.
    let graded = hyok_lab_client::check::check(&dir).await.expect("check");
    assert!(graded.all_done(), "{}", graded.render());

    // The private endpoint reached the gateway from the region's spoke A address.
    let client = info.host_client().expect("host client");
    let auth = format!("Bearer {}", info.admin.token);
    let (status, events) = client
        .get_json(&format!("{}/events?last=5000", info.admin.url), &[("authorization", auth.as_str())])
        .await
        .expect("events");
    assert!(status.is_success(), "{status}");
    let hops: Vec<hyok_core::HopEvent> = serde_json::from_value(events).expect("hop events");
    assert!(
        hops.iter().any(|h| h.source.contains("172.16.1.104")
            && h.destination.contains("https://172.16.1.103/")
            && h.outcome == hyok_core::Outcome::Ok),
        "no successful private endpoint → gateway hop in {hops:#?}"
    );
    // The hop the gateway container made to CTM is in the region's log too, under the same
    // request id as the private endpoint's hop that caused it.
    let joined = hops
        .iter()
        .filter(|g| g.hop == "API gateway → backend" && g.source.contains("@172.16.1.103"))
        .find(|g| hops.iter().any(|h| h.request_id == g.request_id && h.source.contains("172.16.1.104")));
    assert!(joined.is_some(), "no gateway → CTM hop joined to a private endpoint hop in {hops:#?}");

    // The gateway serves in its own container (published on the host at base+50) and proxies
    // to CTM in another: CTM's vendor-API refusal comes back through it.
    let pem = info.ca_bundle_pem().expect("bundle");
    let gw = hyok_core::client::HttpClient::new(
        std::sync::Arc::new(hyok_core::client::StaticDial::new().pin(
            "oci-api-gw.oci-thales.lab",
            443,
            "127.0.0.1:17450".parse().expect("addr"),
        )),
        hyok_core::tls::client_config(&pem).expect("tls"),
    );
    let (status, body) = gw
        .get_json("https://oci-api-gw.oci-thales.lab/api/v1/cckm/oci/ekm/v1/vaults/none/metadata", &[])
        .await
        .expect("the gateway container answers");
    assert_eq!(status, http::StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("missing bearer token")), "CTM's answer: {body}");

    // The gateway container restarts and comes back knowing nothing; the region gives it its
    // gateway and deployment back, and the same call reaches CTM again.
    let id = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--filter",
        "label=com.docker.compose.service=api-gateway",
    ]);
    docker(&["restart", id.trim()]);
    let restarted = Instant::now();
    let mut last = String::new();
    while restarted.elapsed() < std::time::Duration::from_secs(60) {
        match gw.get_json("https://oci-api-gw.oci-thales.lab/api/v1/cckm/oci/ekm/v1/vaults/none/metadata", &[]).await {
            Ok((http::StatusCode::UNAUTHORIZED, _)) => {
                last.clear();
                break;
            }
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(last.is_empty(), "the restarted gateway container was not given its gateway back: {last}");
    eprintln!(
        "gateway container restart → serving the deployment again in {:.0} ms",
        restarted.elapsed().as_secs_f64() * 1000.0
    );

    // The VPN goes down: the gateway container loses its leg on the AMS network. A connection
    // the gateway already holds to CTM now hangs (as over a dead tunnel); new ones time out.
    // The bucket then answers 503 KmsUnavailable, and the hops say the gateway → CTM leg failed.
    let ams = format!("{project}_ams");
    docker(&["network", "disconnect", &ams, id.trim()]);
    let down = Instant::now();
    let why = loop {
        let graded = hyok_lab_client::check::check(&dir).await.expect("check");
        let task18 = graded.task(18).expect("task 18");
        assert_ne!(task18.status, hyok_lab_client::check::Status::Done, "{}", graded.render());
        let why = task18.details.join(" ");
        if why.contains("KmsUnavailable") {
            break why;
        }
        // A request stuck on the dead tunnel: trace names the hop it was stuck at.
        if let Some(rid) = why.split("hyok-lab trace ").nth(1).and_then(|r| r.split(')').next()) {
            // The gateway container's hops reach the shared file within its flush interval.
            let text = hyok_test_support::eventually("the stuck hop in the trace", || async {
                let hops = hyok_lab_client::trace::load(&dir, Some(rid)).await?;
                let text = hyok_lab_client::trace::render(&hops);
                if text.contains("where it failed: API gateway → backend — abandoned after") {
                    Ok(text)
                } else {
                    Err(text)
                }
            })
            .await;
            eprintln!("a request stuck on the dead tunnel:\n{text}");
        }
        assert!(down.elapsed() < std::time::Duration::from_secs(90), "never a clear answer: {}", graded.render());
    };
    assert!(why.contains("unreachable") && why.contains("no data was lost"), "{why}");
    eprintln!("VPN down, {:.1} s later the grader says: {why}", down.elapsed().as_secs_f64());
    let (_, events) = client
        .get_json(&format!("{}/events?last=300", info.admin.url), &[("authorization", auth.as_str())])
        .await
        .expect("events");
    let hops: Vec<hyok_core::HopEvent> = serde_json::from_value(events).expect("hop events");
    let cut = hops.iter().filter(|g| g.hop == "API gateway → backend" && g.outcome == hyok_core::Outcome::Unreachable);
    assert!(
        cut.clone()
            .any(|g| hops.iter().any(|h| h.request_id == g.request_id && h.hop == "Object Storage → KMS crypto")),
        "no failed gateway → CTM hop under an Object Storage request in {hops:#?}"
    );
    docker(&["network", "connect", "--ip", "10.222.10.250", &ams, id.trim()]);
    let back = Instant::now();
    loop {
        let graded = hyok_lab_client::check::check(&dir).await.expect("check");
        if graded.all_done() {
            break;
        }
        assert!(back.elapsed() < std::time::Duration::from_secs(60), "after the VPN is back: {}", graded.render());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    eprintln!("VPN back: every task done again after {:.1} s", back.elapsed().as_secs_f64());
    drop(topology);
}
