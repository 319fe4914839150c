//! `cargo xtask <task>` (the alias in .cargo/config.toml). See `xtask::parse`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = xtask::parse(&args).and_then(|task| xtask::run(&task, &xtask::root()));
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e @ xtask::Error::Usage(_)) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
