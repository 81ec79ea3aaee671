//! tidelog's schema registry: subjects, versions and global schema ids kept on the
//! compacted topic `_schemas` (as Confluent's registry keeps them), Avro, JSON Schema and
//! Protobuf compatibility checks, and the Confluent Schema Registry REST API (`http`). It
//! reaches the log only through the broker's public append and read calls, never its files.

mod avro;
mod avro_compat;
mod compat;
#[cfg(test)]
mod compat_tests;
mod deletes;
mod error;
pub mod http;
mod json_compat;
mod json_schema;
mod mode;
mod protobuf;
mod protobuf_compat;
mod records;
mod schema;
mod settings;
mod state;
mod store;
#[cfg(test)]
mod store_tests;
mod subjects;
mod validation;

pub use compat::CompatibilityLevel;
pub use error::{RegistryError, Result};
pub use mode::Mode;
pub use schema::{ParsedSchema, Reference, SchemaType};
pub use store::{Registry, SCHEMAS_TOPIC};
pub use subjects::{SchemaRequest, SubjectVersion, VersionSpec};
