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
use base64::Engine;

use crate::record::{
    Failure, MAX_NAME_CHARS, MAX_TEXT_CHARS, Record, Start, Status, StepTimes, cap, cap_list,
};
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
    pub const ATTEMPT: &str = "attempt";
    pub const ERROR_TYPE: &str = "errorType";
    pub const ERROR_STEP: &str = "errorStep";
    pub const ERROR_ATTEMPTS: &str = "errorAttempts";
    pub const SOURCE: &str = "source";
    pub const SCHEME: &str = "scheme";
    pub const BODY_HASH: &str = "bodyHash";
    pub const EVENT_TYPE: &str = "eventType";
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
    #[error("the page cursor is not one this store gave out ({0})")]
    BadCursor(String),
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
    /// The source it came in through.
    pub source: String,
    /// The signature scheme of that source (which envelope its events have).
    pub scheme: String,
    /// The SHA-256 of the body (hex): a redelivery must carry the same body.
    pub body_hash: String,
    /// The provider's event type, when the request names one.
    pub event_type: Option<String>,
}

impl NewWebhook {
    /// A webhook of the `default` source, no event type.
    pub fn new(id: WebhookId, delivery_id: impl Into<String>, payload: impl Into<String>) -> Self {
        let payload = payload.into();
        NewWebhook {
            id,
            delivery_id: delivery_id.into(),
            body_hash: crate::ids::body_hash(payload.as_bytes()),
            payload,
            source: webhook_contract::sources::DEFAULT.to_owned(),
            scheme: "github".to_owned(),
            event_type: None,
        }
    }
}

/// The outcome of [`Store::insert`].
#[derive(Debug)]
pub enum Inserted {
    Created(Record),
    /// The webhook was recorded before (a redelivery, or, where the body identifies the
    /// webhook, a replay under another delivery id): its current record.
    Existing(Record),
}

/// A step's progress, written by the processor.
#[derive(Clone, Debug)]
pub struct Advance {
    /// The step name (one of [`steps::ALL`]).
    pub step: &'static str,
    pub phase: Phase,
    /// The status the record moves to (never FAILED: see [`Store::fail`]).
    pub status: Status,
    /// JSON text of the webhook's result (with [`Status::Completed`]).
    pub result: Option<String>,
    /// The durable execution running the attempt: the write also records the attempt as
    /// started by it (the processor's first write does, so the receiver need not).
    pub started_by: Option<String>,
}

impl Advance {
    /// A step's start or finish, moving the record to `status`, with no result.
    pub fn new(step: &'static str, phase: Phase, status: Status) -> Self {
        Advance {
            step,
            phase,
            status,
            result: None,
            started_by: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Started,
    Finished,
    /// The whole step, started at this instant and finished with the write: one write for
    /// both timestamps.
    Ran {
        started: Instant,
    },
}

/// Whether a conditional write changed the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advanced {
    Applied,
    /// The record is already past this point, or on another attempt (a replay, a retry, a
    /// redriven webhook): nothing was written.
    AlreadyPast,
}

/// What a new attempt may start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartFrom {
    /// A FAILED record (a redrive by an operator).
    Failed,
    /// A record that is not terminal but whose execution belongs to an earlier life of the
    /// record (the reconciler, after a record expired and came back).
    Open,
}

/// The outcome of [`Store::new_attempt`].
#[derive(Debug)]
pub enum Restarted {
    /// The record is now RECEIVED on this attempt.
    Attempt(u32),
    /// The record is not in the expected state (any more): its current value.
    Refused(Box<Record>),
}

/// Which part of the attention index to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attention {
    /// RECEIVED, VALIDATING or PROCESSING.
    Open,
    Failed,
}

impl Attention {
    fn key(self, id: &WebhookId) -> String {
        self.partition(id.as_str().chars().last().unwrap_or('0'))
    }

    /// What an index key (`<prefix>#<shard>`) starts with.
    fn prefix(self) -> &'static str {
        match self {
            Attention::Open => "open",
            Attention::Failed => "failed",
        }
    }

    /// The state an index key names.
    fn of_key(key: &str) -> Option<Self> {
        let prefix = key.split_once('#')?.0;
        [Attention::Open, Attention::Failed]
            .into_iter()
            .find(|a| a.prefix() == prefix)
    }

    fn partition(self, shard: char) -> String {
        format!("{}#{shard}", self.prefix())
    }
}

