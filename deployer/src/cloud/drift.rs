//! `deployer drift --stage S`: CloudFormation drift detection of the stage's stack
//! (`DetectStackDrift`, polled to its end with a deadline), then each resource that is not
//! in sync with its property differences (`DescribeStackResourceDrifts`, every page).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use stacks::webhook::Stage;

use super::commands::{OutputFormat, runtime};
use super::{Cloud, sdk_error};

/// How long a detection may run before the deployer gives up waiting for it.
const DETECTION_DEADLINE: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// The stage whose stack to check.
    #[arg(long, value_parser = crate::stage_parser())]
    pub stage: Stage,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// One property of a resource that differs from the template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDrift {
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub difference: String,
}

/// A resource's drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    /// `IN_SYNC`, `MODIFIED`, `DELETED`, `NOT_CHECKED`, ...
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyDrift>,
}

/// The outcome of one detection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub stack: String,
    /// `IN_SYNC` or `DRIFTED`.
    pub status: String,
    pub drifted: bool,
    pub resources: Vec<ResourceDrift>,
    /// Functions running hotswapped code (`deploy --hotswap`) since the last full deploy,
    /// with the package each runs: drift CloudFormation does not see.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hotswapped: BTreeMap<String, String>,
}

/// Starts a detection and waits for its end; the stack's drift status.
async fn detect(cloud: &Cloud, stack: &str) -> anyhow::Result<String> {
    let id = cloud
        .cfn
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .map_err(sdk_error)
        .with_context(|| format!("cannot start drift detection of stack {stack}"))?
        .stack_drift_detection_id
        .context("CloudFormation gave no detection id")?;
    let began = Instant::now();
    loop {
        let out = cloud
            .cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(sdk_error)
            .context("cannot read the drift detection's status")?;
        let status = out.detection_status().map(|s| s.as_str()).unwrap_or("");
        match status {
            "DETECTION_COMPLETE" => {
                return Ok(out
                    .stack_drift_status()
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_owned());
            }
            "DETECTION_FAILED" => bail!(
                "drift detection of stack {stack} failed: {}",
                out.detection_status_reason().unwrap_or("no reason given")
            ),
            _ if began.elapsed() > DETECTION_DEADLINE => bail!(
                "drift detection of stack {stack} is still running after {} s; run the command again later",
                DETECTION_DEADLINE.as_secs()
            ),
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Every resource's drift (every page).
async fn resource_drifts(cloud: &Cloud, stack: &str) -> anyhow::Result<Vec<ResourceDrift>> {
    let mut out = Vec::new();
    let mut pages = cloud
        .cfn
        .describe_stack_resource_drifts()
        .stack_name(stack)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(sdk_error)
            .with_context(|| format!("cannot read the resource drifts of stack {stack}"))?;
        for d in page.stack_resource_drifts() {
            out.push(ResourceDrift {
                logical_id: d.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: d.resource_type().unwrap_or_default().to_owned(),
                status: d
                    .stack_resource_drift_status()
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_owned(),
                properties: d
                    .property_differences()
                    .iter()
                    .map(|p| PropertyDrift {
                        path: p.property_path().unwrap_or_default().to_owned(),
                        expected: p.expected_value().unwrap_or_default().to_owned(),
                        actual: p.actual_value().unwrap_or_default().to_owned(),
                        difference: p
                            .difference_type()
                            .map_or("NOT_EQUAL", |d| d.as_str())
                            .to_owned(),
                    })
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    Ok(out)
}

/// Prints a report: the stack's status, then each resource not in sync and its properties.
pub fn print(out: &mut dyn Write, r: &Report) {
    let off: Vec<&ResourceDrift> = r
        .resources
        .iter()
        .filter(|d| d.status != "IN_SYNC")
        .collect();
    let _ = writeln!(
        out,
        "{}: {} ({} of {} resources not in sync)",
        r.stack,
        r.status,
        off.iter().filter(|d| d.status != "NOT_CHECKED").count(),
        r.resources.len()
    );
    for (function, package) in &r.hotswapped {
        let _ = writeln!(
            out,
            "  HOTSWAPPED   {function:<32} runs {package}, not its template's code, until the next full deploy"
        );
    }
    for d in off {
        let _ = writeln!(
            out,
            "  {:<12} {:<32} {}",
            d.status, d.logical_id, d.resource_type
        );
        for p in &d.properties {
            let _ = writeln!(
                out,
                "      {} ({}): expected {}, actual {}",
                p.path, p.difference, p.expected, p.actual
            );
        }
    }
}

pub fn drift(args: DriftArgs) -> anyhow::Result<()> {
    let stack = args.stage.stack_name();
    let report = runtime()?.block_on(async {
        let cloud = Cloud::connect().await?;
        if super::stack::describe(&cloud, &stack).await?.is_none() {
            bail!("stack {stack} does not exist: deploy the stage first");
        }
        eprintln!("{stack}: detecting drift (CloudFormation reads every resource)");
        let status = detect(&cloud, &stack).await?;
        let resources = resource_drifts(&cloud, &stack).await?;
        let bucket = super::assets::bucket(&cloud).await?;
        let hotswapped = super::hotswap::marker(&cloud, &bucket, &stack)
            .await?
            .unwrap_or_default()
            .functions;
        Ok::<_, anyhow::Error>(Report {
            drifted: status == "DRIFTED" || !hotswapped.is_empty(),
            hotswapped,
            stack: stack.clone(),
            status,
            resources,
        })
    })?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => print(&mut std::io::stdout().lock(), &report),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_what_is_not_in_sync_with_each_property() {
        let drift = |id: &str, status: &str| ResourceDrift {
            logical_id: id.into(),
            resource_type: "AWS::Lambda::Function".into(),
            status: status.into(),
            properties: vec![],
        };
        let mut modified = drift("Receiver", "MODIFIED");
        modified.properties.push(PropertyDrift {
            path: "/MemorySize".into(),
            expected: "256".into(),
            actual: "1024".into(),
            difference: "NOT_EQUAL".into(),
        });
        let report = Report {
            stack: "webhooks-dev".into(),
            status: "DRIFTED".into(),
            drifted: true,
            resources: vec![
                modified,
                drift("Status", "IN_SYNC"),
                drift("Api", "NOT_CHECKED"),
            ],
            hotswapped: BTreeMap::from([("Status".into(), "assets/abc.zip".into())]),
        };
        let mut out = Vec::new();
        print(&mut out, &report);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "webhooks-dev: DRIFTED (1 of 3 resources not in sync)\n  \
             HOTSWAPPED   Status                           runs assets/abc.zip, not its template's code, until the next full deploy\n  \
             MODIFIED     Receiver                         AWS::Lambda::Function\n      \
             /MemorySize (NOT_EQUAL): expected 256, actual 1024\n  \
             NOT_CHECKED  Api                              AWS::Lambda::Function\n"
        );
    }
}
