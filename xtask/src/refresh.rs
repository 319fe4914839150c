//! `--refresh-from <cfnlint dir>`: reads the schemas and GetAtt tables of an installed
//! cfn-lint (its package directory) into the normalized form `codegen/` pins.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::Error;
use crate::pinned::Normalized;
use crate::schema::GetAttTables;

fn text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(Error::io(path))
}

fn refresh_error(path: &Path, what: impl Into<String>) -> Error {
    Error::Refresh {
        path: path.to_owned(),
        what: what.into(),
    }
}

/// Reads `dir` (an installed `cfnlint` package).
pub fn read(dir: &Path) -> Result<Normalized, Error> {
    let version_path = dir.join("version.py");
    let version = text(&version_path)?
        .lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .ok_or_else(|| refresh_error(&version_path, "no `__version__ = \"...\"` line"))?;
    let (schemas_jsonl, types) = schemas(&dir.join("data/schemas/resources"))?;
    let getatts_path = dir.join("schema/_getatts.py");
    let getatts = getatts(&getatts_path, &text(&getatts_path)?)?;
    Ok(Normalized {
        cfn_lint: version,
        schemas_jsonl,
        types,
        getatts,
    })
}

/// Every `*.json` of `dir` as one line of minified JSON (keys sorted), lines sorted by type.
fn schemas(dir: &Path) -> Result<(String, usize), Error> {
    let mut lines = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(Error::io(dir))?;
    for entry in entries {
        let path = entry.map_err(Error::io(dir))?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let value: Value = serde_json::from_str(&text(&path)?).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        let Some(name) = value.get("typeName").and_then(Value::as_str) else {
            return Err(refresh_error(&path, "no typeName"));
        };
        let name = name.to_owned();
        if lines.insert(name.clone(), value.to_string()).is_some() {
            return Err(refresh_error(&path, format!("a second schema of {name}")));
        }
    }
    let count = lines.len();
    let mut out = String::new();
    for line in lines.into_values() {
        out.push_str(&line);
        out.push('\n');
    }
    Ok((out, count))
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Str(String),
    Punct(char),
}

/// The string literals and brackets of Python source, comments and whitespace skipped.
fn tokens(source: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                let mut s = String::new();
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => s.extend(chars.next()),
                        d if d == c => break,
                        d => s.push(d),
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_whitespace() => {}
            c => out.push(Token::Punct(c)),
        }
    }
    out
}

/// The literal assigned to `name` (`name = [...]` or `name = {...}`), as tokens.
fn literal(path: &Path, source: &str, name: &str) -> Result<Vec<Token>, Error> {
    let start = source
        .find(&format!("\n{name} = "))
        .ok_or_else(|| refresh_error(path, format!("no `{name} = ` assignment")))?;
    let rest = &source[start + name.len() + 4..];
    let mut depth = 0usize;
    let mut taken = Vec::new();
    for t in tokens(rest) {
        if let Token::Punct(c) = t {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        taken.push(t);
        if depth == 0 {
            return Ok(taken);
        }
    }
    Err(refresh_error(path, format!("`{name}` does not end")))
}

fn strings(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Str(s) => Some(s.clone()),
            Token::Punct(_) => None,
        })
        .collect()
}

/// `_all_property_types` (a list of type names) and `_exceptions` (type name: attribute
/// names) of cfn-lint's `_getatts.py`.
fn getatts(path: &Path, source: &str) -> Result<GetAttTables, Error> {
    let all = literal(path, source, "_all_property_types")?;
    let mut exceptions = BTreeMap::new();
    let mut key: Option<String> = None;
    let mut values = Vec::new();
    for t in literal(path, source, "_exceptions")? {
        match (t, &key) {
            (Token::Str(s), None) => key = Some(s),
            (Token::Str(s), Some(_)) => values.push(s),
            (Token::Punct(']'), Some(k)) => {
                exceptions.insert(k.clone(), std::mem::take(&mut values));
                key = None;
            }
            _ => {}
        }
    }
    if exceptions.is_empty() {
        return Err(refresh_error(path, "`_exceptions` is empty"));
    }
    Ok(GetAttTables {
        all_properties: strings(&all),
        exceptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_python_tables() {
        let source = "x = 1\n_all_property_types = [\n    \"AWS::A::B\",  # why\n    \"AWS::C::D\",\n]\n\n_exceptions = {\n    \"AWS::E::F\": [\"Name\", \"Id\"],\n    \"AWS::G::H\": [\"Port\"],\n}\n";
        let t = getatts(Path::new("x.py"), source).unwrap();
        assert_eq!(t.all_properties, ["AWS::A::B", "AWS::C::D"]);
        assert_eq!(t.exceptions["AWS::E::F"], ["Name", "Id"]);
        assert_eq!(t.exceptions["AWS::G::H"], ["Port"]);
    }
}
