//! Schema types, references and parsing: a schema text becomes a [`ParsedSchema`] with the
//! canonical text the store compares, or an invalid-schema error naming what is wrong.

use serde::{Deserialize, Serialize};

use crate::avro::{self, AvroSchema};
use crate::error::{RegistryError, Result};
use crate::json_schema::{self, JsonSchema};
use crate::protobuf::{self, ProtobufSchema};

/// The schema types the registry parses and checks (`/schemas/types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SchemaType {
    #[default]
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    pub const ALL: [SchemaType; 3] = [SchemaType::Json, SchemaType::Protobuf, SchemaType::Avro];

    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }

    /// `schemaType` as a request spells it: Confluent accepts any case.
    pub fn parse(name: &str) -> Result<SchemaType> {
        match name.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            _ => Err(RegistryError::InvalidSchema(format!(
                "unknown schema type '{name}': this registry serves AVRO, JSON and PROTOBUF"
            ))),
        }
    }
}

/// A named dependency: the schema registered as `subject` `version`, known in the
/// referring schema as `name` (an Avro full name, a JSON Schema `$ref` URL, a Protobuf import).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A schema that parsed, with what compatibility checks need.
#[derive(Debug, Clone)]
pub enum ParsedSchema {
    Avro(AvroSchema),
    Json(JsonSchema),
    Protobuf(ProtobufSchema),
}

impl ParsedSchema {
    /// Parses `text` as `schema_type`; `references` are the texts of its references'
    /// schemas (resolved by the store), dependencies first.
    pub fn parse(schema_type: SchemaType, text: &str, references: &[(Reference, String)]) -> Result<ParsedSchema> {
        match schema_type {
            SchemaType::Avro => {
                let texts: Vec<String> = references.iter().map(|(_, t)| t.clone()).collect();
                avro::parse(text, &texts).map(ParsedSchema::Avro).map_err(RegistryError::InvalidSchema)
            }
            SchemaType::Json => {
                json_schema::parse(text, references).map(ParsedSchema::Json).map_err(RegistryError::InvalidSchema)
            }
            SchemaType::Protobuf => {
                protobuf::parse(text, references).map(ParsedSchema::Protobuf).map_err(RegistryError::InvalidSchema)
            }
        }
    }

    pub fn schema_type(&self) -> SchemaType {
        match self {
            ParsedSchema::Avro(_) => SchemaType::Avro,
            ParsedSchema::Json(_) => SchemaType::Json,
            ParsedSchema::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// The text stored and answered: equal texts are the same schema (and id).
    pub fn canonical(&self) -> &str {
        match self {
            ParsedSchema::Avro(a) => &a.canonical,
            ParsedSchema::Json(j) => &j.canonical,
            ParsedSchema::Protobuf(p) => &p.text,
        }
    }

    /// What makes two schemas the same one (and one id): the canonical text, except for
    /// Protobuf, whose compiled descriptor is compared so layout and comments do not count.
    pub fn fingerprint(&self) -> &str {
        match self {
            ParsedSchema::Protobuf(p) => &p.fingerprint,
            other => other.canonical(),
        }
    }

    /// The schema as a base64 descriptor, for Protobuf's `?format=serialized`.
    pub fn serialized(&self) -> Option<String> {
        match self {
            ParsedSchema::Protobuf(p) => p.serialized(),
            _ => None,
        }
    }

    /// Why `self` (the reader) cannot read data written with `writer`; empty if it can.
    pub fn reads(&self, writer: &ParsedSchema, reader_is_new: bool) -> Vec<String> {
        match (self, writer) {
            (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) => {
                crate::avro_compat::can_read(w, r, reader_is_new).iter().map(ToString::to_string).collect()
            }
            (ParsedSchema::Json(r), ParsedSchema::Json(w)) => {
                crate::json_compat::can_read(w, r, reader_is_new).iter().map(ToString::to_string).collect()
            }
            (ParsedSchema::Protobuf(r), ParsedSchema::Protobuf(w)) => {
                crate::protobuf_compat::can_read(w, r, reader_is_new).iter().map(ToString::to_string).collect()
            }
            _ => vec![format!(
                "{{errorType:'SCHEMA_TYPE_MISMATCH', description:'Incompatible because of different schema type: {} and {}'}}",
                self.schema_type().as_str(),
                writer.schema_type().as_str()
            )],
        }
    }
}
