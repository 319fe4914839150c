//! `AWS::IAM::Role` and `AWS::IAM::Policy`, with typed policy documents.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Expr;
use crate::cfn::Json;
use crate::l1::aws::iam::{managed_policy, policy, role};

/// An IAM role, assumed by an AWS service.
#[derive(Clone, Debug)]
pub struct Role {
    pub description: Option<String>,
    pub assume_role_policy_document: PolicyDocument,
    pub managed_policy_arns: Vec<Expr>,
    pub policies: Vec<InlinePolicy>,
}

impl Role {
    /// A role that only `service` (such as `lambda.amazonaws.com`) may assume, with no
    /// permissions yet: add them with [`Stack::grant`](crate::Stack::grant).
    pub fn for_service(service: &str) -> Self {
        Role {
            description: None,
            assume_role_policy_document: PolicyDocument::new(vec![Statement {
                sid: None,
                effect: Effect::Allow,
                principal: Some(Principal::Service(vec![Expr::lit(service)])),
                action: vec!["sts:AssumeRole".to_owned()],
                resource: vec![],
                condition: None,
            }]),
            managed_policy_arns: vec![],
            policies: vec![],
        }
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
}

/// A policy embedded in a role.
#[derive(Clone, Debug)]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

/// A policy attached to roles as a resource of its own (`AWS::IAM::Policy`). Use it for
/// statements that refer to a resource which itself refers to the role (a function's
/// permissions on its own ARN): in the role, they would form a dependency cycle.
#[derive(Clone, Debug)]
pub struct Policy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
    /// Names of the roles it is attached to.
    pub roles: Vec<Expr>,
}

/// A customer-managed policy (`AWS::IAM::ManagedPolicy`), for others to attach to their
/// roles.
#[derive(Clone, Debug)]
pub struct ManagedPolicy {
    pub description: Option<String>,
    pub policy_document: PolicyDocument,
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement")]
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statement: Vec<Statement>) -> Self {
        PolicyDocument {
            version: "2012-10-17",
            statement,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub action: Vec<String>,
    #[serde(skip_serializing_if = "super::is_empty")]
    pub resource: Vec<Expr>,
    /// Condition operator -> condition key -> value, such as
    /// `Bool: {aws:SecureTransport: "false"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<BTreeMap<String, BTreeMap<String, Expr>>>,
}

/// Who a resource policy or trust policy applies to.
#[derive(Clone, Debug)]
pub enum Principal {
    /// AWS services, such as `lambda.amazonaws.com` (or `logs.${AWS::Region}.amazonaws.com`).
    Service(Vec<Expr>),
    /// AWS accounts or IAM principals by ARN (an account's `arn:...:iam::<account>:root`).
    Aws(Vec<Expr>),
    /// Anyone (`"*"`); use with a `Deny` and a condition.
    Any,
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Principal::Any => s.serialize_str("*"),
            Principal::Service(services) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Service", services)?;
                m.end()
            }
            Principal::Aws(arns) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("AWS", arns)?;
                m.end()
            }
        }
    }
}

impl super::Lower for Role {
    type L1 = role::Role;
    fn lower(&self) -> role::Role {
        let mut r = role::Role::new(Json::of(&self.assume_role_policy_document));
        r.description = self.description.clone().map(Expr::lit);
        if !self.managed_policy_arns.is_empty() {
            r = r.managed_policy_arns(self.managed_policy_arns.iter().cloned());
        }
        if !self.policies.is_empty() {
            r =
                r.policies(self.policies.iter().map(|p| {
                    role::Policy::new(Json::of(&p.policy_document), p.policy_name.clone())
                }));
        }
        r
    }
}

impl super::Lower for Policy {
    type L1 = policy::Policy;
    fn lower(&self) -> policy::Policy {
        policy::Policy::new(Json::of(&self.policy_document), self.policy_name.clone())
            .roles(self.roles.iter().cloned())
    }
}

impl super::Lower for ManagedPolicy {
    type L1 = managed_policy::ManagedPolicy;
    fn lower(&self) -> managed_policy::ManagedPolicy {
        let mut m = managed_policy::ManagedPolicy::new(Json::of(&self.policy_document));
        m.description = self.description.clone().map(Expr::lit);
        m
    }
}
