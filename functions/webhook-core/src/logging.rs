//! The functions' log lines: Lambda's advanced logging controls (`AWS_LAMBDA_LOG_FORMAT`;
//! `AWS_LAMBDA_LOG_LEVEL` for every line when Lambda sets it, else `RUST_LOG`, else INFO:
//! `lambda_runtime`'s default subscriber lets a `RUST_LOG` directive override Lambda's
//! level), without span context: the durable SDK's spans repeat the execution ARN on every
//! line, which would triple what CloudWatch Logs ingests (and bills) per webhook. Each line
//! carries what it is about in its own fields (id, execution).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Lambda's `AWS_LAMBDA_LOG_LEVEL` (`FATAL` is `ERROR` here) when it is set and valid.
fn lambda_level(value: Option<&str>) -> Option<LevelFilter> {
    let value = value?;
    let value = if value.eq_ignore_ascii_case("FATAL") {
        "ERROR"
    } else {
        value
    };
    value.parse().ok()
}

/// Lambda's level for everything when it sets one; otherwise `RUST_LOG`'s directives
/// (read by `from_env_lossy`), INFO by default.
fn filter(lambda: Option<&str>) -> EnvFilter {
    match lambda_level(lambda) {
        Some(level) => EnvFilter::default().add_directive(level.into()),
        None => EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .from_env_lossy(),
    }
}

/// Installs the subscriber (stdout, no timestamps: Lambda stamps each line).
pub fn init() {
    let var = |k: &str| std::env::var(k).ok();
    let fmt = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(var("AWS_LAMBDA_LOG_LEVEL").as_deref()));
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
    fn lambda_s_level_wins_over_rust_log_and_info_is_the_default() {
        let max = |lambda| filter(lambda).max_level_hint();
        assert_eq!(max(Some("WARN")), Some(LevelFilter::WARN));
        assert_eq!(max(Some("FATAL")), Some(LevelFilter::ERROR));
        assert_eq!(lambda_level(Some("nonsense")), None);
        assert_eq!(lambda_level(None), None);
    }
}
