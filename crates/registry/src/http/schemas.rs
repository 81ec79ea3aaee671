//! `/schemas/...`: schemas by global id, the subjects and versions using one, the types.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::views::{SchemaView, SubjectVersionRef, VersionView};
use super::wire::{answer, answer_raw, flag};
use crate::error::{RegistryError, Result};
use crate::schema::SchemaType;
use crate::store::Registry;
use crate::subjects::VersionSpec;

type Q = Query<HashMap<String, String>>;

fn id(text: &str) -> Result<i32> {
    // Confluent's path parameter is an int: anything else does not name a schema.
    text.parse().map_err(|_| RegistryError::BadRequest(404, "HTTP 404 Not Found".into()))
}

/// `?subject=` (a context-qualified lookup in Confluent) is accepted; ids are global here.
/// `?format=serialized` answers a Protobuf schema as a base64 descriptor, as
/// confluent-kafka's ProtobufDeserializer asks for it.
pub async fn by_id(
    State(registry): State<Arc<Registry>>,
    Path(schema_id): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    let stored = registry.schema_by_id(id(&schema_id)?)?;
    let serialized = match q.get("format").map(String::as_str) {
        Some("serialized") => stored.parsed.as_ref().and_then(|p| p.serialized()),
        _ => None,
    };
    let mut view = SchemaView::from(stored);
    if let Some(serialized) = serialized {
        view.schema = serialized;
    }
    Ok(answer(&view))
}

pub async fn text_by_id(State(registry): State<Arc<Registry>>, Path(schema_id): Path<String>) -> Result<Response> {
    Ok(answer_raw(registry.schema_by_id(id(&schema_id)?)?.text))
}

pub async fn subjects_of(
    State(registry): State<Arc<Registry>>,
    Path(schema_id): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    let uses = registry.uses_of(id(&schema_id)?, flag(&q, "deleted"))?;
    let mut subjects: Vec<String> = uses.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    Ok(answer(&subjects))
}

pub async fn versions_of(
    State(registry): State<Arc<Registry>>,
    Path(schema_id): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    let uses = registry.uses_of(id(&schema_id)?, flag(&q, "deleted"))?;
    let refs: Vec<SubjectVersionRef> =
        uses.into_iter().map(|(subject, version)| SubjectVersionRef { subject, version }).collect();
    Ok(answer(&refs))
}

pub async fn types() -> Response {
    let names: Vec<&str> = SchemaType::ALL.iter().map(|t| t.as_str()).collect();
    answer(&names)
}

/// `GET /schemas`: the latest (or every, with `latestOnly=false`) live version of each subject.
pub async fn list(State(registry): State<Arc<Registry>>, Query(q): Q) -> Result<Response> {
    let deleted = flag(&q, "deleted");
    let latest_only = flag(&q, "latestOnly");
    let prefix = q.get("subjectPrefix").map_or("", String::as_str);
    let mut views = Vec::new();
    for subject in registry.subjects(deleted, prefix) {
        let versions = registry.versions(&subject, deleted)?;
        let chosen: Vec<i32> = if latest_only { versions.last().copied().into_iter().collect() } else { versions };
        for version in chosen {
            views.push(VersionView::from(registry.version(&subject, VersionSpec::Number(version), deleted)?));
        }
    }
    Ok(answer(&views))
}
