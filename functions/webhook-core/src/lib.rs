//! What the three webhook functions share: configuration from the environment, the status
//! store (DynamoDB), webhook ids, signatures, the validation rules and HTTP helpers.
//!
//! Names that the stack also knows (environment keys, attribute names, step names) come from
//! [`webhook_contract`]; nothing here depends on the stack or the deployer.

pub mod config;
pub mod executions;
pub mod faults;
pub mod forms;
pub mod http;
pub mod ids;
pub mod logging;
pub mod record;
pub mod rules;
pub mod schemes;
pub mod secret;
pub mod sources;
pub mod starter;
pub mod store;
pub mod time;

pub use ids::WebhookId;
pub use record::{Record, Status};
pub use store::{Store, StoreError};
