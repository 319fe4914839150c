//! `application/x-www-form-urlencoded` bodies (Slack's slash commands, GitHub's form
//! delivery option): read, never rewritten (the record keeps the body as received).

/// The fields of a form body, decoded.
pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of field `name`, if the body has it (and it is not empty).
pub fn field(body: &[u8], name: &str) -> Option<String> {
    fields(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The JSON event in a form's `payload` field (GitHub's form option, Slack's interactive
/// payloads), parsed; `None` when the form has no such field or it is not JSON.
pub fn payload(body: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_str(&field(body, "payload")?).ok()
}

/// The form as JSON: its `payload` field parsed when it holds JSON, else an object of its
/// fields (Slack's slash commands); `None` for a form without fields.
pub fn as_json(body: &[u8]) -> Option<serde_json::Value> {
    if let Some(payload) = payload(body) {
        return Some(payload);
    }
    let map: serde_json::Map<String, serde_json::Value> = fields(body)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    (!map.is_empty()).then_some(serde_json::Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_githubs_payload_is_json() {
        let body = b"command=%2Fdeploy&text=hello+world&trigger_id=123.456";
        assert_eq!(field(body, "text").as_deref(), Some("hello world"));
        assert_eq!(field(body, "trigger_id").as_deref(), Some("123.456"));
        assert_eq!(as_json(body).unwrap()["command"], "/deploy");
        let github = b"payload=%7B%22zen%22%3A%22ok%22%7D";
        assert_eq!(as_json(github).unwrap()["zen"], "ok");
    }
}
