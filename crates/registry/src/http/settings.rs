//! `/config`, `/mode` (global and per subject) and `/compatibility/...` checks.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::views::{CompatibilityView, ConfigBody, ConfigSet, ConfigView, ModeBody, SchemaBody};
use super::wire::{answer, flag, JsonBody};
use crate::compat::CompatibilityLevel;
use crate::error::{RegistryError, Result};
use crate::mode::Mode;
use crate::store::Registry;
use crate::subjects::{check_subject, VersionSpec};

type Q = Query<HashMap<String, String>>;

fn level_of(body: ConfigBody) -> Result<CompatibilityLevel> {
    let text = body.compatibility.or(body.compatibility_level).ok_or(RegistryError::InvalidCompatibilityLevel)?;
    CompatibilityLevel::parse(&text)
}

pub async fn get_global_config(State(registry): State<Arc<Registry>>) -> Result<Response> {
    Ok(answer(&ConfigView { compatibility_level: registry.level(None, true)?.as_str() }))
}

pub async fn get_config(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    let level = registry.level(Some(&subject), flag(&q, "defaultToGlobal"))?;
    Ok(answer(&ConfigView { compatibility_level: level.as_str() }))
}

pub async fn put_global_config(
    State(registry): State<Arc<Registry>>,
    JsonBody(body): JsonBody<ConfigBody>,
) -> Result<Response> {
    let level = level_of(body)?;
    registry.set_level(None, level).await?;
    Ok(answer(&ConfigSet { compatibility: level.as_str() }))
}

pub async fn put_config(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    JsonBody(body): JsonBody<ConfigBody>,
) -> Result<Response> {
    check_subject(&subject)?;
    let level = level_of(body)?;
    registry.set_level(Some(&subject), level).await?;
    Ok(answer(&ConfigSet { compatibility: level.as_str() }))
}

pub async fn delete_global_config(State(registry): State<Arc<Registry>>) -> Result<Response> {
    let previous = registry.delete_level(None).await?;
    Ok(answer(&ConfigView { compatibility_level: previous.as_str() }))
}

pub async fn delete_config(State(registry): State<Arc<Registry>>, Path(subject): Path<String>) -> Result<Response> {
    let previous = registry.delete_level(Some(&subject)).await?;
    Ok(answer(&ConfigView { compatibility_level: previous.as_str() }))
}

pub async fn get_global_mode(State(registry): State<Arc<Registry>>) -> Result<Response> {
    Ok(answer(&ModeBody { mode: registry.mode(None, true)?.as_str().into() }))
}

pub async fn get_mode(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
) -> Result<Response> {
    let mode = registry.mode(Some(&subject), flag(&q, "defaultToGlobal"))?;
    Ok(answer(&ModeBody { mode: mode.as_str().into() }))
}

pub async fn put_global_mode(
    State(registry): State<Arc<Registry>>,
    Query(q): Q,
    JsonBody(body): JsonBody<ModeBody>,
) -> Result<Response> {
    let mode = Mode::parse(&body.mode)?;
    registry.set_mode(None, mode, flag(&q, "force")).await?;
    Ok(answer(&ModeBody { mode: mode.as_str().into() }))
}

pub async fn put_mode(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
    JsonBody(body): JsonBody<ModeBody>,
) -> Result<Response> {
    check_subject(&subject)?;
    let mode = Mode::parse(&body.mode)?;
    registry.set_mode(Some(&subject), mode, flag(&q, "force")).await?;
    Ok(answer(&ModeBody { mode: mode.as_str().into() }))
}

pub async fn delete_mode(State(registry): State<Arc<Registry>>, Path(subject): Path<String>) -> Result<Response> {
    let previous = registry.delete_mode(Some(&subject)).await?;
    Ok(answer(&ModeBody { mode: previous.as_str().into() }))
}

fn compatibility_answer(reasons: Vec<String>, verbose: bool) -> Response {
    answer(&CompatibilityView { is_compatible: reasons.is_empty(), messages: verbose.then_some(reasons) })
}

pub async fn check_version(
    State(registry): State<Arc<Registry>>,
    Path((subject, version)): Path<(String, String)>,
    Query(q): Q,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let spec = VersionSpec::parse(&version)?;
    let reasons = registry.check_compatibility(&subject, Some(spec), &body.into_request()?)?;
    Ok(compatibility_answer(reasons, flag(&q, "verbose")))
}

pub async fn check_all(
    State(registry): State<Arc<Registry>>,
    Path(subject): Path<String>,
    Query(q): Q,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Response> {
    let reasons = registry.check_compatibility(&subject, None, &body.into_request()?)?;
    Ok(compatibility_answer(reasons, flag(&q, "verbose")))
}
