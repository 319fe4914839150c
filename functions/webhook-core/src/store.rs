//! The status table: one item per webhook, keyed by its id.
//!
//! Every write is conditional: the first write only creates (`attribute_not_exists`), later
//! writes only move the status forward (by rank) and only set step start times once, so a
//! replayed or retried step never moves a record back. Every write also renews the TTL.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use webhook_contract::{steps, table};

use crate::WebhookId;
use crate::record::{Failure, Record, Start, Status, StepTimes};
use crate::time::Instant;

type Item = HashMap<String, AttributeValue>;

mod attr {
    pub const STATUS: &str = "status";
    pub const RANK: &str = "statusRank";
    pub const CURRENT_STEP: &str = "currentStep";
    pub const STEPS: &str = "steps";
    pub const STARTED_AT: &str = "startedAt";
    pub const FINISHED_AT: &str = "finishedAt";
    pub const RECEIVED_AT: &str = "receivedAt";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const EXPIRES_AT: &str = "expiresAt";
    pub const DELIVERY_ID: &str = "deliveryId";
    pub const PAYLOAD: &str = "payload";
    pub const RESULT: &str = "result";
    pub const ERROR_MESSAGE: &str = "errorMessage";
    pub const ERROR_REASONS: &str = "errorReasons";
    pub const START_STATE: &str = "startState";
    pub const START_ERROR: &str = "startError";
    pub const EXECUTION_ARN: &str = "executionArn";
}

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("webhook {0} has no status record")]
    NotFound(WebhookId),
    #[error("DynamoDB {operation} failed ({code}): {message}")]
    Dynamo {
        operation: &'static str,
        code: String,
        message: String,
        transient: bool,
    },
    #[error("status record {id} is malformed: {reason}")]
    Malformed { id: String, reason: String },
}

impl StoreError {
    /// Whether trying again later may succeed (throttling, timeouts, service errors).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Dynamo {
                transient: true,
                ..
            }
        )
    }

    fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        const TRANSIENT_CODES: [&str; 7] = [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
            "TransactionConflictException",
            "LimitExceededException",
        ];
        match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("Unknown").to_owned();
                StoreError::Dynamo {
                    operation,
                    transient: TRANSIENT_CODES.contains(&code.as_str()),
                    message: e.message().unwrap_or("no message").to_owned(),
                    code,
                }
            }
            // Timeouts, connection failures, unparseable responses: the request may succeed
            // when tried again.
            other => StoreError::Dynamo {
                operation,
                code: "Transport".to_owned(),
                message: format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(other)),
                transient: true,
            },
        }
    }
}

/// A webhook as the receiver records it.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub id: WebhookId,
    pub delivery_id: String,
    pub payload: String,
}

/// The outcome of [`Store::insert`].
#[derive(Debug)]
pub enum Inserted {
    Created(Record),
    /// The webhook was recorded before (a redelivery): its current record.
    Existing(Record),
}

/// A step's progress, written by the processor.
#[derive(Clone, Debug)]
pub struct Advance {
    /// The step name (one of [`steps::ALL`]).
    pub step: &'static str,
    pub phase: Phase,
    /// The status the record moves to.
    pub status: Status,
    /// JSON text of the webhook's result (with [`Status::Completed`]).
    pub result: Option<String>,
    /// Why it failed (with [`Status::Failed`]).
    pub error: Option<Failure>,
}