/// How many times [`Store::get_many`] asks for keys left unprocessed.
const BATCH_ROUNDS: u32 = 5;

/// The 16 shards of each state in the attention index (the last hex digit of the id).
const SHARDS: &str = "0123456789abcdef";

/// One record as the attention index shows it: its keys and what does not change while an
/// attempt runs (the index is written when a record enters or leaves a state, never by a
/// step: see [`table::ATTENTION_PROJECTION`]). Its status, step and execution are the
/// record's ([`Store::get_many`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: WebhookId,
    pub state: Attention,
    pub attempt: u32,
    /// When it entered its state, epoch ms.
    pub since: u64,
}

/// One page of [`Store::attention`].
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Where the next page starts, when there is one.
    pub next: Option<String>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An update expression with its placeholders: `#n0 = :v0`, `REMOVE #n1`...
#[derive(Debug, Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    names: HashMap<String, String>,
    values: Item,
}

impl Update {
    fn name(&mut self, attr: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| *v == attr) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), attr.to_owned());
        k
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (name, value) = (self.name(attr), self.value(v));
        self.set.push(format!("{name} = {value}"));
        self
    }

    /// `parent.child = if_not_exists(parent.child, v)`: the first write is the one that counts.
    fn set_once(&mut self, path: &[&str], v: AttributeValue) -> &mut Self {
        let path = path
            .iter()
            .map(|a| self.name(a))
            .collect::<Vec<_>>()
            .join(".");
        let value = self.value(v);
        self.set
            .push(format!("{path} = if_not_exists({path}, {value})"));
        self
    }

    fn remove(&mut self, attr: &str) -> &mut Self {
        let name = self.name(attr);
        self.remove.push(name);
        self
    }

    fn expression(&self) -> String {
        let mut out = String::new();
        if !self.set.is_empty() {
            out.push_str(&format!("SET {}", self.set.join(", ")));
        }
        if !self.remove.is_empty() {
            out.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        out
    }
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

    pub fn client(&self) -> &Client {
        &self.client
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

    /// Renews the TTL and `updatedAt` in `u`.
    fn renew(&self, u: &mut Update, now: Instant) {
        for (name, value) in self.expiry(now) {
            u.set(name, value);
        }
    }

    /// Sends `u` for `id` under `condition` (and that the record exists). On a failed
    /// condition, the current item (or `None` when there is none).
    async fn update(
        &self,
        id: &WebhookId,
        u: Update,
        condition: Condition,
    ) -> Result<Result<(), Option<Item>>, StoreError> {
        let expression = u.expression();
        let Update {
            mut names,
            mut values,
            ..
        } = u;
        names.insert("#cid".into(), table::PARTITION_KEY.into());
        for (k, v) in condition.names {
            names.insert(k.to_owned(), v.to_owned());
        }
        for (k, v) in condition.values {
            values.insert(k.to_owned(), v);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, s(id.as_str()))
            .update_expression(expression)
            // DynamoDB refuses redundant parentheses: `condition` brings its own.
            .condition_expression(format!(
                "attribute_exists(#cid) AND {}",
                condition.expression
            ))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    Ok(Err(e.item().cloned()))
                }
                _ => Err(StoreError::from_sdk("UpdateItem", err)),
            },
        }
    }

    /// The item of a new webhook: RECEIVED on attempt 1.
    fn new_item(&self, new: &NewWebhook, now: Instant) -> Item {
        let empty_steps = steps::ALL
            .iter()
            .map(|st| ((*st).to_owned(), AttributeValue::M(HashMap::new())))
            .collect();
        let mut item: Item = HashMap::from([
            (table::PARTITION_KEY.to_owned(), s(new.id.as_str())),
            (attr::STATUS.to_owned(), s(Status::Received.as_str())),
            (attr::RANK.to_owned(), n(Status::Received.rank())),
            (attr::ATTEMPT.to_owned(), n(1)),
            (attr::STEPS.to_owned(), AttributeValue::M(empty_steps)),
            (attr::RECEIVED_AT.to_owned(), s(now.rfc3339())),
            (attr::DELIVERY_ID.to_owned(), s(&new.delivery_id)),
            (attr::PAYLOAD.to_owned(), s(&new.payload)),
            (attr::SOURCE.to_owned(), s(&new.source)),
            (attr::SCHEME.to_owned(), s(&new.scheme)),
            (attr::BODY_HASH.to_owned(), s(&new.body_hash)),
            (attr::START_STATE.to_owned(), s("PENDING")),
            (table::ATTENTION.to_owned(), s(Attention::Open.key(&new.id))),
            (table::ATTENTION_SINCE.to_owned(), n(now.epoch_millis())),
        ]);
        if let Some(t) = &new.event_type {
            item.insert(attr::EVENT_TYPE.to_owned(), s(cap(t, MAX_TEXT_CHARS)));
        }
        item.extend(self.expiry(now).map(|(k, v)| (k.to_owned(), v)));
        item
    }

    /// Records a new webhook as RECEIVED on attempt 1, unless it was recorded before: one
    /// conditional write.
    pub async fn insert(&self, new: NewWebhook, now: Instant) -> Result<Inserted, StoreError> {
        let item = self.new_item(&new, now);
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
                    return self.existing(&new.id, existing.item()).await;
                }
                Err(StoreError::from_sdk("PutItem", err))
            }
        }
    }

    /// The record that was there, from the failed condition's item or read again.
    async fn existing(&self, id: &WebhookId, item: Option<&Item>) -> Result<Inserted, StoreError> {
        match item {
            Some(item) => Ok(Inserted::Existing(decode(item)?)),
            None => self
                .get(id)
                .await?
                .map(Inserted::Existing)
                .ok_or_else(|| StoreError::NotFound(id.clone())),
        }
    }

    /// The record of `id`, read consistently.
    pub async fn get(&self, id: &WebhookId) -> Result<Option<Record>, StoreError> {
        self.read(id, true).await
    }

    /// What never changes of the record of `id` (its payload, source, scheme, delivery,
    /// event type): an eventually consistent read, half the read units of [`Self::get`],
    /// and a consistent one only when the first does not see the record yet.
    pub async fn get_settled(&self, id: &WebhookId) -> Result<Option<Record>, StoreError> {
        match self.read(id, false).await? {
            Some(record) => Ok(Some(record)),
            None => self.read(id, true).await,
        }
    }

    async fn read(&self, id: &WebhookId, consistent: bool) -> Result<Option<Record>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, s(id.as_str()))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        out.item().map(decode).transpose()
    }

    /// The records of `ids` that exist (eventually consistent, in no particular order):
    /// BatchGetItem, 100 keys a call, keys the service leaves unprocessed asked again up
    /// to [`BATCH_ROUNDS`] times.
    pub async fn get_many(&self, ids: &[WebhookId]) -> Result<Vec<Record>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|id| HashMap::from([(table::PARTITION_KEY.to_owned(), s(id.as_str()))]))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .map_err(|e| StoreError::Malformed {
                        id: chunk[0].to_string(),
                        reason: e.to_string(),
                    })?,
            );
            for round in 0..BATCH_ROUNDS {
                let Some(request) = pending.take() else { break };
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::from_sdk("BatchGetItem", e))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    records.push(decode(item)?);
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
            if pending.is_some() {
                return Err(StoreError::Dynamo {
                    operation: "BatchGetItem",
                    code: "UnprocessedKeys".to_owned(),
                    message: format!("keys still unprocessed after {BATCH_ROUNDS} rounds"),
                    transient: true,
                });
            }
        }
        Ok(records)
    }

    /// Records whether the durable execution of `id`'s `attempt` was started.
    pub async fn record_start(
        &self,
        id: &WebhookId,
        attempt: u32,
        start: &Start,
        now: Instant,
    ) -> Result<(), StoreError> {
        let mut u = Update::default();
        match start {
            Start::Pending => {
                u.set(attr::START_STATE, s("PENDING"));
            }
            Start::Started { execution_arn } => {
                u.set(attr::START_STATE, s("STARTED"));
                u.remove(attr::START_ERROR);
                if let Some(arn) = execution_arn {
                    u.set(attr::EXECUTION_ARN, s(arn));
                }
            }
            Start::Failed { reason } => {
                u.set(attr::START_STATE, s("FAILED"));
                u.set(attr::START_ERROR, s(cap(reason, MAX_TEXT_CHARS)));
            }
        }
        self.renew(&mut u, now);
        match self.update(id, u, Condition::same_attempt(attempt)).await? {
            Ok(()) => Ok(()),
            Err(Some(_)) => Ok(()), // another attempt: nothing of this one to record
            Err(None) => Err(StoreError::NotFound(id.clone())),
        }
    }

    /// Moves `attempt` of `id` forward; a write that would move it back, or that belongs to
    /// another attempt, does nothing.
    pub async fn advance(
        &self,
        id: &WebhookId,
        attempt: u32,
        change: &Advance,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        let (started, finished) = match change.phase {
            Phase::Started => (Some(now), None),
            Phase::Finished => (None, Some(now)),
            Phase::Ran { started } => (Some(started), Some(now)),
        };
        let mut u = Update::default();
        u.set(attr::STATUS, s(change.status.as_str()))
            .set(attr::RANK, n(change.status.rank()))
            .set(attr::CURRENT_STEP, s(change.step));
        for (attr, at) in [(attr::STARTED_AT, started), (attr::FINISHED_AT, finished)] {
            if let Some(at) = at {
                u.set_once(&[attr::STEPS, change.step, attr], s(at.rfc3339()));
            }
        }
        self.renew(&mut u, now);
        if let Some(result) = &change.result {
            u.set(attr::RESULT, s(result));
        }
        if let Some(arn) = &change.started_by {
            u.set(attr::START_STATE, s("STARTED"))
                .set(attr::EXECUTION_ARN, s(arn))
                .remove(attr::START_ERROR);
        }
        if change.status == Status::Completed {
            u.remove(table::ATTENTION).remove(table::ATTENTION_SINCE);
        }
        let forward = Condition::same_attempt(attempt).and(
            "(#crank < :crank OR (#crank = :crank AND #cstatus = :cstatus))",
            &[("#crank", attr::RANK), ("#cstatus", attr::STATUS)],
            vec![
                (":crank", n(change.status.rank())),
                (":cstatus", s(change.status.as_str())),
            ],
        );
        match self.update(id, u, forward).await? {
            Ok(()) => Ok(Advanced::Applied),
            Err(Some(_)) => Ok(Advanced::AlreadyPast),
            Err(None) => Err(StoreError::NotFound(id.clone())),
        }
    }

    /// Moves `attempt` of `id` to FAILED with `failure`, unless it is terminal already or on
    /// another attempt. Idempotent: the first failure written is the one kept.
    pub async fn fail(
        &self,
        id: &WebhookId,
        attempt: u32,
        failure: &Failure,
        now: Instant,
    ) -> Result<Advanced, StoreError> {
        let mut u = Update::default();
        u.set(attr::STATUS, s(Status::Failed.as_str()))
            .set(attr::RANK, n(Status::Failed.rank()))
            .set(
                attr::ERROR_MESSAGE,
                s(cap(&failure.message, MAX_TEXT_CHARS)),
            )
            .set(table::ATTENTION, s(Attention::Failed.key(id)))
            .set(table::ATTENTION_SINCE, n(now.epoch_millis()));
        if let Some(t) = &failure.error_type {
            u.set(attr::ERROR_TYPE, s(cap(t, MAX_NAME_CHARS)));
        }
        if !failure.reasons.is_empty() {
            let reasons = cap_list(&failure.reasons).into_iter().map(s).collect();
            u.set(attr::ERROR_REASONS, AttributeValue::L(reasons));
        }
        if let Some(step) = &failure.step {
            u.set(attr::ERROR_STEP, s(cap(step, MAX_NAME_CHARS)));
        }
        if let Some(a) = failure.attempts {
            u.set(attr::ERROR_ATTEMPTS, n(a));
        }
        self.renew(&mut u, now);
        let open = Condition::same_attempt(attempt).and(
            "#crank < :crank",
            &[("#crank", attr::RANK)],
            vec![(":crank", n(Status::Failed.rank()))],
        );
        match self.update(id, u, open).await? {
            Ok(()) => Ok(Advanced::Applied),
            Err(Some(_)) => Ok(Advanced::AlreadyPast),
            Err(None) => Err(StoreError::NotFound(id.clone())),
        }
    }

    /// Starts attempt `attempt + 1` of `id`: RECEIVED again, steps, result and error
    /// cleared, payload and delivery kept. Conditional on the record being on `attempt` and
    /// in the state `from` says, so it can never race an active attempt.
    pub async fn new_attempt(
        &self,
        id: &WebhookId,
        attempt: u32,
        from: RestartFrom,
        now: Instant,
    ) -> Result<Restarted, StoreError> {
        let next = attempt + 1;
        let empty_steps = steps::ALL
            .iter()
            .map(|st| ((*st).to_owned(), AttributeValue::M(HashMap::new())))
            .collect();
        let mut u = Update::default();
        u.set(attr::STATUS, s(Status::Received.as_str()))
            .set(attr::RANK, n(Status::Received.rank()))
            .set(attr::ATTEMPT, n(next))
            .set(attr::STEPS, AttributeValue::M(empty_steps))
            .set(attr::START_STATE, s("PENDING"))
            .set(table::ATTENTION, s(Attention::Open.key(id)))
            .set(table::ATTENTION_SINCE, n(now.epoch_millis()));
        for gone in [
            attr::CURRENT_STEP,
            attr::RESULT,
            attr::ERROR_MESSAGE,
            attr::ERROR_REASONS,
            attr::ERROR_TYPE,
            attr::ERROR_STEP,
            attr::ERROR_ATTEMPTS,
            attr::START_ERROR,
            attr::EXECUTION_ARN,
        ] {
            u.remove(gone);
        }
        self.renew(&mut u, now);
        let condition = Condition::same_attempt(attempt);
        let condition = match from {
            RestartFrom::Failed => condition.and(
                "#cstatus = :cstatus",
                &[("#cstatus", attr::STATUS)],
                vec![(":cstatus", s(Status::Failed.as_str()))],
            ),
            RestartFrom::Open => condition.and(
                "#crank < :crank",
                &[("#crank", attr::RANK)],
                vec![(":crank", n(Status::Failed.rank()))],
            ),
        };
        match self.update(id, u, condition).await? {
            Ok(()) => Ok(Restarted::Attempt(next)),
            Err(Some(item)) => Ok(Restarted::Refused(Box::new(decode(&item)?))),
            Err(None) => Err(StoreError::NotFound(id.clone())),
        }
    }

    /// One page of the records in `state` (all shards), entered before `before_ms` and at or
    /// after `after_ms` (epoch ms), at most `limit` of them. `start` is a page's `next`.
    pub async fn attention(
        &self,
        state: Attention,
        after_ms: u64,
        before_ms: u64,
        limit: usize,
        start: Option<&str>,
    ) -> Result<Page, StoreError> {
        let mut cursor = match start {
            Some(c) => Cursor::parse(c)?,
            None => Cursor::default(),
        };
        let mut page = Page::default();
        while cursor.shard < SHARDS.len() && page.entries.len() < limit {
            let shard = SHARDS.as_bytes()[cursor.shard] as char;
            let want = limit - page.entries.len();
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(table::ATTENTION_INDEX)
                .key_condition_expression("#a = :a AND #s BETWEEN :lo AND :hi")
                .expression_attribute_names("#a", table::ATTENTION)
                .expression_attribute_names("#s", table::ATTENTION_SINCE)
                .expression_attribute_values(":a", s(state.partition(shard)))
                .expression_attribute_values(":lo", n(after_ms))
                .expression_attribute_values(":hi", n(before_ms.saturating_sub(1)))
                .limit(i32::try_from(want.min(1000)).unwrap_or(1000))
                .set_exclusive_start_key(cursor.key.take())
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("Query", e))?;
            for item in out.items() {
                page.entries.push(decode_entry(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => cursor.key = Some(k.clone()),
                _ => cursor.shard += 1,
            }
        }
        if cursor.shard < SHARDS.len() {
            page.next = Some(cursor.render());
        }
        Ok(page)
    }

    /// One page of a Scan of the whole table (operators' listings of completed webhooks;
    /// no function scans), newest `updatedAt` not guaranteed.
    pub async fn scan(
        &self,
        limit: usize,
        start: Option<&str>,
    ) -> Result<(Vec<Record>, Option<String>), StoreError> {
        let key = match start {
            Some(c) => Cursor::parse(c)?.key,
            None => None,
        };
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            .set_exclusive_start_key(key)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("Scan", e))?;
        // Replay guard items (`rp_...`) that earlier versions wrote may share the table
        // until their TTL; they are not webhooks.
        let records = out
            .items()
            .iter()
            .filter(|i| string(i, table::PARTITION_KEY).is_some_and(|id| id.starts_with("wh_")))
            .map(decode)
            .collect::<Result<_, _>>()?;
        let next = out.last_evaluated_key().filter(|k| !k.is_empty()).map(|k| {
            Cursor {
                shard: 0,
                key: Some(k.clone()),
            }
            .render()
        });
        Ok((records, next))
    }
}

