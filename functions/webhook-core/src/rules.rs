//! The validation rules of the processor's first step, as a table: which `type`s exist and
//! which fields each requires. A webhook that breaks a rule fails permanently, with every
//! reason listed.

use serde_json::Value;

/// A webhook type and the fields its payload must carry.
#[derive(Debug)]
pub struct Rule {
    pub kind: &'static str,
    pub required: &'static [&'static str],
}

/// The reference rule set: `type` in order|payment|user|system; orders need `orderId`,
/// payments need `transactionId`.
pub const RULES: &[Rule] = &[
    Rule {
        kind: "order",
        required: &["orderId"],
    },
    Rule {
        kind: "payment",
        required: &["transactionId"],
    },
    Rule {
        kind: "user",
        required: &[],
    },
    Rule {
        kind: "system",
        required: &[],
    },
];

/// Every reason `payload` is invalid under `rules`; empty when it is valid.
pub fn violations(rules: &[Rule], payload: &Value) -> Vec<String> {
    let Some(object) = payload.as_object() else {
        return vec!["the payload must be a JSON object".to_owned()];
    };
    let kinds = || rules.iter().map(|r| r.kind).collect::<Vec<_>>().join(", ");
    let rule = match object.get("type") {
        None => return vec![format!("`type` is missing; it must be one of: {}", kinds())],
        Some(Value::String(t)) => match rules.iter().find(|r| r.kind == t) {
            Some(rule) => rule,
            None => {
                return vec![format!("`type` is {t:?}; it must be one of: {}", kinds())];
            }
        },
        Some(other) => {
            return vec![format!("`type` must be a string, not {}", json_kind(other))];
        }
    };
    rule.required
        .iter()
        .filter_map(|field| match object.get(*field) {
            None | Some(Value::Null) => {
                Some(format!("a webhook of type {} needs `{field}`", rule.kind))
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                Some(format!("`{field}` must not be empty"))
            }
            Some(Value::String(_) | Value::Number(_)) => None,
            Some(other) => Some(format!(
                "`{field}` must be a string or a number, not {}",
                json_kind(other)
            )),
        })
        .collect()
}

/// `"an array"`, `"a number"`... for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(payload: Value) -> Vec<String> {
        violations(RULES, &payload)
    }

    #[test]
    fn the_reference_rules() {
        assert!(check(json!({"type": "order", "orderId": "o-1"})).is_empty());
        assert!(check(json!({"type": "payment", "transactionId": 7})).is_empty());
        assert!(check(json!({"type": "user"})).is_empty());
        assert!(check(json!({"type": "system", "extra": [1, 2]})).is_empty());
        assert_eq!(
            check(json!({"type": "order"})),
            ["a webhook of type order needs `orderId`"]
        );
        assert_eq!(
            check(json!({"type": "payment", "transactionId": ""})),
            ["`transactionId` must not be empty"]
        );
        assert_eq!(
            check(json!({"type": "refund"})),
            ["`type` is \"refund\"; it must be one of: order, payment, user, system"]
        );
        assert_eq!(
            check(json!({"type": 3})),
            ["`type` must be a string, not a number"]
        );
        assert_eq!(
            check(json!({})),
            ["`type` is missing; it must be one of: order, payment, user, system"]
        );
        assert_eq!(
            check(json!({"type": "order", "orderId": {"a": 1}})),
            ["`orderId` must be a string or a number, not an object"]
        );
    }
}
