//! The resource trait of the open set: any type that implements [`ResourceType`] can be
//! added to a [`Stack`](crate::Stack): the generated L1 types of [`l1`](crate::l1) (through
//! [`CfnResource`]), the constructs of [`resources`](crate::resources), a [`RawResource`] for
//! a type newer than the pinned schemas, or a type of your own. No central enum to edit.

use std::any::Any;
use std::fmt;

use serde::{Serialize, Serializer};

use super::{Checkable, Checker, Json, Rule, ToJson, Violation};

/// A resource a stack can hold: its CloudFormation type and its `Properties` object.
///
/// ```
/// use stacks::cfn::{Properties, ResourceType};
/// use stacks::{Expr, Stack};
///
/// /// A resource type of your own: any `Serialize` value renders as its properties.
/// #[derive(Clone, Debug, serde::Serialize)]
/// #[serde(rename_all = "PascalCase")]
/// struct Parameter {
///     name: String,
///     value: Expr,
/// }
///
/// impl ResourceType for Parameter {
///     const TYPE: &'static str = "AWS::SSM::Parameter";
///     fn properties(&self) -> Properties<'_> {
///         Properties::Serde(self)
///     }
/// }
///
/// let mut stack = Stack::new("demo", "a stack");
/// stack.add("Flag", Parameter { name: "/demo/flag".into(), value: Expr::lit("on") });
/// let template = stack.synth().unwrap().to_value().unwrap();
/// assert_eq!(template["Resources"]["Flag"]["Properties"]["Name"], "/demo/flag");
/// ```
pub trait ResourceType: Clone + fmt::Debug + Send + Sync + 'static {
    /// The CloudFormation type name, such as `AWS::DynamoDB::Table`.
    const TYPE: &'static str;

    /// The type name of this resource: [`Self::TYPE`], except for types only known at run
    /// time ([`RawResource`]).
    fn type_name(&self) -> &str {
        Self::TYPE
    }

    /// The `Properties` object.
    fn properties(&self) -> Properties<'_>;

    /// The literal values its schema does not allow (checked at synth).
    fn violations(&self) -> Vec<Violation> {
        Vec::new()
    }
}

/// A resource's `Properties`, as it renders them.
pub enum Properties<'a> {
    /// Any `Serialize` value (keys in its own order).
    Serde(&'a dyn erased_serde::Serialize),
    /// A [`Json`] document (the generated types: keys in the schema's order).
    Json(Json),
}

impl fmt::Debug for Properties<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Properties::Serde(_) => f.write_str("Properties::Serde(..)"),
            Properties::Json(j) => f.debug_tuple("Properties::Json").field(j).finish(),
        }
    }
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Properties::Serde(v) => erased_serde::serialize(*v, s),
            Properties::Json(j) => j.serialize(s),
        }
    }
}

/// A CloudFormation resource type generated from its schema: its name, its properties
/// (rendered in the schema's order) and the schema's constraints on them. Every generated
/// L1 resource implements it.
pub trait CfnResource: ToJson + Checkable + Clone + fmt::Debug + Send + Sync + 'static {
    /// The CloudFormation type name, such as `AWS::SQS::Queue`.
    const TYPE_NAME: &'static str;
}

impl<T: CfnResource> ResourceType for T {
    const TYPE: &'static str = T::TYPE_NAME;

    fn properties(&self) -> Properties<'_> {
        Properties::Json(self.to_json())
    }

    fn violations(&self) -> Vec<Violation> {
        let mut k = Checker::new();
        self.check(&Rule::NONE, &mut k);
        k.finish()
    }
}

/// A resource of a type the pinned schemas do not know yet (or that no typed model covers):
/// its type name and its properties as a [`Json`] document. The escape hatch of last resort.
///
/// ```
/// use stacks::cfn::{Json, RawResource};
/// use stacks::Stack;
///
/// let mut stack = Stack::new("demo", "a stack");
/// let raw = RawResource::new(
///     "AWS::NewService::Thing",
///     Json::object([("Size", Json::Int(3))]),
/// );
/// stack.add("Thing", raw);
/// let template = stack.synth().unwrap().to_value().unwrap();
/// assert_eq!(template["Resources"]["Thing"]["Type"], "AWS::NewService::Thing");
/// assert_eq!(template["Resources"]["Thing"]["Properties"]["Size"], 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RawResource {
    type_name: String,
    properties: Json,
}

impl RawResource {
    pub fn new(type_name: impl Into<String>, properties: Json) -> Self {
        RawResource {
            type_name: type_name.into(),
            properties,
        }
    }
}

impl ResourceType for RawResource {
    const TYPE: &'static str = "(raw resource)";

    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn properties(&self) -> Properties<'_> {
        Properties::Json(self.properties.clone())
    }
}

/// What a resource in a stack needs of its type, object-safe.
trait Dyn: fmt::Debug + Send + Sync {
    fn type_name(&self) -> &str;
    fn properties(&self) -> Properties<'_>;
    fn violations(&self) -> Vec<Violation>;
    fn clone_box(&self) -> Box<dyn Dyn>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: ResourceType> Dyn for T {
    fn type_name(&self) -> &str {
        ResourceType::type_name(self)
    }
    fn properties(&self) -> Properties<'_> {
        ResourceType::properties(self)
    }
    fn violations(&self) -> Vec<Violation> {
        ResourceType::violations(self)
    }
    fn clone_box(&self) -> Box<dyn Dyn> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A resource as a stack holds it: any [`ResourceType`].
#[derive(Debug)]
pub struct AnyResource(Box<dyn Dyn>);

impl AnyResource {
    pub fn new<T: ResourceType>(resource: T) -> Self {
        AnyResource(Box::new(resource))
    }

    pub fn type_name(&self) -> &str {
        self.0.type_name()
    }

    /// The `Properties` object.
    pub fn properties(&self) -> Properties<'_> {
        self.0.properties()
    }

    /// The literal values its schema does not allow.
    pub fn violations(&self) -> Vec<Violation> {
        self.0.violations()
    }

    /// The resource, when it is a `T`.
    pub fn downcast_ref<T: ResourceType>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// The resource, when it is a `T`.
    pub fn downcast_mut<T: ResourceType>(&mut self) -> Option<&mut T> {
        self.0.as_any_mut().downcast_mut()
    }
}

impl Clone for AnyResource {
    fn clone(&self) -> Self {
        AnyResource(self.0.clone_box())
    }
}

impl Serialize for AnyResource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.properties().serialize(s)
    }
}

/// The properties of a resource type whose change replaces the resource, as JSON pointers
/// (`/properties/KeySchema`): `createOnlyProperties` always replace, and
/// `conditionalCreateOnlyProperties` may (it depends on the change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replacement {
    pub type_name: &'static str,
    pub create_only: &'static [&'static str],
    pub conditional: &'static [&'static str],
}
