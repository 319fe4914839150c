/// The AWS SDK allocates for every call it makes: glibc's allocator was a fifth of the
/// receiver's CPU under load (`perf`), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_core::logging::init();
    processor::run().await
}
