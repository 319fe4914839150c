//! `AWS::DynamoDB::Table`.

use serde::{Serialize, Serializer};

use crate::Expr;

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

    pub fn number(name: &str) -> Self {
        KeyAttribute {
            name: name.to_owned(),
            kind: AttributeType::N,
        }
    }
}

/// Which attributes an index copies besides its keys and the table's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Projection {
    KeysOnly,
    Include(Vec<String>),
    All,
}

/// A global secondary index. Items without its partition key are not in it (a sparse
/// index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalIndex {
    pub name: String,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub projection: Projection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    PayPerRequest,
    Provisioned { read: u32, write: u32 },
}

/// Server-side encryption. DynamoDB always encrypts at rest; this chooses the key.
#[derive(Clone, Debug, PartialEq)]
pub enum Encryption {
    /// A key owned by DynamoDB (no KMS charges, no key audit trail).
    AwsOwned,
    /// The account's AWS managed key `aws/dynamodb` in KMS.
    AwsManagedKms,
    /// A customer-managed KMS key (its ARN): whoever reads or writes items needs
    /// `kms:Decrypt` on it.
    CustomerManaged(Expr),
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
    pub global_indexes: Vec<GlobalIndex>,
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
            global_indexes: Vec::new(),
        }
    }

    pub fn global_index(mut self, index: GlobalIndex) -> Self {
        self.global_indexes.push(index);
        self
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
        struct Sse<'a> {
            #[serde(rename = "SSEEnabled")]
            sse_enabled: bool,
            #[serde(rename = "SSEType", skip_serializing_if = "Option::is_none")]
            sse_type: Option<&'static str>,
            #[serde(rename = "KMSMasterKeyId", skip_serializing_if = "Option::is_none")]
            kms_master_key_id: Option<&'a Expr>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct IndexProjection<'a> {
            projection_type: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            non_key_attributes: Option<&'a [String]>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Gsi<'a> {
            index_name: &'a str,
            key_schema: Vec<KeySchemaElement<'a>>,
            projection: IndexProjection<'a>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Props<'a> {
            attribute_definitions: Vec<AttributeDefinition<'a>>,
            key_schema: Vec<KeySchemaElement<'a>>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            global_secondary_indexes: Vec<Gsi<'a>>,
            billing_mode: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            provisioned_throughput: Option<Throughput>,
            #[serde(skip_serializing_if = "Option::is_none")]
            time_to_live_specification: Option<Ttl<'a>>,
            point_in_time_recovery_specification: Pitr,
            #[serde(rename = "SSESpecification")]
            sse_specification: Sse<'a>,
            deletion_protection_enabled: bool,
        }

        fn schema<'a>(
            partition: &'a KeyAttribute,
            sort: Option<&'a KeyAttribute>,
        ) -> Vec<KeySchemaElement<'a>> {
            std::iter::once((partition, "HASH"))
                .chain(sort.map(|k| (k, "RANGE")))
                .map(|(k, key_type)| KeySchemaElement {
                    attribute_name: &k.name,
                    key_type,
                })
                .collect()
        }
        let key_schema = schema(&self.partition_key, self.sort_key.as_ref());
        // Every key attribute of the table and its indexes, each defined once.
        let mut attribute_definitions: Vec<AttributeDefinition<'_>> = Vec::new();
        let index_keys = self
            .global_indexes
            .iter()
            .flat_map(|i| std::iter::once(&i.partition_key).chain(i.sort_key.as_ref()));
        for k in std::iter::once(&self.partition_key)
            .chain(self.sort_key.as_ref())
            .chain(index_keys)
        {
            if !attribute_definitions
                .iter()
                .any(|d| d.attribute_name == k.name)
            {
                attribute_definitions.push(AttributeDefinition {
                    attribute_name: &k.name,
                    attribute_type: k.kind,
                });
            }
        }
        let global_secondary_indexes = self
            .global_indexes
            .iter()
            .map(|i| Gsi {
                index_name: &i.name,
                key_schema: schema(&i.partition_key, i.sort_key.as_ref()),
                projection: match &i.projection {
                    Projection::KeysOnly => IndexProjection {
                        projection_type: "KEYS_ONLY",
                        non_key_attributes: None,
                    },
                    Projection::Include(attrs) => IndexProjection {
                        projection_type: "INCLUDE",
                        non_key_attributes: Some(attrs),
                    },
                    Projection::All => IndexProjection {
                        projection_type: "ALL",
                        non_key_attributes: None,
                    },
                },
            })
            .collect();
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
            global_secondary_indexes,
            billing_mode,
            provisioned_throughput,
            time_to_live_specification: self.ttl_attribute.as_deref().map(|a| Ttl {
                attribute_name: a,
                enabled: true,
            }),
            point_in_time_recovery_specification: Pitr {
                point_in_time_recovery_enabled: self.point_in_time_recovery,
            },
            sse_specification: match &self.encryption {
                Encryption::AwsOwned => Sse {
                    sse_enabled: false,
                    sse_type: None,
                    kms_master_key_id: None,
                },
                Encryption::AwsManagedKms => Sse {
                    sse_enabled: true,
                    sse_type: Some("KMS"),
                    kms_master_key_id: None,
                },
                Encryption::CustomerManaged(key) => Sse {
                    sse_enabled: true,
                    sse_type: Some("KMS"),
                    kms_master_key_id: Some(key),
                },
            },
            deletion_protection_enabled: self.deletion_protection,
        }
        .serialize(s)
    }
}
