use lambda_runtime::{Error, LambdaEvent, service_fn};

/// The AWS SDK allocates for every call it makes: glibc's allocator was a fifth of the
/// receiver's CPU and a tenth of the processor's under load (`perf`); mimalloc costs a
/// fraction of that. Each function binary declares it (the `deployer`, which shares
/// webhook-core, has its own).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    webhook_core::logging::init();
    let reconciler = reconciler::from_env().await?;
    let reconciler = &reconciler;
    // The scheduled event carries nothing the run needs: its time is the service's.
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let report = reconciler.run(webhook_core::time::Instant::now()).await?;
            Ok::<_, Error>(report)
        },
    ))
    .await
}
