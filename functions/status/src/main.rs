use aws_lambda_events::apigw::ApiGatewayProxyRequest;
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
    let api = status::from_env().await?;
    let api = &api;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(api.handle(event.payload).await)
        },
    ))
    .await
}
