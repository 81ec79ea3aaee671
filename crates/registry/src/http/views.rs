//! The JSON shapes of requests and answers, named and laid out as Confluent's REST API
//! has them (`schemaType` left out for Avro, `references` when empty).

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::schema::{Reference, SchemaType};
use crate::state::StoredSchema;
use crate::subjects::{SchemaRequest, SubjectVersion};

/// The body of register, lookup and compatibility requests. Other members clients send
/// (`metadata`, `ruleSet`, `normalize`) are accepted and not used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaBody {
    pub schema: Option<String>,
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<Reference>>,
    pub id: Option<i32>,
    pub version: Option<i32>,
}

impl SchemaBody {
    pub fn into_request(self) -> Result<SchemaRequest> {
        let schema = self
            .schema
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| RegistryError::InvalidSchema("Empty schema".into()))?;
        let schema_type = self.schema_type.as_deref().map_or(Ok(SchemaType::Avro), SchemaType::parse)?;
        Ok(SchemaRequest {
            schema,
            schema_type,
            references: self.references.unwrap_or_default(),
            id: self.id.filter(|id| *id > 0),
            version: self.version.filter(|v| *v > 0),
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    pub schema: String,
    /// Only shown for soft-deleted versions read with `?deleted=true`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

fn type_name(schema_type: SchemaType) -> Option<&'static str> {
    (schema_type != SchemaType::Avro).then(|| schema_type.as_str())
}

impl From<SubjectVersion> for VersionView {
    fn from(v: SubjectVersion) -> Self {
        VersionView {
            subject: v.subject,
            version: v.version,
            id: v.id,
            schema_type: type_name(v.schema.schema_type),
            references: v.schema.references,
            schema: v.schema.text,
            deleted: v.deleted,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaView {
    pub schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
}

impl From<StoredSchema> for SchemaView {
    fn from(s: StoredSchema) -> Self {
        SchemaView { schema: s.text, schema_type: type_name(s.schema_type), references: s.references }
    }
}

#[derive(Serialize)]
pub struct SubjectVersionRef {
    pub subject: String,
    pub version: i32,
}

#[derive(Serialize)]
pub struct RegisteredId {
    pub id: i32,
}

#[derive(Deserialize)]
pub struct ConfigBody {
    pub compatibility: Option<String>,
    #[serde(rename = "compatibilityLevel")]
    pub compatibility_level: Option<String>,
}

#[derive(Serialize)]
pub struct ConfigSet {
    pub compatibility: &'static str,
}

#[derive(Serialize)]
pub struct ConfigView {
    #[serde(rename = "compatibilityLevel")]
    pub compatibility_level: &'static str,
}

#[derive(Serialize, Deserialize)]
pub struct ModeBody {
    pub mode: String,
}

#[derive(Serialize)]
pub struct CompatibilityView {
    pub is_compatible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
}