/// A condition expression with its own placeholders (`#c...`, `:c...`, never colliding
/// with an [`Update`]'s).
#[derive(Debug)]
struct Condition {
    expression: String,
    names: Vec<(&'static str, &'static str)>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Condition {
    /// The record is on `attempt` (a record written before attempts existed is on 1).
    fn same_attempt(attempt: u32) -> Self {
        let expression = if attempt == 1 {
            "(attribute_not_exists(#cattempt) OR #cattempt = :cattempt)"
        } else {
            "#cattempt = :cattempt"
        };
        Condition {
            expression: expression.to_owned(),
            names: vec![("#cattempt", attr::ATTEMPT)],
            values: vec![(":cattempt", n(attempt))],
        }
    }

    /// And `clause`, over `names` and `values`.
    fn and(
        mut self,
        clause: &str,
        names: &[(&'static str, &'static str)],
        values: Vec<(&'static str, AttributeValue)>,
    ) -> Self {
        self.expression = format!("{} AND {clause}", self.expression);
        self.names.extend_from_slice(names);
        self.values.extend(values);
        self
    }
}

/// Where a paged read goes on: a shard and DynamoDB's last evaluated key, as text.
#[derive(Debug, Default)]
struct Cursor {
    shard: usize,
    key: Option<Item>,
}

impl Cursor {
    fn render(&self) -> String {
        let key: BTreeMap<&str, String> = self
            .key
            .iter()
            .flatten()
            .filter_map(|(k, v)| match v {
                AttributeValue::S(t) => Some((k.as_str(), format!("S{t}"))),
                AttributeValue::N(t) => Some((k.as_str(), format!("N{t}"))),
                _ => None,
            })
            .collect();
        let json = serde_json::json!({"shard": self.shard, "key": key});
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        let bad = |reason: &str| StoreError::BadCursor(reason.to_owned());
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad("not base64"))?;
        let v: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| bad("not JSON"))?;
        let shard = v["shard"].as_u64().ok_or_else(|| bad("no shard"))? as usize;
        let mut key = Item::new();
        for (k, val) in v["key"].as_object().into_iter().flatten() {
            let t = val.as_str().ok_or_else(|| bad("key values are text"))?;
            let value = match t.split_at_checked(1) {
                Some(("S", rest)) => s(rest),
                Some(("N", rest)) => n(rest),
                _ => return Err(bad("key values are S or N")),
            };
            key.insert(k.clone(), value);
        }
        Ok(Cursor {
            shard,
            key: (!key.is_empty()).then_some(key),
        })
    }
}

