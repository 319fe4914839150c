use std::process::ExitCode;

use clap::Parser;

/// The local cloud serves many small requests on many threads: glibc's allocator was a
/// sixth of its CPU under load (`perf`), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = deployer::Cli::parse();
    match deployer::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
