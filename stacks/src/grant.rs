use crate::resources::dynamodb::Table;
use crate::resources::iam::{Effect, Statement};
use crate::resources::kms::Key;
use crate::resources::lambda::Function;
use crate::resources::logs::LogGroup;
use crate::resources::secrets::Secret;
use crate::resources::sqs::Queue;
use crate::{Expr, Handle, Invocable};

/// DynamoDB item actions, for [`Grant::items`].
pub mod dynamodb {
    pub const GET_ITEM: &str = "dynamodb:GetItem";
    pub const PUT_ITEM: &str = "dynamodb:PutItem";
    pub const UPDATE_ITEM: &str = "dynamodb:UpdateItem";
    pub const QUERY: &str = "dynamodb:Query";
}

const TABLE_READ: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
];

const TABLE_WRITE: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];

/// Least-privilege permissions written from typed handles: each grant names the exact
/// resources it is for, never `*` (but for X-Ray's trace uploads, [`Grant::put_traces`],
/// whose actions have no resource to name). Apply with [`Stack::grant`](crate::Stack::grant).
#[derive(Clone, Debug)]
pub struct Grant {
    pub(crate) sid: String,
    actions: Vec<&'static str>,
    resources: Vec<Expr>,
}

impl Grant {
    fn new(sid: String, actions: &[&'static str], resources: Vec<Expr>) -> Self {
        let mut actions = actions.to_vec();
        actions.sort_unstable();
        actions.dedup();
        Grant {
            sid,
            actions,
            resources,
        }
    }

    fn table(kind: &str, table: &Handle<Table>, actions: &[&'static str]) -> Self {
        Grant::new(
            format!("{kind}{}", table.logical_id()),
            actions,
            vec![table.arn(), Expr::sub([table.arn(), "/index/*".into()])],
        )
    }

    /// Read items of `table` and of its indexes.
    pub fn table_read(table: &Handle<Table>) -> Self {
        Grant::table("Read", table, TABLE_READ)
    }

    /// Write items of `table`.
    pub fn table_write(table: &Handle<Table>) -> Self {
        Grant::table("Write", table, TABLE_WRITE)
    }

    /// Read and write items of `table` and read its indexes.
    pub fn table_read_write(table: &Handle<Table>) -> Self {
        let both: Vec<_> = TABLE_READ.iter().chain(TABLE_WRITE).copied().collect();
        Grant::table("ReadWrite", table, &both)
    }

    /// Exactly `actions` (see [`dynamodb`]) on the items of `table`, not its indexes.
    pub fn items(table: &Handle<Table>, actions: &[&'static str]) -> Self {
        Grant::new(
            format!("Items{}", table.logical_id()),
            actions,
            vec![table.arn()],
        )
    }

    /// `dynamodb:Query` on one index of `table`.
    pub fn query_index(table: &Handle<Table>, index: &str) -> Self {
        let id: String = index.chars().filter(char::is_ascii_alphanumeric).collect();
        Grant::new(
            format!("Query{}{id}", table.logical_id()),
            &[dynamodb::QUERY],
            vec![Expr::sub([table.arn(), format!("/index/{index}").into()])],
        )
    }

    /// Read the durable executions of `function` (any version): get one, list them.
    pub fn read_durable_executions(function: &Handle<Function>) -> Self {
        Grant::new(
            format!("ReadExecutions{}", function.logical_id()),
            &[
                "lambda:GetDurableExecution",
                "lambda:GetDurableExecutionHistory",
                "lambda:ListDurableExecutionsByFunction",
            ],
            vec![function.arn(), Expr::sub([function.arn(), ":*".into()])],
        )
    }

    /// Send messages to `queue` (a dead-letter queue's writer).
    pub fn send_messages(queue: &Handle<Queue>) -> Self {
        Grant::new(
            format!("Send{}", queue.logical_id()),
            &["sqs:SendMessage"],
            vec![queue.arn()],
        )
    }

    /// `lambda:InvokeFunction` on exactly `target` (an alias's ARN for a durable function).
    pub fn invoke(target: &impl Invocable) -> Self {
        Grant::new(
            format!("Invoke{}", target.logical_id()),
            &["lambda:InvokeFunction"],
            vec![target.invoke_arn()],
        )
    }

    /// What a durable function's own role needs to checkpoint and read its executions:
    /// `lambda:CheckpointDurableExecution` and `lambda:GetDurableExecutionState` on the
    /// function's versions and aliases (`<function ARN>:*`). Put it in an
    /// `AWS::IAM::Policy`: in the role itself it would form a dependency cycle.
    pub fn durable_execution(function: &Handle<Function>) -> Self {
        Grant::new(
            format!("DurableExecution{}", function.logical_id()),
            &[
                "lambda:CheckpointDurableExecution",
                "lambda:GetDurableExecutionState",
            ],
            vec![Expr::sub([function.arn(), ":*".into()])],
        )
    }

    /// Write log events into `group`.
    pub fn write_logs(group: &Handle<LogGroup>) -> Self {
        Grant::new(
            format!("WriteLogs{}", group.logical_id()),
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![group.arn()],
        )
    }

    /// Upload X-Ray traces: `xray:PutTraceSegments` and `xray:PutTelemetryRecords`, what a
    /// function with active tracing needs. They have no resource type: IAM takes them
    /// only on `*`.
    pub fn put_traces() -> Self {
        Grant::new(
            "XRayTraces".to_owned(),
            &["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            vec!["*".into()],
        )
    }

    /// `kms:Decrypt` with `key`: read what it encrypts (a secret, a table's items).
    pub fn decrypt(key: &Handle<Key>) -> Self {
        Grant::new(
            format!("Decrypt{}", key.logical_id()),
            &["kms:Decrypt"],
            vec![key.arn()],
        )
    }

    /// `kms:GenerateDataKey` and `kms:Decrypt` with `key`: what a sender to a queue
    /// encrypted with it needs.
    pub fn encrypt(key: &Handle<Key>) -> Self {
        Grant::new(
            format!("Encrypt{}", key.logical_id()),
            &["kms:Decrypt", "kms:GenerateDataKey"],
            vec![key.arn()],
        )
    }

    /// Read the value of `secret`.
    pub fn read_secret(secret: &Handle<Secret>) -> Self {
        Grant::new(
            format!("Read{}", secret.logical_id()),
            &["secretsmanager:GetSecretValue"],
            vec![secret.arn()],
        )
    }

    pub(crate) fn into_statement(self, sid: String) -> Statement {
        Statement {
            sid: Some(sid),
            effect: Effect::Allow,
            principal: None,
            action: self.actions.into_iter().map(str::to_owned).collect(),
            resource: self.resources,
            condition: None,
        }
    }
}
