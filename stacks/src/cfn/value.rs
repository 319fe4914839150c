//! `Val<T>`: a number or boolean property, as a literal or as an expression.

use serde::{Serialize, Serializer};

use crate::Expr;

/// An integer, number or boolean property: a literal (checked at synth against the schema's
/// range) or an [`Expr`] (a parameter's value, an attribute), which synth cannot check.
///
/// ```
/// use stacks::cfn::Val;
/// let literal: Val<i64> = 60.into();
/// assert_eq!(literal.as_lit(), Some(&60));
/// let text = Val::<bool>::from(stacks::Expr::lit("true"));
/// assert_eq!(text.as_lit(), None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Val<T> {
    Lit(T),
    Expr(Expr),
}

impl<T> Val<T> {
    /// The literal, when this value is one.
    pub fn as_lit(&self) -> Option<&T> {
        match self {
            Val::Lit(v) => Some(v),
            Val::Expr(_) => None,
        }
    }
}

impl<T> From<Expr> for Val<T> {
    fn from(e: Expr) -> Self {
        Val::Expr(e)
    }
}

macro_rules! literals {
    ($target:ty: $($from:ty),*) => {$(
        impl From<$from> for Val<$target> {
            fn from(v: $from) -> Self {
                Val::Lit(<$target>::from(v))
            }
        }
    )*};
}
literals!(i64: i64, i32, u32, u16, u8);
literals!(f64: f64, f32, i32, u32, u16, u8);
literals!(bool: bool);

impl<T: Serialize> Serialize for Val<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Lit(v) => v.serialize(s),
            Val::Expr(e) => e.serialize(s),
        }
    }
}
