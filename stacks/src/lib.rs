//! Typed CloudFormation for the webhook stack.
//!
//! `stacks` is pure: no I/O, no AWS SDK, no async runtime. A [`Stack`] is built from typed
//! resources; references between them are typed [`Handle`]s, so a reference always names a
//! resource that was added. [`Stack::synth`] checks the stack (dangling and duplicate ids,
//! cycles, durable functions invoked without a qualifier, out-of-range values, tables
//! without TTL, ...) and renders a deterministic template: the same input gives the same
//! bytes.
//!
//! ```
//! use stacks::webhook::{self, Stage};
//! use stacks::Format;
//!
//! let template = webhook::synth(Stage::Dev).unwrap();
//! let yaml = template.render(Format::Yaml).unwrap();
//! assert!(yaml.contains("AWS::Lambda::Alias"));
//! assert_eq!(template.manifest().assets.len(), 4);
//! ```

mod api;
pub mod bootstrap;
pub mod checkov;
pub mod conformance;
mod expr;
mod grant;
mod id;
pub mod resources;
mod stack;
mod validate;
pub mod webhook;

pub use api::{RestApiBuilder, StageSettings, stage_url};
pub use expr::{Expr, Pseudo};
pub use grant::{Grant, dynamodb as actions};
pub use id::{IdError, LogicalId};
pub use stack::{
    ASSET_BUCKET_PARAMETER, Asset, AssetEntry, AssetManifest, Format, GRANTS_POLICY, Handle,
    Invocable, Output, Parameter, PolicyHolder, RemovalPolicy, RenderError, Stack, Template,
};
pub use validate::{Problem, SynthError};
