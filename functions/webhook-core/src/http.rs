//! API Gateway (REST, proxy integration) requests and responses.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use serde::Serialize;

/// A JSON response.
pub fn json(status: u16, body: &impl Serialize) -> ApiGatewayProxyResponse {
    let text = serde_json::to_string(body)
        .unwrap_or_else(|e| format!(r#"{{"message":"cannot render the response: {e}"}}"#));
    let mut headers = HeaderMap::new();
    headers.insert(
        aws_lambda_events::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut res = ApiGatewayProxyResponse::default();
    res.status_code = i64::from(status);
    res.headers = headers;
    res.body = Some(Body::Text(text));
    res
}

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

/// `{"message": "..."}` with `status`.
pub fn error(status: u16, message: &str) -> ApiGatewayProxyResponse {
    json(status, &Message { message })
}

/// Adds a header; values that are not valid header text are dropped.
pub fn with_header(
    mut res: ApiGatewayProxyResponse,
    name: &'static str,
    value: &str,
) -> ApiGatewayProxyResponse {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers.insert(HeaderName::from_static(name), v);
    }
    res
}

/// The raw bytes of a header (names are case-insensitive).
pub fn header<'a>(req: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a [u8]> {
    req.headers.get(name).map(HeaderValue::as_bytes)
}

/// The body could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request body is flagged as base64 but is not valid base64")]
pub struct BadBody;

/// The request body as bytes (decoding base64 when API Gateway flags it).
pub fn body(req: &ApiGatewayProxyRequest) -> Result<Vec<u8>, BadBody> {
    match &req.body {
        None => Ok(Vec::new()),
        Some(b) if req.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|_| BadBody),
        Some(b) => Ok(b.as_bytes().to_vec()),
    }
}
