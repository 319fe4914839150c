//! The three function crates, their handlers called directly with API Gateway proxy events,
//! against DynamoDB Local (the real engine) and the durable SDK's own `LocalRunner`.

mod corpus;
mod processor;
mod receiver;
mod schemes;
mod status;
mod store;

pub use ::status::StatusApi;
pub use aws_lambda_events::apigw::ApiGatewayProxyRequest;
pub use serde_json::Value;
pub use tests::functions::*;
pub use webhook_core::schemes::github;
pub use webhook_core::{Store, WebhookId};
