//! The registry's errors, each carrying the HTTP status and the `error_code` Confluent's
//! Schema Registry answers with (`io.confluent.kafka.schemaregistry.rest.exceptions.Errors`),
//! and its message text, so clients that match on either keep working.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    #[error("Schema {0} not found")]
    SchemaIdNotFound(i32),
    #[error("Schema not found")]
    SchemaNotFound,
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, i32),
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, i32),
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectCompatibilityNotConfigured(String),
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotConfigured(String),
    /// The text Confluent gives, then the reasons (one per failed check).
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", reasons.join(", "))]
    Incompatible { subject: String, reasons: Vec<String> },
    #[error("Invalid schema {0}")]
    InvalidSchema(String),
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
    )]
    InvalidVersion(String),
    #[error(
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"
    )]
    InvalidCompatibilityLevel,
    #[error("Invalid mode. Valid values are READWRITE, READONLY, and IMPORT.")]
    InvalidMode,
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={0},version={1}}}.")]
    ReferenceExists(String, i32),
    #[error("Schema already registered with id {existing} instead of input id {requested}")]
    IdDoesNotMatch { existing: i32, requested: i32 },
    #[error("Invalid subject {0}")]
    InvalidSubject(String),
    /// A request Confluent's REST layer refuses before the registry sees it (bad JSON,
    /// wrong content type, too large a body): the HTTP status doubles as the error code.
    #[error("{1}")]
    BadRequest(u16, String),
    #[error("Error in the backend data store: {0}")]
    Store(String),
}

impl RegistryError {
    /// The HTTP status of the answer.
    pub fn http_status(&self) -> u16 {
        use RegistryError::*;
        match self {
            SubjectNotFound(_)
            | VersionNotFound(_)
            | SchemaIdNotFound(_)
            | SchemaNotFound
            | SubjectSoftDeleted(_)
            | SubjectNotSoftDeleted(_)
            | VersionSoftDeleted(..)
            | VersionNotSoftDeleted(..)
            | SubjectCompatibilityNotConfigured(_)
            | SubjectModeNotConfigured(_) => 404,
            Incompatible { .. } => 409,
            InvalidSchema(_)
            | InvalidVersion(_)
            | InvalidCompatibilityLevel
            | InvalidMode
            | OperationNotPermitted(_)
            | ReferenceExists(..)
            | IdDoesNotMatch { .. }
            | InvalidSubject(_) => 422,
            BadRequest(status, _) => *status,
            Store(_) => 500,
        }
    }

    /// The `error_code` field of the answer.
    pub fn error_code(&self) -> u32 {
        use RegistryError::*;
        match self {
            SubjectNotFound(_) => 40401,
            VersionNotFound(_) => 40402,
            SchemaIdNotFound(_) | SchemaNotFound => 40403,
            SubjectSoftDeleted(_) => 40404,
            SubjectNotSoftDeleted(_) => 40405,
            VersionSoftDeleted(..) => 40406,
            VersionNotSoftDeleted(..) => 40407,
            SubjectCompatibilityNotConfigured(_) => 40408,
            SubjectModeNotConfigured(_) => 40409,
            // Confluent answered 409 for years and Karapace and most clients match on it;
            // the newest Confluent releases say 40901 (see the README).
            Incompatible { .. } => 409,
            InvalidSchema(_) => 42201,
            InvalidVersion(_) => 42202,
            InvalidCompatibilityLevel => 42203,
            InvalidMode => 42204,
            OperationNotPermitted(_) => 42205,
            ReferenceExists(..) => 42206,
            IdDoesNotMatch { .. } => 42207,
            InvalidSubject(_) => 42208,
            BadRequest(status, _) => u32::from(*status),
            Store(_) => 50001,
        }
    }
}

impl From<tidelog_broker::BrokerError> for RegistryError {
    fn from(e: tidelog_broker::BrokerError) -> Self {
        RegistryError::Store(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, RegistryError>;
