//! Subjects and their versions: registering (with the compatibility check and id reuse),
//! looking a schema up, and reading versions and schemas by id.

use std::sync::Arc;

use crate::compat::{self, CompatibilityLevel, Earlier};
use crate::error::{RegistryError, Result};
use crate::mode::Mode;
use crate::records::{RecordKey, SchemaValue};
use crate::schema::{ParsedSchema, Reference, SchemaType};
use crate::state::{State, StoredSchema};
use crate::store::Registry;

/// A schema as a request gives it (register, lookup, compatibility check).
#[derive(Debug, Clone, Default)]
pub struct SchemaRequest {
    pub schema: String,
    pub schema_type: SchemaType,
    pub references: Vec<Reference>,
    /// IMPORT mode only: the id and version to register under.
    pub id: Option<i32>,
    pub version: Option<i32>,
}

/// One version of a subject with its schema.
#[derive(Debug, Clone)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    pub schema: StoredSchema,
    pub deleted: bool,
}

/// A version as a path names it: a number, or `latest` (also `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(i32),
}

impl VersionSpec {
    pub fn parse(text: &str) -> Result<VersionSpec> {
        if text.eq_ignore_ascii_case("latest") {
            return Ok(VersionSpec::Latest);
        }
        match text.parse::<i32>() {
            Ok(-1) => Ok(VersionSpec::Latest),
            Ok(v) if v >= 1 => Ok(VersionSpec::Number(v)),
            _ => Err(RegistryError::InvalidVersion(text.to_string())),
        }
    }
}

/// Subject names Confluent refuses: empty, or with control characters.
pub fn check_subject(subject: &str) -> Result<()> {
    if subject.trim().is_empty() || subject.chars().any(char::is_control) {
        return Err(RegistryError::InvalidSubject(subject.to_string()));
    }
    Ok(())
}

impl State {
    /// Parses a request's schema against the references it names.
    pub(crate) fn parse_request(&self, request: &SchemaRequest) -> Result<ParsedSchema> {
        let resolved = self.resolve_references(&request.references).map_err(RegistryError::InvalidSchema)?;
        ParsedSchema::parse(request.schema_type, &request.schema, &resolved)
    }

    /// `subject` `spec`, soft-deleted ones included if `deleted`.
    pub(crate) fn version(&self, subject: &str, spec: VersionSpec, deleted: bool) -> Result<SubjectVersion> {
        let versions = self.versions(subject, deleted);
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        let found = match spec {
            VersionSpec::Latest => versions.last().copied(),
            VersionSpec::Number(n) => versions.iter().find(|(v, _)| *v == n).copied(),
        };
        let Some((version, entry)) = found else {
            return Err(match spec {
                VersionSpec::Number(n) => RegistryError::VersionNotFound(n),
                VersionSpec::Latest => RegistryError::SubjectNotFound(subject.to_string()),
            });
        };
        let schema = self.schemas.get(&entry.id).cloned().ok_or(RegistryError::SchemaIdNotFound(entry.id))?;
        Ok(SubjectVersion { subject: subject.to_string(), version, id: entry.id, schema, deleted: entry.deleted })
    }

    /// Live versions of `subject` with their parsed schemas, oldest first.
    fn earlier(&self, subject: &str) -> Vec<(i32, Arc<ParsedSchema>)> {
        self.versions(subject, false)
            .into_iter()
            .filter_map(|(v, e)| self.schemas.get(&e.id).and_then(|s| s.parsed.clone()).map(|p| (v, p)))
            .collect()
    }

    /// The live version of `subject` whose schema is `parsed` (same text and references).
    fn find(
        &self,
        subject: &str,
        parsed: &ParsedSchema,
        references: &[Reference],
        deleted: bool,
    ) -> Option<SubjectVersion> {
        let identity = (parsed.schema_type(), parsed.fingerprint().to_string(), references.to_vec());
        let id = *self.ids_by_identity.get(&identity)?;
        let (version, _) = self.versions(subject, deleted).into_iter().find(|(_, e)| e.id == id)?;
        self.version(subject, VersionSpec::Number(version), deleted).ok()
    }
}

