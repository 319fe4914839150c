//! What the generated L1 types ([`crate::l1`]) are made of: [`Val`] (a literal or an
//! expression), [`Json`] (documents whose strings are expressions), the resource trait
//! [`CfnResource`] that lets [`Stack::add`](crate::Stack::add) take any of them, the schema
//! constraints checked at synth ([`Rule`]), and the replacement table of every type.

mod check;
mod json;
mod resource;
mod value;

pub use check::{Broken, Checkable, Checker, Rule, Violation};
pub use json::{Json, Object, ToJson};
pub use resource::{AnyResource, CfnResource, Properties, RawResource, Replacement, ResourceType};
pub use value::Val;

/// Which property changes replace a resource of `type_name` (every type of the pinned
/// schemas, whatever the enabled features); `None` for a type the schemas do not know.
///
/// ```
/// let table = stacks::cfn::replacement("AWS::DynamoDB::Table").unwrap();
/// assert!(table.conditional.contains(&"/properties/KeySchema"));
/// let function = stacks::cfn::replacement("AWS::Lambda::Function").unwrap();
/// assert!(function.create_only.contains(&"/properties/FunctionName"));
/// ```
pub fn replacement(type_name: &str) -> Option<&'static Replacement> {
    let table = crate::l1::replacement::TABLE;
    table
        .binary_search_by(|r| r.type_name.cmp(type_name))
        .ok()
        .map(|i| &table[i])
}
