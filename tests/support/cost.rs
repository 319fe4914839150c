//! What a million webhooks cost on AWS: a price table (list prices, us-east-1, dated, each
//! with the page it comes from), the usage of one webhook by a design, and the arithmetic.
//! Pure: `make bench` measures this project's usage through the local cloud and models the
//! two SAM designs from their code paths (../shared/design/SEEDS.md); this prices them.
//! Free tiers are left out (they are per account, not per webhook).

/// One price: US dollars per unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub usd: f64,
    pub unit: &'static str,
    pub source: &'static str,
}

/// Every price the model uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prices {
    /// When the prices were read.
    pub as_of: &'static str,
    pub api_gateway_rest_request: Price,
    pub lambda_request: Price,
    pub lambda_gb_second_x86: Price,
    pub lambda_gb_second_arm: Price,
    pub durable_operation: Price,
    pub durable_data_written_gb: Price,
    pub durable_data_retained_gb_month: Price,
    pub dynamodb_write_unit: Price,
    pub dynamodb_read_unit: Price,
    pub logs_ingested_gb: Price,
}

const LAMBDA: &str = "https://aws.amazon.com/lambda/pricing/";

/// us-east-1 list prices, first tier. The durable functions prices (operations, data
/// written, data retained) are from the Lambda pricing page as third-party copies of it
/// quote them (2026-09/10); what counts as one operation is AWS's own table,
/// <https://docs.aws.amazon.com/lambda/latest/dg/durable-execution-sdk.html> ("How durable
/// operations are metered"): starting an execution 1, a step 1 per attempt.
pub const US_EAST_1: Prices = Prices {
    as_of: "2026-12-02",
    api_gateway_rest_request: Price {
        usd: 3.50 / 1e6,
        unit: "request (REST API, first 333 M a month)",
        source: "https://aws.amazon.com/api-gateway/pricing/",
    },
    lambda_request: Price {
        usd: 0.20 / 1e6,
        unit: "request",
        source: LAMBDA,
    },
    lambda_gb_second_x86: Price {
        usd: 0.000_016_666_7,
        unit: "GB-second (x86_64, first tier)",
        source: LAMBDA,
    },
    lambda_gb_second_arm: Price {
        usd: 0.000_013_333_4,
        unit: "GB-second (arm64, first tier)",
        source: LAMBDA,
    },
    durable_operation: Price {
        usd: 8.00 / 1e6,
        unit: "durable operation",
        source: LAMBDA,
    },
    durable_data_written_gb: Price {
        usd: 0.25,
        unit: "GB of durable data written",
        source: LAMBDA,
    },
    durable_data_retained_gb_month: Price {
        usd: 0.15,
        unit: "GB-month of durable data retained",
        source: LAMBDA,
    },
    dynamodb_write_unit: Price {
        usd: 0.625 / 1e6,
        unit: "write request unit (on-demand, since the November 2024 cut)",
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    dynamodb_read_unit: Price {
        usd: 0.125 / 1e6,
        unit: "read request unit (on-demand)",
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    logs_ingested_gb: Price {
        usd: 0.50,
        unit: "GB ingested (CloudWatch Logs standard; Lambda logs' first 10 TB)",
        source: "https://aws.amazon.com/cloudwatch/pricing/",
    },
};

/// Lambda's own START, END and REPORT lines of one invocation in the text log format (a
/// REPORT line with its tab-separated figures): about 250 bytes. The JSON format with
/// `SystemLogLevel: WARN` (this project's template) writes none of them.
pub const PLATFORM_LINES_BYTES: f64 = 250.0;

/// The CPU architecture a function is billed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86,
    Arm,
}

impl From<stacks::resources::lambda::Architecture> for Arch {
    fn from(a: stacks::resources::lambda::Architecture) -> Self {
        match a {
            stacks::resources::lambda::Architecture::X86_64 => Arch::X86,
            stacks::resources::lambda::Architecture::Arm64 => Arch::Arm,
        }
    }
}

/// One function's share of a webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocations {
    pub function: &'static str,
    /// Invocations per webhook.
    pub count: f64,
    pub memory_mb: f64,
    /// Billed duration of one invocation.
    pub ms: f64,
    pub arch: Arch,
}

/// What one webhook uses, by what AWS bills.
#[derive(Clone, Debug, PartialEq)]
pub struct Usage {
    pub api_requests: f64,
    pub invocations: Vec<Invocations>,
    pub durable_operations: f64,
    pub durable_bytes: f64,
    pub retention_days: f64,
    pub write_units: f64,
    pub read_units: f64,
    pub log_bytes: f64,
}

/// One line of a bill for a million webhooks.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub item: &'static str,
    pub usd: f64,
}

