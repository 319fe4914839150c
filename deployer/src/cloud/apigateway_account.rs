//! API Gateway's account-level CloudWatch Logs role (one per account and region). AWS refuses
//! a stage with access or execution logging while none is set, so `bootstrap` sets the role
//! of its stack when the account has none, and keeps a role that is already set (whoever set
//! it). `AWS::ApiGateway::Account` is not used: it would replace a role set by someone else,
//! and CloudFormation never resets it.

use std::time::{Duration, Instant};

use aws_sdk_apigateway::error::SdkError;
use aws_sdk_apigateway::operation::get_account::GetAccountError;
use aws_sdk_apigateway::operation::update_account::UpdateAccountError;
use aws_sdk_apigateway::types::{Op, PatchOperation};

use super::Cloud;

/// How long a role IAM has just created may stay unknown to API Gateway.
const PROPAGATION: Duration = Duration::from_secs(90);
/// The pause between attempts while it is.
const RETRY_EVERY: Duration = Duration::from_secs(5);

/// The account setting's path in `UpdateAccount`.
const ROLE_PATH: &str = "/cloudwatchRoleArn";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("cannot read API Gateway's account settings in {region}")]
    Read {
        region: String,
        #[source]
        source: SdkError<GetAccountError>,
    },
    #[error("cannot set API Gateway's CloudWatch Logs role to {role} in {region}")]
    Set {
        region: String,
        role: String,
        #[source]
        source: SdkError<UpdateAccountError>,
    },
}

/// What `bootstrap` did about the account's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// None was set: the bootstrap stack's role is now.
    Set { role: String },
    /// One was set already and is kept; `ours` when it is the bootstrap stack's.
    Kept { role: String, ours: bool },
}

/// The decision, from the role set now (if any) and the bootstrap stack's role.
pub fn decide(current: Option<&str>, ours: &str) -> Outcome {
    match current.map(str::trim).filter(|r| !r.is_empty()) {
        Some(role) => Outcome::Kept {
            role: role.to_owned(),
            ours: role == ours,
        },
        None => Outcome::Set {
            role: ours.to_owned(),
        },
    }
}

/// The line `bootstrap` prints on stderr.
pub fn describe(outcome: &Outcome, region: &str, ours: &str) -> String {
    match outcome {
        Outcome::Set { role } => format!(
            "API Gateway in {region}: no CloudWatch Logs role was set; set to {role} (stages with access logging need one)"
        ),
        Outcome::Kept { role, ours: true } => {
            format!("API Gateway in {region}: CloudWatch Logs role {role} is already set; kept")
        }
        Outcome::Kept { role, ours: false } => format!(
            "API Gateway in {region}: CloudWatch Logs role {role} is already set; kept (the bootstrap stack's role {ours} is not used)"
        ),
    }
}

/// Sets `ours` as the account's CloudWatch Logs role unless one is set; says which on stderr.
pub async fn ensure_cloudwatch_role(cloud: &Cloud, ours: &str) -> Result<Outcome, AccountError> {
    let account = cloud
        .apigateway
        .get_account()
        .send()
        .await
        .map_err(|source| AccountError::Read {
            region: cloud.region.clone(),
            source,
        })?;
    let outcome = decide(account.cloudwatch_role_arn(), ours);
    if let Outcome::Set { role } = &outcome {
        set_role(cloud, role).await?;
    }
    eprintln!("{}", describe(&outcome, &cloud.region, ours));
    Ok(outcome)
}

/// `UpdateAccount`, again while API Gateway does not yet see a role IAM has just created
/// (it answers BadRequest: the role cannot be assumed), for at most [`PROPAGATION`].
async fn set_role(cloud: &Cloud, role: &str) -> Result<(), AccountError> {
    let patch = PatchOperation::builder()
        .op(Op::Replace)
        .path(ROLE_PATH)
        .value(role)
        .build();
    let deadline = Instant::now() + PROPAGATION;
    let mut waited = false;
    loop {
        let sent = cloud
            .apigateway
            .update_account()
            .patch_operations(patch.clone())
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateAccountError::is_bad_request_exception)
                    && Instant::now() + RETRY_EVERY < deadline =>
            {
                if !waited {
                    eprintln!(
                        "API Gateway does not accept {role} yet (IAM is still propagating the new role); trying again for up to {} s",
                        PROPAGATION.as_secs()
                    );
                    waited = true;
                }
                tokio::time::sleep(RETRY_EVERY).await;
            }
            Err(source) => {
                return Err(AccountError::Set {
                    region: cloud.region.clone(),
                    role: role.to_owned(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str =
        "arn:aws:iam::111111111111:role/deployer-bootstrap-ApiGatewayCloudWatchRole-X";

    #[test]
    fn none_set_is_set_to_ours() {
        for current in [None, Some(""), Some("  ")] {
            assert_eq!(
                decide(current, OURS),
                Outcome::Set {
                    role: OURS.to_owned()
                }
            );
        }
    }

    #[test]
    fn a_role_already_set_is_kept_whoever_set_it() {
        assert_eq!(
            decide(Some(OURS), OURS),
            Outcome::Kept {
                role: OURS.to_owned(),
                ours: true
            }
        );
        let theirs = "arn:aws:iam::111111111111:role/theirs";
        let kept = decide(Some(theirs), OURS);
        assert_eq!(
            kept,
            Outcome::Kept {
                role: theirs.to_owned(),
                ours: false
            }
        );
        let line = describe(&kept, "eu-west-1", OURS);
        assert!(line.contains("role/theirs is already set; kept"), "{line}");
        assert!(line.contains("is not used"), "{line}");
    }
}
