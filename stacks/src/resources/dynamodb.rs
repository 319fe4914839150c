//! `AWS::DynamoDB::Table`.

use serde::{Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AttributeType {
    S,
    N,
    B,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub kind: AttributeType,
}

impl KeyAttribute {
    pub fn string(name: &str) -> Self {
        KeyAttribute {
            name: name.to_owned(),
            kind: AttributeType::S,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    PayPerRequest,
    Provisioned { read: u32, write: u32 },
}

/// Server-side encryption. DynamoDB always encrypts at rest; this chooses the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// A key owned by DynamoDB (no KMS charges, no key audit trail).
    AwsOwned,
    /// The account's AWS managed key `aws/dynamodb` in KMS.
    AwsManagedKms,
}

/// A DynamoDB table. Construct it with [`Table::new`]; set a TTL with [`Table::ttl`]
/// (synth refuses a table without one).
#[derive(Clone, Debug)]
pub struct Table {
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub billing: Billing,
    /// The attribute holding each item's expiry time (epoch seconds), if TTL is enabled.
    pub ttl_attribute: Option<String>,
    pub point_in_time_recovery: bool,
    pub encryption: Encryption,
    pub deletion_protection: bool,
}

impl Table {
    pub fn new(partition_key: KeyAttribute) -> Self {
        Table {
            partition_key,
            sort_key: None,
            billing: Billing::PayPerRequest,
            ttl_attribute: None,
            point_in_time_recovery: false,
            encryption: Encryption::AwsOwned,
            deletion_protection: false,
        }
    }

    pub fn ttl(mut self, attribute: &str) -> Self {
        self.ttl_attribute = Some(attribute.to_owned());
        self
    }

    pub fn point_in_time_recovery(mut self, on: bool) -> Self {
        self.point_in_time_recovery = on;
        self
    }

    pub fn encryption(mut self, e: Encryption) -> Self {
        self.encryption = e;
        self
    }

    pub fn deletion_protection(mut self, on: bool) -> Self {
        self.deletion_protection = on;
        self
    }
}

impl Serialize for Table {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct AttributeDefinition<'a> {
            attribute_name: &'a str,
            attribute_type: AttributeType,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct KeySchemaElement<'a> {
            attribute_name: &'a str,
            key_type: &'static str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Throughput {
            read_capacity_units: u32,
            write_capacity_units: u32,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Ttl<'a> {
            attribute_name: &'a str,
            enabled: bool,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Pitr {
            point_in_time_recovery_enabled: bool,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Sse {
            #[serde(rename = "SSEEnabled")]
            sse_enabled: bool,
            #[serde(rename = "SSEType", skip_serializing_if = "Option::is_none")]
            sse_type: Option<&'static str>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Props<'a> {
            attribute_definitions: Vec<AttributeDefinition<'a>>,
            key_schema: Vec<KeySchemaElement<'a>>,
            billing_mode: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            provisioned_throughput: Option<Throughput>,
            #[serde(skip_serializing_if = "Option::is_none")]
            time_to_live_specification: Option<Ttl<'a>>,
            point_in_time_recovery_specification: Pitr,
            #[serde(rename = "SSESpecification")]
            sse_specification: Sse,
            deletion_protection_enabled: bool,
        }

        let keys = std::iter::once((&self.partition_key, "HASH"))
            .chain(self.sort_key.as_ref().map(|k| (k, "RANGE")));
        let (attribute_definitions, key_schema) = keys
            .map(|(k, key_type)| {
                (
                    AttributeDefinition {
                        attribute_name: &k.name,
                        attribute_type: k.kind,
                    },
                    KeySchemaElement {
                        attribute_name: &k.name,
                        key_type,
                    },
                )
            })
            .unzip();
        let (billing_mode, provisioned_throughput) = match self.billing {
            Billing::PayPerRequest => ("PAY_PER_REQUEST", None),
            Billing::Provisioned { read, write } => (
                "PROVISIONED",
                Some(Throughput {
                    read_capacity_units: read,
                    write_capacity_units: write,
                }),
            ),
        };
        Props {
            attribute_definitions,
            key_schema,
            billing_mode,
            provisioned_throughput,
            time_to_live_specification: self.ttl_attribute.as_deref().map(|a| Ttl {
                attribute_name: a,
                enabled: true,
            }),
            point_in_time_recovery_specification: Pitr {
                point_in_time_recovery_enabled: self.point_in_time_recovery,
            },
            sse_specification: match self.encryption {
                Encryption::AwsOwned => Sse {
                    sse_enabled: false,
                    sse_type: None,
                },
                Encryption::AwsManagedKms => Sse {
                    sse_enabled: true,
                    sse_type: Some("KMS"),
                },
            },
            deletion_protection_enabled: self.deletion_protection,
        }
        .serialize(s)
    }
}