const GB: f64 = 1024.0 * 1024.0 * 1024.0;
const MILLION: f64 = 1e6;

/// The bill of a million webhooks of `usage` at `prices`, by service.
pub fn per_million(usage: &Usage, prices: &Prices) -> Vec<Line> {
    let gb_seconds = |arch: Arch| -> f64 {
        usage
            .invocations
            .iter()
            .filter(|i| i.arch == arch)
            .map(|i| i.count * i.memory_mb / 1024.0 * i.ms / 1000.0)
            .sum()
    };
    let requests: f64 = usage.invocations.iter().map(|i| i.count).sum();
    let retained_months = usage.retention_days / 30.0;
    let per_webhook = [
        (
            "API Gateway requests",
            usage.api_requests * prices.api_gateway_rest_request.usd,
        ),
        ("Lambda requests", requests * prices.lambda_request.usd),
        (
            "Lambda compute (GB-s)",
            gb_seconds(Arch::X86) * prices.lambda_gb_second_x86.usd
                + gb_seconds(Arch::Arm) * prices.lambda_gb_second_arm.usd,
        ),
        (
            "durable operations",
            usage.durable_operations * prices.durable_operation.usd,
        ),
        (
            "durable data written + retained",
            usage.durable_bytes / GB
                * (prices.durable_data_written_gb.usd
                    + retained_months * prices.durable_data_retained_gb_month.usd),
        ),
        (
            "DynamoDB request units",
            usage.write_units * prices.dynamodb_write_unit.usd
                + usage.read_units * prices.dynamodb_read_unit.usd,
        ),
        (
            "CloudWatch Logs ingestion",
            usage.log_bytes / GB * prices.logs_ingested_gb.usd,
        ),
    ];
    per_webhook
        .into_iter()
        .map(|(item, usd)| Line {
            item,
            usd: usd * MILLION,
        })
        .collect()
}

/// The total of a bill.
pub fn total(bill: &[Line]) -> f64 {
    bill.iter().map(|l| l.usd).sum()
}

/// DynamoDB write units of one write of an item of `bytes` (1 KB each, rounded up).
pub fn write_units(bytes: f64) -> f64 {
    (bytes / 1024.0).ceil().max(1.0)
}

/// What the two SAM designs have in common with this project when modelled: the payload,
/// and the measured duration of the function doing the same work (theirs run Node.js or
/// Python, which are not faster: the model flatters them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Baseline {
    /// The webhook's body.
    pub payload_bytes: f64,
    pub receiver_ms: f64,
    pub processor_ms: f64,
}

/// One x86_64 invocation per webhook of `function`.
fn once(function: &'static str, memory_mb: f64, ms: f64) -> Invocations {
    Invocations {
        function,
        count: 1.0,
        memory_mb,
        ms,
        arch: Arch::X86,
    }
}

/// A status item's attributes besides the payload (id, status, step, timestamps, ttl).
pub const ITEM_OVERHEAD_BYTES: f64 = 200.0;

/// One application log line of a Node.js or Python function in the text format: timestamp,
/// request id, level and a short message.
pub const LOG_LINE_BYTES: f64 = 120.0;

/// A small step result (a few fields: token, status, timestamp).
const STEP_RESULT_BYTES: f64 = 120.0;

/// One write of the SAM designs' item (it holds the payload), with their GSI
/// (`TimestampIndex`, projection ALL, its key on every item): the table's write and the
/// index's copy, each of the whole item.
fn item_write_units(payload_bytes: f64) -> f64 {
    2.0 * write_units(payload_bytes + ITEM_OVERHEAD_BYTES)
}

/// What sets the two SAM designs apart; everything else they share (a validator and a
/// durable function per webhook, one whole-item write per step, 7-day retention).
struct SamDesign {
    steps: f64,
    memory_mb: f64,
    log_lines: f64,
    /// Whether a log line carries the payload.
    logs_payload: bool,
}

fn sam(d: SamDesign, b: Baseline) -> Usage {
    let payload_logged = if d.logs_payload { b.payload_bytes } else { 0.0 };
    Usage {
        api_requests: 1.0,
        invocations: vec![
            once("validator", d.memory_mb, b.receiver_ms),
            once("durable function", d.memory_mb, b.processor_ms),
        ],
        durable_operations: 1.0 + d.steps,
        durable_bytes: b.payload_bytes + d.steps * STEP_RESULT_BYTES,
        retention_days: 7.0,
        write_units: d.steps * item_write_units(b.payload_bytes),
        read_units: 0.0,
        log_bytes: d.log_lines * LOG_LINE_BYTES + payload_logged + 2.0 * PLATFORM_LINES_BYTES,
    }
}