fn get<'a>(item: &'a Item, name: &str) -> Option<&'a AttributeValue> {
    item.get(name)
}

fn string(item: &Item, name: &str) -> Option<String> {
    get(item, name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, name: &str) -> Option<u64> {
    get(item, name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The record's attempt; records written before attempts existed are on attempt 1.
fn attempt_of(item: &Item) -> u32 {
    number(item, attr::ATTEMPT)
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(1)
}

/// An entry of the attention index.
fn decode_entry(item: &Item) -> Result<Entry, StoreError> {
    let raw_id = string(item, table::PARTITION_KEY).unwrap_or_default();
    let malformed = |reason: String| StoreError::Malformed {
        id: raw_id.clone(),
        reason,
    };
    let id = WebhookId::parse(&raw_id).map_err(|e| malformed(e.to_string()))?;
    let key = string(item, table::ATTENTION).unwrap_or_default();
    let state =
        Attention::of_key(&key).ok_or_else(|| malformed(format!("attention key {key:?}")))?;
    Ok(Entry {
        id,
        state,
        attempt: attempt_of(item),
        since: number(item, table::ATTENTION_SINCE)
            .ok_or_else(|| malformed(format!("no `{}`", table::ATTENTION_SINCE)))?,
    })
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
        error_type: string(item, attr::ERROR_TYPE),
        message,
        reasons: get(item, attr::ERROR_REASONS)
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|r| r.as_s().ok().cloned()).collect())
            .unwrap_or_default(),
        step: string(item, attr::ERROR_STEP),
        attempts: number(item, attr::ERROR_ATTEMPTS).and_then(|a| u32::try_from(a).ok()),
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
        source: string(item, attr::SOURCE)
            .unwrap_or_else(|| webhook_contract::sources::DEFAULT.to_owned()),
        scheme: string(item, attr::SCHEME).unwrap_or_else(|| "github".to_owned()),
        body_hash: string(item, attr::BODY_HASH),
        event_type: string(item, attr::EVENT_TYPE),
        attempt: attempt_of(item),
        attention_since: number(item, table::ATTENTION_SINCE),
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