impl Registry {
    /// Registers `request` under `subject`; returns its global id. An identical live
    /// version answers with its id and writes nothing.
    pub async fn register(&self, subject: &str, request: SchemaRequest) -> Result<i32> {
        check_subject(subject)?;
        let _writer = self.writer.lock().await;
        let (value, id) = {
            let state = self.state.read();
            let mode = state.mode(Some(subject));
            match mode {
                Mode::ReadOnly => {
                    return Err(RegistryError::OperationNotPermitted(format!("Subject {subject} is in read-only mode")))
                }
                Mode::ReadWrite if request.id.is_some() => {
                    return Err(RegistryError::OperationNotPermitted(format!(
                        "Subject {subject} is not in import mode: an id cannot be given"
                    )))
                }
                _ => {}
            }
            let parsed = state.parse_request(&request)?;
            if let Some(existing) = state.find(subject, &parsed, &request.references, false) {
                if request.id.is_none_or(|id| id == existing.id) {
                    return Ok(existing.id);
                }
            }
            let identity = (parsed.schema_type(), parsed.fingerprint().to_string(), request.references.clone());
            let known_id = state.ids_by_identity.get(&identity).copied();
            let id = match (mode, request.id) {
                (Mode::Import, Some(id)) => {
                    if let Some(known) = known_id.filter(|k| *k != id) {
                        return Err(RegistryError::IdDoesNotMatch { existing: known, requested: id });
                    }
                    if state.schemas.get(&id).is_some_and(|s| s.text != parsed.canonical()) {
                        return Err(RegistryError::OperationNotPermitted(format!(
                            "Overwrite new schema with id {id} is not permitted."
                        )));
                    }
                    id
                }
                _ => {
                    let level = state.level(Some(subject));
                    if mode != Mode::Import {
                        check_against(&state, subject, level, &parsed)?;
                    }
                    known_id.unwrap_or(state.max_id + 1)
                }
            };
            let last_version = state.subjects.get(subject).and_then(|vs| vs.keys().next_back().copied()).unwrap_or(0);
            let version = match request.version {
                Some(v) if mode == Mode::Import => {
                    if state.subjects.get(subject).is_some_and(|vs| vs.contains_key(&v)) {
                        return Err(RegistryError::OperationNotPermitted(format!(
                            "Version {v} already exists in subject {subject}"
                        )));
                    }
                    v
                }
                _ => last_version + 1,
            };
            let value = SchemaValue {
                subject: subject.to_string(),
                version,
                id,
                schema_type: (parsed.schema_type() != SchemaType::Avro)
                    .then(|| parsed.schema_type().as_str().to_string()),
                references: request.references.clone(),
                schema: parsed.canonical().to_string(),
                deleted: false,
            };
            (value, id)
        };
        let key = RecordKey::schema(subject, value.version);
        let value = serde_json::to_value(&value).map_err(|e| RegistryError::Store(e.to_string()))?;
        self.write(vec![(key, Some(value))]).await?;
        Ok(id)
    }

    /// The version of `subject` holding `request`'s schema (`POST /subjects/{subject}`).
    pub fn lookup(&self, subject: &str, request: &SchemaRequest, deleted: bool) -> Result<SubjectVersion> {
        let state = self.state.read();
        if state.versions(subject, deleted).is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        let parsed = state.parse_request(request)?;
        state.find(subject, &parsed, &request.references, deleted).ok_or(RegistryError::SchemaNotFound)
    }

    /// Why `request` breaks `subject`'s level against `spec` (one version) or, with no
    /// spec, against what registering it would check. Empty when compatible.
    pub fn check_compatibility(
        &self,
        subject: &str,
        spec: Option<VersionSpec>,
        request: &SchemaRequest,
    ) -> Result<Vec<String>> {
        let state = self.state.read();
        let parsed = state.parse_request(request)?;
        let level = state.level(Some(subject));
        let earlier = state.earlier(subject);
        let against: Vec<(i32, Arc<ParsedSchema>)> = match spec {
            None => earlier,
            Some(VersionSpec::Latest) if earlier.is_empty() => return Ok(Vec::new()),
            Some(spec) => {
                let version = state.version(subject, spec, false)?;
                earlier.into_iter().filter(|(v, _)| *v == version.version).collect()
            }
        };
        let earlier: Vec<Earlier<'_>> = against.iter().map(|(v, p)| Earlier { version: *v, schema: p }).collect();
        Ok(compat::check(level, &parsed, &earlier))
    }

    pub fn subjects(&self, deleted: bool, prefix: &str) -> Vec<String> {
        let state = self.state.read();
        state
            .subjects
            .iter()
            .filter(|(name, versions)| name.starts_with(prefix) && versions.values().any(|e| deleted || !e.deleted))
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        let versions = self.state.read().versions(subject, deleted);
        if versions.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        Ok(versions.into_iter().map(|(v, _)| v).collect())
    }

    pub fn version(&self, subject: &str, spec: VersionSpec, deleted: bool) -> Result<SubjectVersion> {
        self.state.read().version(subject, spec, deleted)
    }

    /// Ids of the live schemas that reference `subject` `spec`.
    pub fn referenced_by(&self, subject: &str, spec: VersionSpec) -> Result<Vec<i32>> {
        let state = self.state.read();
        let version = state.version(subject, spec, false)?;
        Ok(state.referrers(subject, version.version))
    }

    pub fn schema_by_id(&self, id: i32) -> Result<StoredSchema> {
        self.state.read().schemas.get(&id).cloned().ok_or(RegistryError::SchemaIdNotFound(id))
    }

    /// (subject, version) pairs using schema `id`.
    pub fn uses_of(&self, id: i32, deleted: bool) -> Result<Vec<(String, i32)>> {
        let state = self.state.read();
        if !state.schemas.contains_key(&id) {
            return Err(RegistryError::SchemaIdNotFound(id));
        }
        let mut uses = Vec::new();
        for (subject, versions) in &state.subjects {
            for (version, entry) in versions {
                if entry.id == id && (deleted || !entry.deleted) {
                    uses.push((subject.clone(), *version));
                }
            }
        }
        Ok(uses)
    }

    /// Whether schema `id` is a live version of `subject` (broker-side validation).
    pub fn is_live_in(&self, id: i32, subject: &str) -> bool {
        self.state.read().versions(subject, false).iter().any(|(_, e)| e.id == id)
    }
}

fn check_against(state: &State, subject: &str, level: CompatibilityLevel, parsed: &ParsedSchema) -> Result<()> {
    let earlier = state.earlier(subject);
    let earlier: Vec<Earlier<'_>> = earlier.iter().map(|(v, p)| Earlier { version: *v, schema: p }).collect();
    let reasons = compat::check(level, parsed, &earlier);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Incompatible { subject: subject.to_string(), reasons })
    }
}
