#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::logging::init();
    processor::run().await
}
