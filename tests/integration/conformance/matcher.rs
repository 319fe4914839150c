//! The tests of the runner's comparisons (`tests::conformance::matcher`, in the support
//! library, which the `durable` bench runs too).

mod tests {
    use serde_json::{Value, json};

    use ::tests::conformance::matcher::*;

    fn check(expected: Value, actual: Value, ctx: &mut Placeholders) -> Vec<String> {
        let mut errors = Vec::new();
        match_value(&expected, &actual, "", ctx, &mut errors);
        errors
    }

    #[test]
    fn the_history_comparison_can_fail() {
        let ctx = &mut Placeholders::default();
        assert!(
            check(
                json!({"Duration": 2}),
                json!({"Duration": 2.0, "More": 1}),
                ctx
            )
            .is_empty()
        );
        assert!(!check(json!({"Duration": 2}), json!({"Duration": 3}), ctx).is_empty());
        assert!(!check(json!({"Name": "x"}), json!({}), ctx).is_empty());
        assert!(check(json!("*"), json!({"anything": []}), ctx).is_empty());
        assert!(
            check(json!({}), json!(3), ctx).is_empty(),
            "{{}} is don't-care"
        );
        assert!(check(json!("${ID1}"), json!("a"), ctx).is_empty());
        assert!(check(json!("${ID1}"), json!("a"), ctx).is_empty());
        assert!(!check(json!("${ID1}"), json!("b"), ctx).is_empty());
        // Bound placeholders are substituted inside literal strings.
        assert!(check(json!("\"${ID1}\""), json!("\"a\""), ctx).is_empty());
        assert!(!check(json!([1, 2]), json!([1]), ctx).is_empty());
        assert!(check(json!(["*", "${ID1}"]), json!([9, "a"]), ctx).is_empty());
        // Patterns check, they do not bind.
        assert!(check(json!("${/^[0-5]$/}"), json!(3), ctx).is_empty());
        assert!(!check(json!("${/^([0-9]|10)$/}"), json!(11), ctx).is_empty());
        assert!(
            check(
                json!("${/.*TransientError$/}"),
                json!("x.TransientError"),
                ctx
            )
            .is_empty()
        );
    }

    #[test]
    fn events_are_matched_by_event_id() {
        let expected = [json!({"EventId": 3, "EventType": "StepSucceeded", "Id": "${ID1}"})];
        let actual = [
            json!({"EventId": 1, "EventType": "ExecutionStarted"}),
            json!({"EventId": 3, "EventType": "StepSucceeded", "Id": "abc"}),
            json!({"EventId": 4, "EventType": "InvocationCompleted"}),
        ];
        let ctx = &mut Placeholders::default();
        assert!(match_history(&expected, &actual, ctx).is_empty());
        assert_eq!(ctx.get("ID1"), Some(&json!("abc")));
        assert!(!match_history(&[json!({"EventId": 9})], &actual, ctx).is_empty());
    }

    #[test]
    fn variables_are_generated_and_substituted() {
        let vars = [
            ("NAME".to_owned(), json!("${GEN_STR:10}")),
            ("N".to_owned(), json!(3)),
        ];
        let ctx = Placeholders::with_variables(&vars.into_iter().collect());
        let name = ctx.get("NAME").and_then(Value::as_str).unwrap().to_owned();
        assert_eq!(name.len(), 10);
        assert_eq!(
            ctx.substitute(&json!({"a": ["${NAME}-${N}", "${OTHER}"]})),
            json!({"a": [format!("{name}-3"), "${OTHER}"]})
        );
    }

    #[test]
    fn payloads_are_dumped_as_python_does() {
        assert_eq!(
            py_json_dumps(&json!({"status": "approved"})),
            r#"{"status": "approved"}"#
        );
        assert_eq!(py_json_dumps(&json!([1, "é"])), r#"[1, "\u00e9"]"#);
    }
}