/// The Node.js SAM design (aws-samples/serverless-patterns
/// `lambda-durable-webhook-sam-nodejs`, read at fb7b5d0): API Gateway invokes the durable
/// function asynchronously (no receiver); four steps (initialize-execution, validate,
/// process, finalize): a PutItem of the whole item with the payload (STARTED), then three
/// UpdateItems (each billed on the whole item, and copied to the ALL-projected index);
/// validate calls a validator function synchronously; 512 MB, x86_64; six log lines, one
/// of them the payload; text logs with Lambda's START/END/REPORT lines.
pub fn sam_node(b: Baseline) -> Usage {
    let design = SamDesign {
        steps: 4.0,
        memory_mb: 512.0,
        log_lines: 6.0,
        logs_payload: true,
    };
    sam(design, b)
}

/// The Python SAM design (aws-samples/serverless-patterns
/// `lambda-durable-webhook-sam-python`, read at fb7b5d0): API Gateway (proxy) -> validator
/// -> asynchronous Invoke of the durable function; three steps (validate, process,
/// finalize), each a PutItem of the whole item with the payload (copied to the
/// ALL-projected index); 128 MB (SAM's default), x86_64; seven log lines; text logs with
/// Lambda's START/END/REPORT lines. Nothing is written before the 202.
pub fn sam_python(b: Baseline) -> Usage {
    let design = SamDesign {
        steps: 3.0,
        memory_mb: 128.0,
        log_lines: 7.0,
        logs_payload: false,
    };
    sam(design, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage {
            api_requests: 1.0,
            invocations: vec![Invocations {
                function: "f",
                count: 2.0,
                memory_mb: 512.0,
                ms: 10.0,
                arch: Arch::X86,
            }],
            durable_operations: 4.0,
            durable_bytes: GB / MILLION,
            retention_days: 30.0,
            write_units: 5.0,
            read_units: 2.0,
            log_bytes: GB / MILLION,
        }
    }

    #[test]
    fn a_million_webhooks_are_priced_service_by_service() {
        let bill = per_million(&usage(), &US_EAST_1);
        let usd = |item: &str| bill.iter().find(|l| l.item == item).unwrap().usd;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(usd("API Gateway requests"), 3.50));
        assert!(close(usd("Lambda requests"), 0.40));
        // 2 x 0.5 GB x 0.01 s = 0.01 GB-s per webhook.
        assert!(close(
            usd("Lambda compute (GB-s)"),
            0.01 * 0.000_016_666_7 * 1e6
        ));
        assert!(close(usd("durable operations"), 32.0));
        // 1 GB written, kept a month.
        assert!(close(usd("durable data written + retained"), 0.25 + 0.15));
        assert!(close(
            usd("DynamoDB request units"),
            5.0 * 0.625 + 2.0 * 0.125
        ));
        assert!(close(usd("CloudWatch Logs ingestion"), 0.50));
        assert!(close(total(&bill), bill.iter().map(|l| l.usd).sum()));
    }

    #[test]
    fn arm_is_billed_at_its_own_rate() {
        let mut u = usage();
        u.invocations[0].arch = Arch::Arm;
        let bill = per_million(&u, &US_EAST_1);
        let compute = bill
            .iter()
            .find(|l| l.item == "Lambda compute (GB-s)")
            .unwrap();
        assert!((compute.usd - 0.01 * 0.000_013_333_4 * 1e6).abs() < 1e-9);
    }

    #[test]
    fn a_write_costs_a_unit_per_kilobyte_rounded_up() {
        assert_eq!(write_units(0.0), 1.0);
        assert_eq!(write_units(1024.0), 1.0);
        assert_eq!(write_units(1025.0), 2.0);
    }

    #[test]
    fn the_sam_designs_are_counted_from_their_code_paths() {
        let b = Baseline {
            payload_bytes: 300.0,
            receiver_ms: 5.0,
            processor_ms: 10.0,
        };
        // Node: 1 put + 3 updates, each with its index copy; Python: 3 puts, likewise.
        let node = sam_node(b);
        assert_eq!((node.durable_operations, node.write_units), (5.0, 8.0));
        assert_eq!(node.invocations.len(), 2);
        let python = sam_python(b);
        assert_eq!((python.durable_operations, python.write_units), (4.0, 6.0));
        assert_eq!(python.invocations[0].memory_mb, 128.0);
        // A payload over 1 KB makes each of their whole-item writes cost more.
        let big = sam_python(Baseline {
            payload_bytes: 4000.0,
            ..b
        });
        assert_eq!(big.write_units, 3.0 * 2.0 * 5.0);
    }
}
