//! The resource trait of the open set: any type that implements [`CfnResource`] can be
//! added to a [`Stack`](crate::Stack), beside the hand-written types of
//! [`resources`](crate::resources).

use std::any::Any;
use std::fmt;

use serde::{Serialize, Serializer};

use super::{Checkable, Checker, Json, Rule, ToJson, Violation};
use crate::resources::{Resource, ResourceType};

/// A CloudFormation resource type: its name, its properties (rendered in the schema's
/// order) and the schema's constraints on them. Every generated L1 resource implements it.
pub trait CfnResource: ToJson + Checkable + Clone + fmt::Debug + Send + Sync + 'static {
    /// The CloudFormation type name, such as `AWS::SQS::Queue`.
    const TYPE_NAME: &'static str;
}

/// What a resource in a stack needs of its type, object-safe.
trait Dyn: fmt::Debug + Send + Sync {
    fn type_name(&self) -> &'static str;
    fn properties(&self) -> Json;
    fn violations(&self) -> Vec<Violation>;
    fn clone_box(&self) -> Box<dyn Dyn>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: CfnResource> Dyn for T {
    fn type_name(&self) -> &'static str {
        T::TYPE_NAME
    }
    fn properties(&self) -> Json {
        self.to_json()
    }
    fn violations(&self) -> Vec<Violation> {
        let mut k = Checker::new();
        self.check(&Rule::NONE, &mut k);
        k.finish()
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

/// A resource of the open set, as a stack holds it.
#[derive(Debug)]
pub struct AnyResource(Box<dyn Dyn>);

impl AnyResource {
    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    /// The `Properties` object, keys in the schema's order.
    pub fn properties(&self) -> Json {
        self.0.properties()
    }

    /// The literal values its schema does not allow.
    pub fn violations(&self) -> Vec<Violation> {
        self.0.violations()
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

impl<T: CfnResource> From<T> for Resource {
    fn from(r: T) -> Self {
        Resource::Open(AnyResource(Box::new(r)))
    }
}

impl<T: CfnResource> ResourceType for T {
    const TYPE: &'static str = T::TYPE_NAME;

    fn downcast_mut(r: &mut Resource) -> Option<&mut Self> {
        match r {
            Resource::Open(any) => any.0.as_any_mut().downcast_mut(),
            _ => None,
        }
    }

    fn downcast_ref(r: &Resource) -> Option<&Self> {
        match r {
            Resource::Open(any) => any.0.as_any().downcast_ref(),
            _ => None,
        }
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
