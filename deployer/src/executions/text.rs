//! The readable form of the verbs' output: aligned tables and `key  value` lines.

use super::view::{Detail, Details, HistoryEvent, Summary};

/// Longest payload shown in a table cell; `--output json` has it whole.
const CELL: usize = 60;

/// `rows` under `header`, columns aligned (the last one is not padded).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == widths.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `s` on one line, cut to `max` characters.
fn cell(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

pub fn list(rows: &[Summary]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.status.clone(),
                r.started.clone(),
                r.ended.clone().unwrap_or_else(|| "-".to_owned()),
                r.arn.clone(),
            ]
        })
        .collect();
    table(&["NAME", "STATUS", "STARTED", "ENDED", "ARN"], &rows)
}

pub fn detail(d: &Detail) -> String {
    let mut lines = vec![
        ("name", d.name.clone()),
        ("status", d.status.clone()),
        ("started", d.started.clone()),
        ("ended", d.ended.clone().unwrap_or_else(|| "-".to_owned())),
        ("arn", d.arn.clone()),
        ("function", d.function_arn.clone()),
    ];
    let optional = [
        ("version", d.version.clone()),
        ("input", d.input.clone()),
        ("result", d.result.clone()),
        ("error", d.error.as_ref().map(|e| e.line())),
        ("trace", d.trace_id.clone()),
    ];
    lines.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    lines
        .into_iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

/// What a history row says about an event besides its kind: a callback's id whole (it is
/// what `deployer callback` takes), the rest cut to a cell.
fn summary(d: &Details) -> String {
    let mut parts = Vec::new();
    if let Some(n) = d.attempt {
        parts.push(format!("attempt {n}"));
    }
    if let Some(s) = d.wait_seconds {
        parts.push(format!("{s} s"));
    }
    if let Some(f) = &d.function_name {
        parts.push(format!("-> {f}"));
    }
    if let Some(e) = &d.error {
        parts.push(e.line());
    }
    if let Some(r) = d.result.as_ref().or(d.input.as_ref()) {
        parts.push(r.clone());
    }
    if d.truncated {
        parts.push("(truncated)".to_owned());
    }
    let rest = cell(&parts.join("  "), CELL);
    match &d.callback_id {
        Some(id) if rest.is_empty() => format!("callback {id}"),
        Some(id) => format!("callback {id}  {rest}"),
        None => rest,
    }
}

pub fn history(events: &[HistoryEvent]) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.event_id.to_string(),
                e.at.clone().unwrap_or_else(|| "-".to_owned()),
                e.kind.clone(),
                e.name.clone().unwrap_or_else(|| "-".to_owned()),
                summary(&e.details),
            ]
        })
        .collect();
    table(&["ID", "AT", "EVENT", "NAME", "DETAIL"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_long_cells_are_cut() {
        let rows = vec![
            vec!["a".to_owned(), "RUNNING".to_owned(), "x".to_owned()],
            vec!["long-name".to_owned(), "FAILED".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["NAME", "STATUS", "LAST"], &rows),
            "NAME       STATUS   LAST\na          RUNNING  x\nlong-name  FAILED\n"
        );
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(cell("a\nb", 10), "a b");
    }
}
