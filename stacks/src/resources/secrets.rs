//! `AWS::SecretsManager::Secret`.

use serde::Serialize;

use crate::Expr;

/// A secret whose value Secrets Manager generates, so that it never appears in a template.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub generate_secret_string: GenerateSecretString,
    /// The KMS key (ARN) the value is encrypted with; the AWS managed `aws/secretsmanager`
    /// without one. Readers then need `kms:Decrypt` on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Expr>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateSecretString {
    pub password_length: u32,
    pub exclude_punctuation: bool,
}

impl Secret {
    /// A generated secret of `length` letters and digits.
    pub fn generated(description: impl Into<String>, length: u32) -> Self {
        Secret {
            description: Some(description.into()),
            generate_secret_string: GenerateSecretString {
                password_length: length,
                exclude_punctuation: true,
            },
            kms_key_id: None,
        }
    }

    /// Encrypts the value with the KMS key `key_arn`.
    pub fn kms_key(mut self, key_arn: Expr) -> Self {
        self.kms_key_id = Some(key_arn);
        self
    }
}
