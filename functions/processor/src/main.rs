/// The AWS SDK allocates for every call it makes: glibc's allocator was a fifth of the
/// receiver's CPU and a tenth of the processor's under load (`perf`); mimalloc costs a
/// fraction of that. Each function binary declares it (the `deployer`, which shares
/// webhook-core, has its own).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::logging::init();
    processor::run().await
}
