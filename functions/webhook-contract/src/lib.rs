//! The names that the infrastructure (`stacks`) and the Lambda functions must agree on.
//!
//! Everything here is part of a deployed contract: the stack writes these names into the
//! template (environment keys, routes, key attributes) and the functions read them back. They are
//! spelled once, here, so the two sides cannot drift apart. Durable step names are special: the
//! durable execution service replays an execution by matching operations in order, so renaming or
//! reordering a step breaks executions that are in flight when the new code is deployed.
//!
//! ```
//! use webhook_contract::{env, steps};
//! assert_eq!(env::TABLE_NAME, "TABLE_NAME");
//! assert_eq!(steps::ALL, [steps::VALIDATE, steps::PROCESS, steps::FINALIZE]);
//! ```

/// Environment variable keys set by the stack and read by the functions.
pub mod env {
    /// Name of the DynamoDB table holding webhook status records.
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// Days after which a status record expires (DynamoDB TTL). Defaults to [`super::DEFAULT_TTL_DAYS`].
    pub const TTL_DAYS: &str = "TTL_DAYS";
    /// Qualified ARN (alias) of the durable processor that the receiver starts.
    pub const PROCESSOR_FUNCTION: &str = "PROCESSOR_FUNCTION";
    /// ARN of the Secrets Manager secret holding the webhook signing secret (in AWS).
    pub const WEBHOOK_SECRET_ARN: &str = "WEBHOOK_SECRET_ARN";
    /// The webhook signing secret itself, for the local cloud only; never set in a template.
    pub const WEBHOOK_SECRET: &str = "WEBHOOK_SECRET";
    /// Value of `Access-Control-Allow-Origin` on status responses; unset means no CORS headers.
    pub const CORS_ALLOW_ORIGIN: &str = "CORS_ALLOW_ORIGIN";
    /// The stage's name (`dev`, `staging`, `prod`), for messages and metric dimensions.
    pub const STAGE: &str = "STAGE";
    /// Seconds a record may stay non-terminal without an execution before the reconciler
    /// starts one (longer than the receiver's own write-then-start).
    pub const RECONCILE_GRACE_S: &str = "RECONCILE_GRACE_S";
    /// Seconds after which a non-terminal record is reported stuck: the execution timeout
    /// plus two reconcile intervals plus the grace.
    pub const STUCK_AFTER_S: &str = "STUCK_AFTER_S";
    /// Most records one reconciler run examines (bounded work per run).
    pub const RECONCILE_BATCH: &str = "RECONCILE_BATCH";
    /// Fault injection for the local cloud's tests only (see `webhook_core::faults`); never
    /// set in a template.
    pub const LOCAL_FAULTS: &str = "WEBHOOK_LOCAL_FAULTS";
    /// The webhook sources the receiver serves, as JSON: `{"<name>": {"scheme":
    /// "github|standard|stripe|slack|shopify", "secret": "<Secrets Manager ARN>"}}`.
    pub const SOURCES: &str = "WEBHOOK_SOURCES";
    /// Prefix of a source's signing secret for the local cloud: `WEBHOOK_SECRET_<SOURCE>`
    /// (upper case, `-` as `_`); the `default` source's is [`WEBHOOK_SECRET`]. A
    /// `..._PREVIOUS` secret is accepted until `..._ROTATED_AT` (epoch seconds) plus the
    /// rotation grace.
    pub const SOURCE_SECRET_PREFIX: &str = "WEBHOOK_SECRET_";
    /// Seconds after a rotation during which the previous secret is still accepted.
    pub const ROTATION_GRACE_S: &str = "WEBHOOK_ROTATION_GRACE_S";
    /// ARN of the Secrets Manager secret webhook ids are derived with (a server-side key:
    /// ids cannot be guessed from public input).
    pub const ID_KEY_ARN: &str = "WEBHOOK_ID_KEY_ARN";
    /// That key itself, for the local cloud only; never set in a template.
    pub const ID_KEY: &str = "WEBHOOK_ID_KEY";
}

