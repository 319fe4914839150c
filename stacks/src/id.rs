use std::fmt;

use serde::Serialize;

/// A CloudFormation logical id: 1 to 255 ASCII letters and digits.
///
/// Logical ids are the identity of a resource across deployments: renaming one makes
/// CloudFormation delete the old resource and create a new one. They are therefore always
/// written out explicitly, never derived from something that changes by accident.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LogicalId(String);

/// Why a string is not a valid [`LogicalId`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a logical id cannot be empty")]
    Empty,
    #[error("logical id `{id}` is {len} characters long; CloudFormation allows at most 255")]
    TooLong { id: String, len: usize },
    #[error(
        "logical id `{id}` contains {ch:?}; CloudFormation allows only ASCII letters and digits (A-Z, a-z, 0-9)"
    )]
    InvalidChar { id: String, ch: char },
}

impl LogicalId {
    /// Checks `id` against CloudFormation's rules.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(IdError::Empty);
        }
        if let Some(ch) = id.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(IdError::InvalidChar { id, ch });
        }
        if id.len() > 255 {
            let len = id.len();
            return Err(IdError::TooLong { id, len });
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id that is known to be invalid, kept only so that synth can report it.
    pub(crate) fn unchecked(id: String) -> Self {
        Self(id)
    }
}

impl fmt::Display for LogicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Ordering and equality are those of the inner string, so maps keyed by `LogicalId` can be
// looked up by `&str`.
impl std::borrow::Borrow<str> for LogicalId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for LogicalId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_and_digits() {
        assert_eq!(LogicalId::new("Table1").unwrap().as_str(), "Table1");
    }

    #[test]
    fn rejects_what_cloudformation_rejects() {
        assert_eq!(LogicalId::new(""), Err(IdError::Empty));
        assert!(matches!(
            LogicalId::new("my-table"),
            Err(IdError::InvalidChar { ch: '-', .. })
        ));
        assert!(matches!(
            LogicalId::new("A".repeat(256)),
            Err(IdError::TooLong { len: 256, .. })
        ));
        assert!(LogicalId::new("A".repeat(255)).is_ok());
    }
}
