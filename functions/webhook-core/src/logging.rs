//! The functions' log lines: Lambda's advanced logging controls (`AWS_LAMBDA_LOG_FORMAT`,
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO), as `lambda_runtime`'s default
//! subscriber reads them, but without span context: the durable SDK's spans repeat the
//! execution ARN on every line, which would triple what CloudWatch Logs ingests (and bills)
//! per webhook. Each line carries what it is about in its own fields (id, execution).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// The level from the environment: Lambda's `AWS_LAMBDA_LOG_LEVEL` first, then `RUST_LOG`.
fn level(lambda: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    lambda
        .map(|l| {
            if l.eq_ignore_ascii_case("FATAL") {
                "ERROR"
            } else {
                l
            }
        })
        .or(rust_log)
        .and_then(|l| l.parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// Installs the subscriber (stdout, no timestamps: Lambda stamps each line).
pub fn init() {
    let var = |k: &str| std::env::var(k).ok();
    let level = level(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
    );
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let fmt = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = if json {
        fmt.json()
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        fmt.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_s_level_comes_first_then_rust_log_then_info() {
        assert_eq!(level(Some("WARN"), Some("debug")), LevelFilter::WARN);
        assert_eq!(level(None, Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level(None, None), LevelFilter::INFO);
        assert_eq!(level(Some("FATAL"), None), LevelFilter::ERROR);
        assert_eq!(level(Some("nonsense"), None), LevelFilter::INFO);
    }
}
