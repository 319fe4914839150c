//! `AWS::DynamoDB::Table`.

use crate::Expr;
use crate::l1::aws::dynamodb::table as l1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    S,
    N,
    B,
}

impl AttributeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
        }
    }
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

impl super::Lower for Table {
    type L1 = l1::Table;
    fn lower(&self) -> l1::Table {
        let (billing_mode, throughput) = match self.billing {
            Billing::PayPerRequest => ("PAY_PER_REQUEST", None),
            Billing::Provisioned { read, write } => (
                "PROVISIONED",
                Some(l1::ProvisionedThroughput::new(read, write)),
            ),
        };
        let mut t = l1::Table::new(key_schema(&self.partition_key, self.sort_key.as_ref()))
            .attribute_definitions(self.attribute_definitions())
            .billing_mode(billing_mode)
            .point_in_time_recovery_specification(
                l1::PointInTimeRecoverySpecification::new()
                    .point_in_time_recovery_enabled(self.point_in_time_recovery),
            )
            .sse_specification(sse(&self.encryption))
            .deletion_protection_enabled(self.deletion_protection);
        if !self.global_indexes.is_empty() {
            t = t.global_secondary_indexes(self.global_indexes.iter().map(gsi));
        }
        if let Some(p) = throughput {
            t = t.provisioned_throughput(p);
        }
        if let Some(a) = &self.ttl_attribute {
            t = t.time_to_live_specification(
                l1::TimeToLiveSpecification::new(true).attribute_name(a.clone()),
            );
        }
        t
    }
}

impl Table {
    /// Every key attribute of the table and its indexes, each defined once.
    fn attribute_definitions(&self) -> Vec<l1::AttributeDefinition> {
        let mut seen: Vec<&str> = Vec::new();
        let index_keys = self
            .global_indexes
            .iter()
            .flat_map(|i| std::iter::once(&i.partition_key).chain(i.sort_key.as_ref()));
        std::iter::once(&self.partition_key)
            .chain(self.sort_key.as_ref())
            .chain(index_keys)
            .filter(|k| {
                let new = !seen.contains(&k.name.as_str());
                seen.push(&k.name);
                new
            })
            .map(|k| l1::AttributeDefinition::new(k.name.clone(), k.kind.as_str()))
            .collect()
    }
}

fn key_schema(partition: &KeyAttribute, sort: Option<&KeyAttribute>) -> Vec<l1::KeySchemaItem> {
    std::iter::once((partition, "HASH"))
        .chain(sort.map(|k| (k, "RANGE")))
        .map(|(k, key_type)| l1::KeySchemaItem::new(k.name.clone(), key_type))
        .collect()
}

fn gsi(i: &GlobalIndex) -> l1::GlobalSecondaryIndex {
    let projection = match &i.projection {
        Projection::KeysOnly => l1::Projection::new().projection_type("KEYS_ONLY"),
        Projection::Include(attrs) => l1::Projection::new()
            .projection_type("INCLUDE")
            .non_key_attributes(attrs.iter().cloned()),
        Projection::All => l1::Projection::new().projection_type("ALL"),
    };
    l1::GlobalSecondaryIndex::new(
        i.name.clone(),
        key_schema(&i.partition_key, i.sort_key.as_ref()),
        projection,
    )
}

fn sse(e: &Encryption) -> l1::SSESpecification {
    match e {
        Encryption::AwsOwned => l1::SSESpecification::new(false),
        Encryption::AwsManagedKms => l1::SSESpecification::new(true).sse_type("KMS"),
        Encryption::CustomerManaged(key) => l1::SSESpecification::new(true)
            .sse_type("KMS")
            .kms_master_key_id(key.clone()),
    }
}
