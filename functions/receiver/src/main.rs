/// The AWS SDK allocates for every call it makes: glibc's allocator was a fifth of the
/// receiver's CPU under load (`perf`), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    webhook_core::logging::init();
    let receiver = receiver::from_env().await?;
    let receiver = &receiver;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| async move {
            Ok::<_, Error>(receiver.handle(event.payload).await)
        },
    ))
    .await
}
