use std::process::ExitCode;

use clap::Parser;

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
