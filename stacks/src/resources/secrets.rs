//! `AWS::SecretsManager::Secret`.

use crate::Expr;
use crate::l1::aws::secretsmanager::secret as l1;

/// A secret whose value Secrets Manager generates, so that it never appears in a template.
#[derive(Clone, Debug)]
pub struct Secret {
    pub description: Option<String>,
    pub generate_secret_string: GenerateSecretString,
    /// The KMS key (ARN) the value is encrypted with; the AWS managed `aws/secretsmanager`
    /// without one. Readers then need `kms:Decrypt` on it.
    pub kms_key_id: Option<Expr>,
}

#[derive(Clone, Debug)]
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

impl super::Lower for Secret {
    type L1 = l1::Secret;
    fn lower(&self) -> l1::Secret {
        let g = &self.generate_secret_string;
        let mut s = l1::Secret::new().generate_secret_string(
            l1::GenerateSecretString::new()
                .exclude_punctuation(g.exclude_punctuation)
                .password_length(g.password_length),
        );
        s.description = self.description.clone().map(Expr::lit);
        s.kms_key_id = self.kms_key_id.clone();
        s
    }
}
