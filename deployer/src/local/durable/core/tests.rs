//! The state machine alone: no service, no clock, no disk.

use serde_json::json;

use super::*;

fn exec() -> Execution {
    Execution::new(
        NewExecution {
            arn: "arn:aws:lambda:us-east-1:1:function:f:live/durable-execution/n/x".into(),
            name: "n".into(),
            id: "x".into(),
            function: "F".into(),
            function_arn: "arn:aws:lambda:us-east-1:1:function:f".into(),
            qualifier: "live".into(),
            version: "1".into(),
            input: "{}".into(),
            timeout_s: 100,
            async_start: false,
            token: "t".into(),
        },
        1000.0,
    )
}

fn no_functions(_: &str, name: &str) -> Result<Target, ErrorObject> {
    Err(ErrorObject::new("ResourceNotFoundException", name))
}

fn echo(op: &str, _: &str) -> Result<Target, ErrorObject> {
    Ok(Target {
        function: "Echo".into(),
        qualifier: "live".into(),
        version: "1".into(),
        child: Some(ChildExecution {
            name: format!("child-{op}"),
            id: "c".into(),
            arn: format!("arn:child:{op}"),
        }),
    })
}

fn env(now: f64) -> Env<'static> {
    Env {
        now,
        scale: 1.0,
        nonce: "nonce",
        resolve: &no_functions,
    }
}

fn update(v: serde_json::Value) -> OperationUpdate {
    serde_json::from_value(v).expect("a valid update")
}

fn types(e: &Execution) -> Vec<String> {
    e.history.iter().map(|h| h.event_type.clone()).collect()
}

#[test]
fn a_step_that_succeeds_records_its_attempt() {
    let mut e = exec();
    let start = update(
        json!({"Id": "s", "Type": "STEP", "SubType": "Step", "Name": "a", "Action": "START"}),
    );
    let done = update(json!({"Id": "s", "Type": "STEP", "Action": "SUCCEED", "Payload": "1"}));
    let (changed, effects) = e.apply_batch(&[start, done], &env(1001.0)).unwrap();
    assert_eq!((changed, effects), (vec![1], vec![]));
    assert_eq!(
        types(&e),
        ["ExecutionStarted", "StepStarted", "StepSucceeded"]
    );
    let op = &e.operations[1];
    assert_eq!(op.status, OperationStatus::Succeeded);
    assert_eq!(
        op.step_details.as_ref().unwrap().result.as_deref(),
        Some("1")
    );
    let last = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(
        last["StepSucceededDetails"]["RetryDetails"]["CurrentAttempt"],
        1
    );
    assert_eq!(last["Name"], "a");
    assert_eq!(last["SubType"], "Step");
}

#[test]
fn a_retry_waits_its_delay_then_makes_the_step_ready() {
    let mut e = exec();
    e.invocations = 1;
    let start = update(json!({"Id": "s", "Type": "STEP", "Action": "START"}));
    let retry = update(json!({"Id": "s", "Type": "STEP", "Action": "RETRY",
        "Error": {"ErrorType": "E"}, "StepOptions": {"NextAttemptDelaySeconds": 5}}));
    let env = Env {
        scale: 0.5,
        ..env(1000.0)
    };
    e.apply_batch(&[start, retry], &env).unwrap();
    assert_eq!(e.operations[1].status, OperationStatus::Pending);
    assert_eq!(e.due(1001.0), Due::Sleep(1002.5), "5 s at scale 0.5");
    assert_eq!(e.due(1002.5), Due::Fire);
    e.fire_timers(1002.5, 0.5);
    assert_eq!(e.operations[1].status, OperationStatus::Ready);
    assert_eq!(e.due(1002.5), Due::Invoke);
    let no_delay = update(json!({"Id": "s", "Type": "STEP", "Action": "RETRY"}));
    assert!(matches!(
        e.clone().apply(&no_delay, &env),
        Err(ApplyError::Invalid(_))
    ));
}

#[test]
fn a_wait_succeeds_at_its_end_with_its_nominal_duration() {
    let mut e = exec();
    e.invocations = 1;
    let wait = update(
        json!({"Id": "w", "Type": "WAIT", "SubType": "Wait", "Action": "START",
        "WaitOptions": {"WaitSeconds": 10}}),
    );
    let env = Env {
        scale: 0.1,
        ..env(1000.0)
    };
    e.apply(&wait, &env).unwrap();
    assert_eq!(e.due(1000.5), Due::Sleep(1001.0));
    e.fire_timers(1001.0, 0.1);
    let last = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(last["EventType"], "WaitSucceeded");
    assert_eq!(last["WaitSucceededDetails"]["Duration"], 10);
    assert_eq!(e.due(1001.0), Due::Invoke);
}

