//! What a quota applies to: an entity of one or two components (`user`, `client-id`,
//! `ip`), each named or the default (no name), and the filters DescribeClientQuotas uses.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";
pub const IP: &str = "ip";

/// A quota entity: entity type → name, `None` naming the type's default entity
/// (`--entity-default`). Kept as given in events; validated before it is committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuotaEntity(pub BTreeMap<String, Option<String>>);

impl QuotaEntity {
    pub fn new<'a>(components: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        QuotaEntity(components.into_iter().map(|(t, n)| (t.to_string(), n.map(str::to_string))).collect())
    }

    /// The component of `entity_type`: `None` if absent, `Some(None)` for the default.
    pub fn component(&self, entity_type: &str) -> Option<Option<&str>> {
        self.0.get(entity_type).map(Option::as_deref)
    }
}

impl fmt::Display for QuotaEntity {
    /// As Kafka's `ClientQuotaEntity.toString`, which its error messages embed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> =
            self.0.iter().map(|(t, n)| format!("{t}={}", n.as_deref().unwrap_or("null"))).collect();
        write!(f, "ClientQuotaEntity(entries={{{}}})", entries.join(", "))
    }
}

/// A quota value. Kafka's are doubles; validation admits only finite positive ones, so
/// comparing bits is equality (and events stay `Eq`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuotaValue(pub f64);

impl PartialEq for QuotaValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for QuotaValue {}

/// One component of a DescribeClientQuotas filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityFilter {
    /// The named entity of this type (match type 0).
    Exact(String),
    /// The default entity of this type (match type 1).
    Default,
    /// Any entity of this type, named or default (match type 2).
    Any,
}
