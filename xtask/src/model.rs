//! What the generator emits, independent of Rust text: per resource type its structs (the
//! resource's and one per definition or inline object), enums, attributes and replacement
//! paths.

/// The Rust type of a field.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// A string: `Expr`.
    Expr,
    /// `Val<i64>`
    Int,
    /// `Val<f64>`
    Num,
    /// `Val<bool>`
    Bool,
    /// A free-form document: `c::Json`.
    Json,
    /// A generated struct of the same module.
    Struct(String),
    List(Box<Ty>),
    /// `BTreeMap<String, _>`
    Map(Box<Ty>),
}

impl Ty {
    /// Whether a value of this type holds a generated struct (whose fields may be checked).
    pub fn has_struct(&self) -> bool {
        match self {
            Ty::Struct(_) => true,
            Ty::List(t) | Ty::Map(t) => t.has_struct(),
            _ => false,
        }
    }

    pub fn has_map(&self) -> bool {
        match self {
            Ty::Map(_) => true,
            Ty::List(t) => t.has_map(),
            _ => false,
        }
    }
}

/// Which values an `enum` allows.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Allowed {
    #[default]
    Any,
    /// The values of a generated enum (`Enum::VALUES`).
    Enum(String),
    /// Numbers, as JSON text.
    Values(Vec<String>),
}

/// The schema's constraints on a field (`c::Rule`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub allowed: Allowed,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub items: Option<Box<Rule>>,
}

impl Rule {
    pub fn is_empty(&self) -> bool {
        *self == Rule::default()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The name in the template (`KmsMasterKeyId`).
    pub json: String,
    /// The Rust name (`kms_master_key_id`, `r#type`).
    pub rust: String,
    pub doc: Option<String>,
    pub ty: Ty,
    pub required: bool,
    /// Boxed: the field's struct contains this one (recursion).
    pub boxed: bool,
    pub rule: Rule,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    pub name: String,
    pub doc: Option<String>,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enum {
    pub name: String,
    /// The property (or definition) it is the values of.
    pub of: String,
    /// `(variant, value)` in the schema's order.
    pub variants: Vec<(String, String)>,
}

/// A `Fn::GetAtt` attribute and its accessor on the resource's handle.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// `Arn`, `SnapStartResponse.ApplyOn`
    pub name: String,
    pub method: String,
    pub doc: Option<String>,
}

/// One resource type: everything its module holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// `AWS::SQS::Queue`
    pub type_name: String,
    /// The module (file) name, `queue`.
    pub module: String,
    /// The resource's struct first, then the others in the order they were reached.
    pub structs: Vec<Struct>,
    pub enums: Vec<Enum>,
    pub attributes: Vec<Attribute>,
    /// The `primaryIdentifier` properties (what `Ref` returns, joined with `|`).
    pub primary_identifier: Vec<String>,
}

/// A CloudFormation namespace (`AWS::SQS`): one module, one cargo feature.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// `AWS::SQS`
    pub namespace: String,
    /// `aws`
    pub vendor: String,
    /// `sqs`
    pub module: String,
    /// `aws-sqs`
    pub feature: String,
    pub resources: Vec<Resource>,
}

/// The replacement paths of one type.
#[derive(Clone, Debug, PartialEq)]
pub struct Replacement {
    pub type_name: String,
    pub create_only: Vec<String>,
    pub conditional: Vec<String>,
}