/// Webhook sources: one route each, `POST /webhooks/{source}`.
pub mod sources {
    /// The source `POST /webhooks` (no source segment) belongs to; GitHub's scheme.
    pub const DEFAULT: &str = "default";
    /// The signature schemes a source can use.
    pub const SCHEMES: [&str; 5] = ["github", "standard", "stripe", "slack", "shopify"];
}

/// HTTP routes of the webhook API, as path segments under the stage's base URL.
pub mod routes {
    /// `POST /webhooks` receives a webhook, `GET /webhooks/{id}` reports its status.
    pub const WEBHOOKS: &str = "webhooks";
    /// Name of the path parameter of `/webhooks/{key}`: the webhook id of `GET` and the
    /// source of `POST` (API Gateway allows one parameter name per path level).
    pub const KEY_PARAM: &str = "key";
}

/// Attribute names of the status table.
pub mod table {
    /// Partition key (type S): the webhook id returned by the receiver.
    pub const PARTITION_KEY: &str = "id";
    /// Attribute holding the expiry time in epoch seconds, enabled as the table's TTL.
    pub const TTL_ATTRIBUTE: &str = "ttl";
    /// The sparse global secondary index of records that need attention: present while a
    /// record is not terminal (`open#<shard>`) or FAILED (`failed#<shard>`), absent once
    /// COMPLETED. The reconciler and `deployer webhooks` read it instead of scanning.
    pub const ATTENTION_INDEX: &str = "attention";
    /// Partition key of [`ATTENTION_INDEX`] (type S): `open#<h>` or `failed#<h>`, where
    /// `<h>` is the last hex digit of the id (16 shards per state).
    pub const ATTENTION: &str = "attention";
    /// Sort key of [`ATTENTION_INDEX`] (type N): when the record entered that state, epoch ms.
    pub const ATTENTION_SINCE: &str = "attentionSince";
    /// The attributes [`ATTENTION_INDEX`] projects besides the keys: only what no step
    /// changes, so that a step's write is not also a write of the index (DynamoDB writes
    /// an index only when its keys or projected attributes change). The index is written
    /// when a record enters a state (received, failed, redriven) and when it completes.
    pub const ATTENTION_PROJECTION: [&str; 1] = ["attempt"];
}

/// Metrics the functions publish (CloudWatch embedded metric format) and the stack alarms on.
pub mod metrics {
    /// The namespace of the project's own metrics.
    pub const NAMESPACE: &str = "Webhooks";
    /// The dimension every metric carries: the stage name.
    pub const STAGE_DIMENSION: &str = "Stage";
    /// Webhooks the reconciler found non-terminal past the bound.
    pub const STUCK: &str = "Stuck";
    /// Executions the reconciler started (never started, or a new attempt).
    pub const RESTARTED: &str = "Restarted";
    /// Records the reconciler moved to FAILED from a failed, timed-out or stopped execution.
    pub const MARKED_FAILED: &str = "MarkedFailed";
}

/// Durable step names of the processor, in execution order.
pub mod steps {
    pub const VALIDATE: &str = "validate";
    pub const PROCESS: &str = "process";
    pub const FINALIZE: &str = "finalize";
    /// The steps in the order the processor runs them.
    pub const ALL: [&str; 3] = [VALIDATE, PROCESS, FINALIZE];
    /// The step that records FAILED when any of [`ALL`] fails (checkpointed, so the write
    /// happens once per attempt whatever crashes around it).
    pub const RECORD_FAILURE: &str = "record-failure";
}

/// Name of the alias through which the durable processor is invoked.
pub const DURABLE_ALIAS: &str = "live";

/// Default number of days a status record is kept before DynamoDB TTL removes it.
pub const DEFAULT_TTL_DAYS: u32 = 14;