impl Advance {
    /// A step's start or finish, moving the record to `status`, with no result or error.
    pub fn new(step: &'static str, phase: Phase, status: Status) -> Self {
        Advance {
            step,
            phase,
            status,
            result: None,
            error: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Started,
    Finished,
}

/// Whether an [`Advance`] changed the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advanced {
    Applied,
    /// The record is already past this point (a replay or a retry): nothing was written.
    AlreadyPast,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The status table of `table_name`, whose records expire `ttl_days` after their last write.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    ttl_days: u32,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, ttl_days: u32) -> Self {
        Store {
            client,
            table: table.into(),
            ttl_days,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// `ttl`, `expiresAt` and `updatedAt` for a write at `now`.
    fn expiry(&self, now: Instant) -> [(&'static str, AttributeValue); 3] {
        let expires = now.plus_days(self.ttl_days);
        [
            (table::TTL_ATTRIBUTE, n(expires.epoch_seconds())),
            (attr::EXPIRES_AT, s(expires.rfc3339())),
            (attr::UPDATED_AT, s(now.rfc3339())),
        ]
    }

    /// Records a new webhook as RECEIVED, unless it was recorded before.
    pub async fn insert(&self, new: NewWebhook, now: Instant) -> Result<Inserted, StoreError> {
        let empty_steps = steps::ALL
            .iter()
            .map(|st| ((*st).to_owned(), AttributeValue::M(HashMap::new())))
            .collect();
        let mut item: Item = HashMap::from([
            (table::PARTITION_KEY.to_owned(), s(new.id.as_str())),
            (attr::STATUS.to_owned(), s(Status::Received.as_str())),
            (attr::RANK.to_owned(), n(Status::Received.rank())),
            (attr::STEPS.to_owned(), AttributeValue::M(empty_steps)),
            (attr::RECEIVED_AT.to_owned(), s(now.rfc3339())),
            (attr::DELIVERY_ID.to_owned(), s(new.delivery_id)),
            (attr::PAYLOAD.to_owned(), s(new.payload)),
            (attr::START_STATE.to_owned(), s("PENDING")),
        ]);
        item.extend(self.expiry(now).map(|(k, v)| (k.to_owned(), v)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", table::PARTITION_KEY)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Inserted::Created(decode(&item)?)),
            Err(err) => {
                if let Some(PutItemError::ConditionalCheckFailedException(existing)) =
                    err.as_service_error()
                {
                    return match existing.item() {
                        Some(item) => Ok(Inserted::Existing(decode(item)?)),
                        None => self
                            .get(&new.id)
                            .await?
                            .map(Inserted::Existing)
                            .ok_or(StoreError::NotFound(new.id)),
                    };
                }
                Err(StoreError::from_sdk("PutItem", err))
            }
        }
    }

    /// The record of `id`, read consistently.
    pub async fn get(&self, id: &WebhookId) -> Result<Option<Record>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        out.item().map(decode).transpose()
    }

    /// Records whether the durable execution of `id` was started.
    pub async fn record_start(
        &self,
        id: &WebhookId,
        start: &Start,
        now: Instant,
    ) -> Result<(), StoreError> {
        let mut set = vec!["#state = :state".to_owned()];
        let mut names = HashMap::from([("#state".to_owned(), attr::START_STATE.to_owned())]);
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        let mut remove = Vec::new();
        match start {
            Start::Pending => {
                values.insert(":state".into(), s("PENDING"));
            }
            Start::Started { execution_arn } => {
                values.insert(":state".into(), s("STARTED"));
                names.insert("#err".into(), attr::START_ERROR.into());
                remove.push("#err");
                if let Some(arn) = execution_arn {
                    set.push("#arn = :arn".into());
                    names.insert("#arn".into(), attr::EXECUTION_ARN.into());
                    values.insert(":arn".into(), s(arn));
                }
            }
            Start::Failed { reason } => {
                values.insert(":state".into(), s("FAILED"));
                set.push("#err = :err".into());
                names.insert("#err".into(), attr::START_ERROR.into());
                values.insert(":err".into(), s(reason));
            }
        }
        for (i, (name, value)) in self.expiry(now).into_iter().enumerate() {
            set.push(format!("#x{i} = :x{i}"));
            names.insert(format!("#x{i}"), name.to_owned());
            values.insert(format!(":x{i}"), value);
        }
        names.insert("#id".into(), table::PARTITION_KEY.into());
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, s(id.as_str()))
            .update_expression(expression)
            .condition_expression("attribute_exists(#id)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Err(StoreError::NotFound(id.clone())),
            Err(err) => Err(StoreError::from_sdk("UpdateItem", err)),
        }
    }

    /// Moves the record of `id` forward; a write that would move it back does nothing.
    pub async fn advance(
        &self,
        id: &WebhookId,
        change: &Advance,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        let time_attr = match change.phase {
            Phase::Started => attr::STARTED_AT,
            Phase::Finished => attr::FINISHED_AT,
        };
        let mut names = HashMap::from([
            ("#id".to_owned(), table::PARTITION_KEY.to_owned()),
            ("#status".to_owned(), attr::STATUS.to_owned()),
            ("#rank".to_owned(), attr::RANK.to_owned()),
            ("#steps".to_owned(), attr::STEPS.to_owned()),
            ("#step".to_owned(), change.step.to_owned()),
            ("#time".to_owned(), time_attr.to_owned()),
            ("#current".to_owned(), attr::CURRENT_STEP.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":status".to_owned(), s(change.status.as_str())),
            (":rank".to_owned(), n(change.status.rank())),
            (":now".to_owned(), s(now.rfc3339())),
            (":stepname".to_owned(), s(change.step)),
        ]);
        let mut set = vec![
            "#status = :status".to_owned(),
            "#rank = :rank".to_owned(),
            "#current = :stepname".to_owned(),
            // The first start or finish of a step is the one that counts.
            "#steps.#step.#time = if_not_exists(#steps.#step.#time, :now)".to_owned(),
        ];
        for (i, (name, value)) in self.expiry(now).into_iter().enumerate() {
            set.push(format!("#x{i} = :x{i}"));
            names.insert(format!("#x{i}"), name.to_owned());
            values.insert(format!(":x{i}"), value);
        }
        if let Some(result) = &change.result {
            set.push("#result = :result".into());
            names.insert("#result".into(), attr::RESULT.into());
            values.insert(":result".into(), s(result));
        }
        if let Some(error) = &change.error {
            set.push("#errmsg = :errmsg".into());
            names.insert("#errmsg".into(), attr::ERROR_MESSAGE.into());
            values.insert(":errmsg".into(), s(&error.message));
            if !error.reasons.is_empty() {
                set.push("#reasons = :reasons".into());
                names.insert("#reasons".into(), attr::ERROR_REASONS.into());
                values.insert(
                    ":reasons".into(),
                    AttributeValue::L(error.reasons.iter().map(s).collect()),
                );
            }
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, s(id.as_str()))
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(
                "attribute_exists(#id) AND (#rank < :rank OR (#rank = :rank AND #status = :status))",
            )
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Advanced::Applied),
            Err(err) => {
                let current = match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                        Some(e.item().is_some())
                    }
                    _ => None,
                };
                match current {
                    Some(true) => Ok(Advanced::AlreadyPast),
                    Some(false) => Err(StoreError::NotFound(id.clone())),
                    None => Err(StoreError::from_sdk("UpdateItem", err)),
                }
            }
        }
    }
}

