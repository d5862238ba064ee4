//! Every shipped scenario, each against a fresh lab: the tutorial passes end to end, and each
//! misconfiguration fails where the real system fails, with the lab's explanation.

use crate::support::TestLab;

async fn run(name: &str) -> hyok_lab_client::scenario::Report {
    let t = TestLab::start().await;
    let scenario = hyok_lab_client::scenario::load(name).expect("shipped scenario loads");
    let mut runner = hyok_lab_client::scenario::Runner::new(&t.dir).expect("runner");
    let report = runner.run(&scenario, None, &|_| {}).await;
    t.stop().await;
    report
}

#[tokio::test]
async fn every_shipped_scenario_meets_its_expectation() {
    let mut failures = Vec::new();
    for (name, _) in hyok_lab_client::scenario::shipped() {
        let report = run(name).await;
        eprintln!("{name}: passed={} in {:.0} ms", report.passed, report.millis);
        if !report.passed {
            failures.push(format!("{name}: {}", report.problem.unwrap_or_default()));
        }
    }
    assert!(failures.is_empty(), "scenarios that did not meet their expectation:\n{}", failures.join("\n\n"));
}

#[tokio::test]
async fn the_tutorial_runs_all_18_tasks() {
    let report = run("oci-hyok-api-gateway").await;
    assert!(report.passed, "{:?}", report.problem);
    let numbers: Vec<u32> = report.tasks.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (2..=18).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_misconfiguration_explains_the_failing_hop() {
    let report = run("misconfig-missing-ingress-rule").await;
    assert!(report.passed, "{:?}", report.problem);
    let last = report.tasks.last().expect("a task ran");
    let hyok_lab_client::scenario::Outcome::Failed { explanation } = &last.outcome else { panic!("task 14 must fail") };
    assert!(explanation.contains("Hop by hop"), "{explanation}");
    assert!(explanation.contains("private endpoint → key manager"), "{explanation}");
}

#[test]
fn scenario_file_errors_point_to_line_and_field() {
    let e = hyok_lab_client::scenario::Scenario::parse(
        "bad.toml",
        "name = \"x\"\ntitle = \"t\"\n[[task]]\nnumber = 2\ntitel = \"typo\"\n",
    )
    .expect_err("unknown field");
    let text = e.to_string();
    assert!(text.contains("line 5") && text.contains("titel"), "{text}");
    let e = hyok_lab_client::scenario::Scenario::parse(
        "bad.toml",
        "name = \"x\"\ntitle = \"t\"\n[[task]]\nnumber = 2\ntitle = \"a\"\n[[task.step]]\nname = \"s\"\nservice = \"identity\"\nauth = \"magic\"\n",
    )
    .expect_err("bad auth");
    let text = e.to_string();
    assert!(text.contains("task 2") && text.contains("\"s\"") && text.contains("magic"), "{text}");
}
