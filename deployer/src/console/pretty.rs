//! JSON text indented for reading, token for token as it came: no key reordered, no number
//! rewritten (a parse and a re-serialization would do both). Text that is not JSON comes
//! back as it is.

/// `text` indented by two spaces a level, or `text` itself when it does not parse as JSON.
pub fn json(text: &str) -> String {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(ch) = chars.next() {
        if in_string {
            out.push(ch);
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => {
                in_string = true;
                out.push(ch);
            }
            '{' | '[' => {
                out.push(ch);
                // An empty object or array stays on one line.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|c| *c == '}' || *c == ']') {
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                if !out.ends_with('{') && !out.ends_with('[') {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(ch);
            }
            ',' => {
                out.push(ch);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::json;

    #[test]
    fn indents_without_reordering_or_rewriting() {
        let text =
            r#"{"z":1.50,"a":[1, {"b":"x, y: {z}"}],"e":{},"f":[],"big":12345678901234567890}"#;
        let want = "{\n  \"z\": 1.50,\n  \"a\": [\n    1,\n    {\n      \"b\": \"x, y: {z}\"\n    }\n  ],\n  \"e\": {},\n  \"f\": [],\n  \"big\": 12345678901234567890\n}";
        assert_eq!(json(text), want);
        // Reading it back gives the same value.
        let a: serde_json::Value = serde_json::from_str(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&json(text)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn escapes_and_non_json_are_left_alone() {
        assert_eq!(json(r#"["a\"]b"]"#), "[\n  \"a\\\"]b\"\n]");
        assert_eq!(json("not json {"), "not json {");
        assert_eq!(json("42"), "42");
    }
}