#[test]
fn a_callback_takes_one_answer() {
    let mut e = exec();
    e.invocations = 1;
    let start =
        update(json!({"Id": "c", "Type": "CALLBACK", "SubType": "Callback", "Action": "START"}));
    let (_, effect) = e.apply(&start, &env(1000.0)).unwrap();
    let Some(Effect::Callback { id, op }) = effect else {
        panic!("a callback start asks for its index: {effect:?}");
    };
    assert_eq!(op, "c");
    assert_eq!(e.open_callbacks(), [(id.clone(), "c".to_owned())]);
    assert_eq!(
        e.due(1000.0),
        Due::Sleep(1100.0),
        "no timeout: until the deadline"
    );
    e.resolve_callback("c", CallbackAnswer::Succeed(Some("\"ok\"".into())), 1001.0)
        .unwrap();
    assert!(e.resumable);
    let d = e.operations[1].callback_details.as_ref().unwrap();
    assert_eq!(
        (d.callback_id.as_str(), d.result.as_deref()),
        (id.as_str(), Some("\"ok\""))
    );
    assert_eq!(types(&e).last().unwrap(), "CallbackSucceeded");
    assert!(matches!(
        e.resolve_callback("c", CallbackAnswer::Heartbeat, 1002.0),
        Err(CallbackError::Closed { .. })
    ));
    assert!(e.open_callbacks().is_empty());
}

#[test]
fn heartbeats_keep_a_callback_alive_until_they_stop() {
    let mut e = exec();
    e.invocations = 1;
    let start = update(json!({"Id": "c", "Type": "CALLBACK", "Action": "START",
        "CallbackOptions": {"TimeoutSeconds": 60, "HeartbeatTimeoutSeconds": 5}}));
    e.apply(&start, &env(1000.0)).unwrap();
    let started = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(started["CallbackStartedDetails"]["HeartbeatTimeout"], 5);
    assert_eq!(started["CallbackStartedDetails"]["Timeout"], 60);
    e.resolve_callback("c", CallbackAnswer::Heartbeat, 1004.0)
        .unwrap();
    assert_eq!(e.due(1005.0), Due::Sleep(1009.0));
    e.fire_timers(1009.0, 1.0);
    assert_eq!(e.operations[1].status, OperationStatus::TimedOut);
    let last = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(
        last["CallbackTimedOutDetails"]["Error"]["Payload"]["ErrorType"],
        "Callback.Heartbeat"
    );
    assert_eq!(
        e.resolve_callback("c", CallbackAnswer::Succeed(None), 1010.0),
        Err(CallbackError::TimedOut("c".into()))
    );
}

#[test]
fn a_chained_invoke_starts_its_target_and_records_its_result() {
    let mut e = exec();
    let start = update(
        json!({"Id": "i", "Type": "CHAINED_INVOKE", "SubType": "ChainedInvoke",
        "Action": "START", "Payload": "\"x\"", "ChainedInvokeOptions": {"FunctionName": "echo:live"}}),
    );
    let env = Env {
        resolve: &echo,
        ..env(1000.0)
    };
    let (_, effect) = e.apply(&start, &env).unwrap();
    assert_eq!(effect, Some(Effect::Invoke { op: "i".into() }));
    let started = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(
        started["ChainedInvokeStartedDetails"],
        json!({"FunctionName": "echo:live", "Input": {"Payload": "\"x\"", "Truncated": false},
               "ExecutedVersion": "1", "DurableExecutionArn": "arn:child:i"})
    );
    assert!(e.resolve_invoke("i", InvokeOutcome::Succeeded(Some("\"x\"".into())), 1001.0));
    assert!(
        !e.resolve_invoke("i", InvokeOutcome::Succeeded(None), 1002.0),
        "once"
    );
    assert_eq!(types(&e).last().unwrap(), "ChainedInvokeSucceeded");
    assert!(e.invokes.is_empty() && e.resumable);
}

#[test]
fn a_chained_invoke_of_an_unknown_function_fails_at_once() {
    let mut e = exec();
    let start = update(
        json!({"Id": "i", "Type": "CHAINED_INVOKE", "Action": "START",
        "ChainedInvokeOptions": {"FunctionName": "nope"}}),
    );
    let (_, effect) = e.apply(&start, &env(1000.0)).unwrap();
    assert_eq!(effect, None);
    assert_eq!(e.operations[1].status, OperationStatus::Failed);
    assert_eq!(
        types(&e)[1..],
        ["ChainedInvokeStarted", "ChainedInvokeFailed"]
    );
}

#[test]
fn a_replay_that_diverges_from_the_log_is_refused() {
    let mut e = exec();
    let a = update(json!({"Id": "s", "Type": "STEP", "Name": "a", "Action": "START"}));
    e.apply(&a, &env(1000.0)).unwrap();
    let b = update(json!({"Id": "s", "Type": "STEP", "Name": "b", "Action": "START"}));
    let err = e.apply(&b, &env(1001.0)).unwrap_err();
    assert!(matches!(err, ApplyError::Nondeterministic { .. }));
    assert!(err.to_string().contains("\"a\"") && err.to_string().contains("\"b\""));
    let w = update(
        json!({"Id": "s", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 1}}),
    );
    assert!(matches!(
        e.apply(&w, &env(1001.0)),
        Err(ApplyError::Nondeterministic { .. })
    ));
    e.fail_nondeterministic(&err, 1002.0);
    assert_eq!(e.status, ExecStatus::Failed);
    assert_eq!(
        e.error.as_ref().unwrap().error_type.as_deref(),
        Some("NonDeterministicExecutionError")
    );
}

