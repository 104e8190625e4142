//! The table definition, as data (so a test can compare it with `template.yaml`), and
//! `create_table` for tests and the dev server.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::errors::unavailable;
use super::keys::{EXPIRES_AT, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK};
use crate::error::{StoreError, StoreResult};

/// A global secondary index: partition and sort key attributes, projection ALL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// Always `"ALL"`: listing rows need the whole contact.
    pub projection: &'static str,
}

/// The table's shape, as `template.yaml` must declare it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableDefinition {
    /// Every key attribute (table and indexes) and its type; all strings (`"S"`).
    pub attributes: &'static [(&'static str, &'static str)],
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    pub indexes: &'static [IndexDefinition],
    /// `"PAY_PER_REQUEST"`.
    pub billing_mode: &'static str,
    /// The TTL attribute (epoch seconds).
    pub ttl_attribute: &'static str,
}

/// The single table.
pub const TABLE: TableDefinition = TableDefinition {
    attributes: &[
        (PK, "S"),
        (SK, "S"),
        (GSI1PK, "S"),
        (GSI1SK, "S"),
        (GSI2PK, "S"),
        (GSI2SK, "S"),
    ],
    partition_key: PK,
    sort_key: SK,
    indexes: &[
        IndexDefinition {
            name: GSI1,
            partition_key: GSI1PK,
            sort_key: GSI1SK,
            projection: "ALL",
        },
        IndexDefinition {
            name: GSI2,
            partition_key: GSI2PK,
            sort_key: GSI2SK,
            projection: "ALL",
        },
    ],
    billing_mode: "PAY_PER_REQUEST",
    ttl_attribute: EXPIRES_AT,
};

/// How long `create_table` waits for the table to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);

fn build_error(e: aws_smithy_types::error::operation::BuildError) -> StoreError {
    StoreError::Unavailable(format!("table definition could not be built: {e}"))
}

fn key_schema(partition: &str, sort: &str) -> StoreResult<Vec<KeySchemaElement>> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(partition)
            .key_type(KeyType::Hash)
            .build()
            .map_err(build_error)?,
        KeySchemaElement::builder()
            .attribute_name(sort)
            .key_type(KeyType::Range)
            .build()
            .map_err(build_error)?,
    ])
}

/// Creates the table as [`TABLE`] defines it, waits until it is ACTIVE, and enables TTL on
/// `expires_at`. For tests and the dev server; production tables come from
/// `template.yaml`.
pub async fn create_table(client: &Client, name: &str) -> StoreResult<()> {
    let def = TABLE;
    let mut attributes = Vec::new();
    for (attr, kind) in def.attributes {
        attributes.push(
            AttributeDefinition::builder()
                .attribute_name(*attr)
                .attribute_type(ScalarAttributeType::from(*kind))
                .build()
                .map_err(build_error)?,
        );
    }
    let mut indexes = Vec::new();
    for index in def.indexes {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection))
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        );
    }
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(def.partition_key, def.sort_key)?))
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::from(def.billing_mode))
        .send()
        .await
        .map_err(|e| unavailable("CreateTable", &e))?;

    let started = tokio::time::Instant::now();
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| unavailable("DescribeTable", &e))?;
        let status = out.table().and_then(|t| t.table_status());
        if status == Some(&TableStatus::Active) {
            break;
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable(format!(
                "table {name} did not become ACTIVE within {}s",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(def.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|e| unavailable("UpdateTimeToLive", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_attribute_is_a_declared_string() {
        let declared: Vec<&str> = TABLE.attributes.iter().map(|(a, _)| *a).collect();
        assert!(TABLE.attributes.iter().all(|(_, t)| *t == "S"));
        let mut used = vec![TABLE.partition_key, TABLE.sort_key];
        for i in TABLE.indexes {
            used.extend([i.partition_key, i.sort_key]);
            assert_eq!(i.projection, "ALL");
        }
        used.sort_unstable();
        let mut declared_sorted = declared.clone();
        declared_sorted.sort_unstable();
        assert_eq!(used, declared_sorted, "declared exactly the key attributes");
        assert_eq!(TABLE.ttl_attribute, "expires_at");
        assert_eq!(TABLE.billing_mode, "PAY_PER_REQUEST");
    }
}
