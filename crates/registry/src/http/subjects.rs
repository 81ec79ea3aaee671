//! `/subjects/...`: list, versions, register, lookup, soft and permanent delete.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::views::{RegisteredId, SchemaBody, VersionView};
use super::wire::{answer, answer_raw, flag, JsonBody};
use crate::error::Result;
use crate::store::Registry;
use crate::subjects::VersionSpec;

type Q = Query<HashMap<String, String>>;

pub async fn list(State(registry): State<Arc<Registry>>, Query(q): Q) -> Response {
    let prefix = q.get("subjectPrefix").map_or("", String::as_str);
    answer(&registry.subjects(flag(&q, "deleted"), prefix))
}

pub async fn versions(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    Ok(answer(&registry.versions(&subject, flag(&q, "deleted"))?))
}

pub async fn register(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let id = registry.register(&subject, body.into_request()?).await?;
    Ok(answer(&RegisteredId { id }))
}

pub async fn lookup(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let found = registry.lookup(&subject, &body.into_request()?, flag(&q, "deleted"))?;
    Ok(answer(&VersionView::from(found)))
}

pub async fn version(
    State(registry): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Response> {
    let found = registry.version(&subject, VersionSpec::parse(&version)?, flag(&q, "deleted"))?;
    Ok(answer(&VersionView::from(found)))
}

pub async fn version_schema(
    State(registry): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Response> {
    let found = registry.version(&subject, VersionSpec::parse(&version)?, flag(&q, "deleted"))?;
    Ok(answer_raw(found.schema.text))
}

pub async fn referenced_by(
    State(registry): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
) -> Result<Response> {
    Ok(answer(&registry.referenced_by(&subject, VersionSpec::parse(&version)?)?))
}

pub async fn delete_subject(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    Ok(answer(&registry.delete_subject(&subject, flag(&q, "permanent")).await?))
}

pub async fn delete_version(
    State(registry): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Q,
) -> Result<Response> {
    let spec = VersionSpec::parse(&version)?;
    Ok(answer(&registry.delete_version(&subject, spec, flag(&q, "permanent")).await?))
}
