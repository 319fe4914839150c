//! `make bench`: the project's figures, as a table with units.
//!
//! Synth: the whole `deployer synth` process (release build), as a user runs it, median of
//! many runs, and the peak resident memory of those processes.

use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

const SYNTH_RUNS: usize = 30;

struct Row {
    metric: String,
    value: f64,
    unit: &'static str,
    target: &'static str,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn synth_rows() -> Vec<Row> {
    let bin = tests::deployer_bin();
    let dir = tempfile::tempdir().expect("temporary directory");
    let run = || {
        let started = Instant::now();
        let status = Command::new(&bin)
            .args(["synth", "--stage", "dev", "--out"])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("deployer starts");
        assert!(status.success(), "deployer synth failed");
        started.elapsed()
    };
    // Warm the page cache, then measure.
    run();
    let times: Vec<Duration> = (0..SYNTH_RUNS).map(|_| run()).collect();
    let max_rss_kib = getrusage(UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss();
    let in_process = {
        let started = Instant::now();
        let n = 200;
        for _ in 0..n {
            let t = stacks::webhook::synth(stacks::webhook::Stage::Dev).expect("synth");
            std::hint::black_box(t.render(stacks::Format::Yaml).expect("render"));
        }
        started.elapsed() / n
    };
    vec![
        Row {
            metric: format!("synth webhooks-dev, whole process, median of {SYNTH_RUNS}"),
            value: median(times.clone()).as_secs_f64() * 1e3,
            unit: "ms",
            target: "<= 20 ms (cdk synth: 11.3 s)",
        },
        Row {
            metric: format!("synth webhooks-dev, whole process, slowest of {SYNTH_RUNS}"),
            value: times
                .iter()
                .max()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3,
            unit: "ms",
            target: "",
        },
        Row {
            metric: "synth peak resident memory (max RSS)".to_owned(),
            value: max_rss_kib as f64 / 1024.0,
            unit: "MiB",
            target: "<= 20 MiB (cdk synth: 428 MiB)",
        },
        Row {
            metric: "synth + render, in process, mean of 200".to_owned(),
            value: in_process.as_secs_f64() * 1e6,
            unit: "µs",
            target: "",
        },
    ]
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let rows = synth_rows();
    let width = rows.iter().map(|r| r.metric.len()).max().unwrap_or(6);
    println!(
        "| {:width$} | {:>10} | {:4} | target",
        "metric", "value", "unit"
    );
    println!("|-{:-<width$}-|-{:->10}-|-{:-<4}-|-------", "", "", "");
    for r in rows {
        println!(
            "| {:width$} | {:>10.2} | {:4} | {}",
            r.metric, r.value, r.unit, r.target
        );
    }
}
