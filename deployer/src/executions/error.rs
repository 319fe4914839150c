//! What can go wrong in `deployer executions` and `deployer callback`, as types: the verbs
//! decide on the variant (a missing execution, an unknown callback), never on a message.

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("stage {stage} has no function `{given}`; its functions: {}", known.join(", "))]
    UnknownFunction {
        stage: String,
        given: String,
        known: Vec<String>,
    },
    #[error(
        "function {function} of stage {stage} is not durable: it has no durable executions \
         (durable: {})", durable.join(", ")
    )]
    NotDurable {
        stage: String,
        function: String,
        durable: Vec<String>,
    },
    #[error(
        "the local cloud at {origin} runs another stage or app (its durable function is \
         {found}), not stage {stage}: pass the --stage it runs"
    )]
    OtherLocalStage {
        origin: String,
        found: String,
        stage: String,
    },
    #[error("cannot read resource {logical} of stack {stack}")]
    StackResource {
        stack: String,
        logical: String,
        #[source]
        source: Cause,
    },
    #[error(
        "`{given}` is neither a durable execution ARN (arn:aws:lambda:...:durable-execution/...) \
         nor an execution name (1 to 64 of A-Z a-z 0-9 - _)"
    )]
    NotAnExecution { given: String },
    #[error("no durable execution of {function} in {place} is named `{name}`")]
    NoSuchName {
        name: String,
        function: String,
        place: String,
    },
    #[error(
        "{} durable executions of {function} are named `{name}`: pass one's ARN ({})",
        arns.len(), arns.join(", ")
    )]
    AmbiguousName {
        name: String,
        function: String,
        arns: Vec<String>,
    },
    #[error("no durable execution {arn} in {place}")]
    NoSuchExecution { arn: String, place: String },
    #[error("durable execution {arn} has already ended ({status}): nothing to stop")]
    AlreadyEnded { arn: String, status: String },
    #[error("no callback `{id}` in {place}: the id is unknown, or its execution has ended")]
    NoSuchCallback { id: String, place: String },
    #[error("callback `{id}` is closed: it has timed out or already received its answer")]
    CallbackClosed {
        id: String,
        #[source]
        source: Cause,
    },
    #[error("Lambda {operation} failed: {detail}")]
    Call {
        operation: &'static str,
        detail: String,
        #[source]
        source: Cause,
    },
}

impl ExecError {
    /// The execution, name or callback asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ExecError::NoSuchExecution { .. }
                | ExecError::NoSuchName { .. }
                | ExecError::NoSuchCallback { .. }
                | ExecError::NotAnExecution { .. }
        )
    }
}

/// [`ExecError::Call`] of a failed call: the service's code and message when it answered,
/// the whole context (connection refused, timeout) when it did not.
pub fn call<E, R>(operation: &'static str, err: SdkError<E, R>) -> ExecError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = match err.as_service_error() {
        Some(e) => format!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or("(no message)")
        ),
        None => DisplayErrorContext(&err).to_string(),
    };
    ExecError::Call {
        operation,
        detail,
        source: Box::new(err),
    }
}