#[test]
fn updates_of_unknown_or_closed_operations_are_refused() {
    let mut e = exec();
    let done = update(json!({"Id": "s", "Type": "STEP", "Action": "SUCCEED"}));
    assert_eq!(
        e.apply(&done, &env(1000.0)),
        Err(ApplyError::NotStarted("s".into()))
    );
    let start = update(json!({"Id": "s", "Type": "STEP", "Action": "START"}));
    e.apply_batch(&[start, done.clone()], &env(1000.0)).unwrap();
    assert!(matches!(
        e.apply(&done, &env(1001.0)),
        Err(ApplyError::Invalid(_))
    ));
}

#[test]
fn an_execution_update_closes_the_execution_with_its_event() {
    let mut e = exec();
    let done = update(json!({"Id": "x", "Type": "EXECUTION", "Action": "SUCCEED", "Payload": "7"}));
    e.apply(&done, &env(1000.0)).unwrap();
    assert_eq!(
        (e.status, e.result.as_deref()),
        (ExecStatus::Succeeded, Some("7"))
    );
    assert_eq!(types(&e).last().unwrap(), "ExecutionSucceeded");
    assert_eq!(e.due(1000.0), Due::Ended);
    let mut f = exec();
    let fail = update(
        json!({"Id": "x", "Type": "EXECUTION", "Action": "FAIL", "Error": {"ErrorType": "E"}}),
    );
    f.apply(&fail, &env(1000.0)).unwrap();
    assert_eq!(types(&f).last().unwrap(), "ExecutionFailed");
}

#[test]
fn an_execution_past_its_timeout_times_out() {
    let mut e = exec();
    assert_eq!(e.due(1000.0), Due::Invoke, "first invocation");
    assert_eq!(e.due(1100.0), Due::TimeOut);
    e.time_out(1100.0);
    assert_eq!(e.status, ExecStatus::TimedOut);
    assert_eq!(types(&e).last().unwrap(), "ExecutionTimedOut");
}

#[test]
fn invocations_end_as_their_output_says() {
    let mut e = exec();
    let payload = e.begin_invocation();
    assert_eq!(payload.initial_execution_state.operations.len(), 1);
    e.end_invocation(
        InvocationEnd::Returned(InvocationOutput::Pending),
        1000.0,
        "r",
        1001.0,
    );
    let completed = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(completed["EventType"], "InvocationCompleted");
    assert!(
        completed.get("Id").is_none(),
        "names no operation: {completed}"
    );
    assert_eq!(completed["InvocationCompletedDetails"]["RequestId"], "r");
    assert_eq!(e.status, ExecStatus::Running);
    // Nothing outstanding after a PENDING answer: invoke again.
    assert_eq!(e.due(1001.0), Due::Invoke);
    for _ in 0..MAX_FAILED_INVOCATIONS {
        assert_eq!(e.status, ExecStatus::Running);
        e.end_invocation(
            InvocationEnd::Errored(ErrorObject::new("Runtime.ExitError", "boom")),
            1001.0,
            "r",
            1002.0,
        );
    }
    assert_eq!(e.status, ExecStatus::Failed);
    let mut ok = exec();
    let out = InvocationOutput::Succeeded {
        result: Some("1".into()),
    };
    ok.end_invocation(InvocationEnd::Returned(out), 1000.0, "r", 1001.0);
    assert_eq!(
        types(&ok)[1..],
        ["InvocationCompleted", "ExecutionSucceeded"]
    );
}

#[test]
fn a_persisted_execution_reads_back_the_same() {
    let mut e = exec();
    let wait = update(
        json!({"Id": "w", "Type": "WAIT", "Action": "START", "WaitOptions": {"WaitSeconds": 1}}),
    );
    e.apply(&wait, &env(1000.0)).unwrap();
    let text = serde_json::to_string(&e).unwrap();
    let back: Execution = serde_json::from_str(&text).unwrap();
    assert_eq!(back.operations, e.operations);
    assert_eq!(back.history, e.history);
}

#[test]
fn a_condition_check_that_continues_is_a_success_with_its_state() {
    let mut e = exec();
    let start = update(
        json!({"Id": "c", "Type": "STEP", "SubType": "WaitForCondition", "Action": "START"}),
    );
    let next = update(
        json!({"Id": "c", "Type": "STEP", "Action": "RETRY", "Payload": "1",
        "StepOptions": {"NextAttemptDelaySeconds": 2}}),
    );
    e.apply_batch(&[start, next], &env(1000.0)).unwrap();
    let op = &e.operations[1];
    assert_eq!(op.status, OperationStatus::Pending);
    assert_eq!(
        op.step_details.as_ref().unwrap().result.as_deref(),
        Some("1")
    );
    let last = serde_json::to_value(e.history.last().unwrap()).unwrap();
    assert_eq!(
        last["StepSucceededDetails"],
        json!({"Result": {"Payload": "1", "Truncated": false},
               "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 2}})
    );
}