fn is_condition_failure<R>(err: &SdkError<UpdateItemError, R>) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn get<'a>(item: &'a Item, name: &str) -> Option<&'a AttributeValue> {
    item.get(name)
}

fn string(item: &Item, name: &str) -> Option<String> {
    get(item, name).and_then(|v| v.as_s().ok()).cloned()
}

/// The record in `item`.
pub fn decode(item: &Item) -> Result<Record, StoreError> {
    let raw_id = string(item, table::PARTITION_KEY).unwrap_or_default();
    let malformed = |reason: String| StoreError::Malformed {
        id: raw_id.clone(),
        reason,
    };
    let id = WebhookId::parse(&raw_id).map_err(|e| malformed(e.to_string()))?;
    let required = |name: &str| string(item, name).ok_or_else(|| malformed(format!("no `{name}`")));
    let status_text = required(attr::STATUS)?;
    let status =
        Status::parse(&status_text).ok_or_else(|| malformed(format!("status {status_text:?}")))?;
    let mut steps = BTreeMap::new();
    if let Some(Ok(map)) = get(item, attr::STEPS).map(|v| v.as_m()) {
        for (name, times) in map {
            let times = times.as_m().ok();
            let at = |k: &str| {
                times
                    .and_then(|t| t.get(k))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
            };
            steps.insert(
                name.clone(),
                StepTimes {
                    started_at: at(attr::STARTED_AT),
                    finished_at: at(attr::FINISHED_AT),
                },
            );
        }
    }
    let ttl = get(item, table::TTL_ATTRIBUTE)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| malformed(format!("no numeric `{}`", table::TTL_ATTRIBUTE)))?;
    let error = string(item, attr::ERROR_MESSAGE).map(|message| Failure {
        message,
        reasons: get(item, attr::ERROR_REASONS)
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|r| r.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
    });
    let start = match string(item, attr::START_STATE).as_deref() {
        Some("STARTED") => Start::Started {
            execution_arn: string(item, attr::EXECUTION_ARN),
        },
        Some("FAILED") => Start::Failed {
            reason: string(item, attr::START_ERROR).unwrap_or_default(),
        },
        _ => Start::Pending,
    };
    Ok(Record {
        status,
        current_step: string(item, attr::CURRENT_STEP),
        steps,
        received_at: required(attr::RECEIVED_AT)?,
        updated_at: required(attr::UPDATED_AT)?,
        expires_at: required(attr::EXPIRES_AT)?,
        ttl,
        delivery_id: required(attr::DELIVERY_ID)?,
        payload: required(attr::PAYLOAD)?,
        result: string(item, attr::RESULT),
        error,
        start,
        id,
    })
}
