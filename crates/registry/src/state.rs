//! The registry's state in memory: what replaying `_schemas` gives, and what every
//! durable write then updates through the same `apply`. Owns no I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tracing::warn;

use crate::compat::CompatibilityLevel;
use crate::mode::Mode;
use crate::records::{ConfigValue, ModeValue, RecordKey, SchemaValue};
use crate::schema::{ParsedSchema, Reference, SchemaType};

/// A schema under its global id; the same schema in several subjects shares it.
#[derive(Debug, Clone)]
pub struct StoredSchema {
    pub id: i32,
    pub schema_type: SchemaType,
    /// The canonical text.
    pub text: String,
    pub references: Vec<Reference>,
    /// `None` if a replayed schema no longer parses (its reference was removed).
    pub parsed: Option<Arc<ParsedSchema>>,
}

/// One version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionEntry {
    pub id: i32,
    pub deleted: bool,
}

/// What identifies a schema for id reuse: type, fingerprint (the canonical text, or
/// Protobuf's descriptor) and references.
pub type SchemaIdentity = (SchemaType, String, Vec<Reference>);

#[derive(Debug, Default)]
pub struct State {
    pub subjects: BTreeMap<String, BTreeMap<i32, VersionEntry>>,
    pub schemas: BTreeMap<i32, StoredSchema>,
    pub ids_by_identity: HashMap<SchemaIdentity, i32>,
    pub global_level: Option<CompatibilityLevel>,
    pub subject_levels: HashMap<String, CompatibilityLevel>,
    pub global_mode: Option<Mode>,
    pub subject_modes: HashMap<String, Mode>,
    /// The highest id ever applied: new ids are above it.
    pub max_id: i32,
}

impl State {
    /// Applies one record of `_schemas` (a live write or a replayed one). Records this
    /// registry cannot read are skipped with a warning, never fatal: the topic is shared
    /// with whatever else wrote to it.
    pub fn apply(&mut self, key: &[u8], value: Option<&[u8]>) {
        let key: RecordKey = match serde_json::from_slice(key) {
            Ok(key) => key,
            Err(e) => return warn!(error = %e, "skipping a _schemas record whose key does not parse"),
        };
        match key {
            RecordKey::Schema { subject, version, .. } => match value {
                None => self.remove_version(&subject, version),
                Some(value) => match serde_json::from_slice::<SchemaValue>(value) {
                    Ok(value) => self.put_version(value),
                    Err(e) => warn!(error = %e, subject, version, "skipping a schema record that does not parse"),
                },
            },
            RecordKey::Config { subject, .. } => {
                let level = value
                    .and_then(|v| serde_json::from_slice::<ConfigValue>(v).ok())
                    .and_then(|v| CompatibilityLevel::parse(&v.compatibility_level).ok());
                match subject {
                    None => self.global_level = level,
                    Some(subject) => set_or_remove(&mut self.subject_levels, subject, level),
                }
            }
            RecordKey::Mode { subject, .. } => {
                let mode = value
                    .and_then(|v| serde_json::from_slice::<ModeValue>(v).ok())
                    .and_then(|v| Mode::parse(&v.mode).ok());
                match subject {
                    None => self.global_mode = mode,
                    Some(subject) => set_or_remove(&mut self.subject_modes, subject, mode),
                }
            }
            RecordKey::Other => {}
        }
    }

    fn put_version(&mut self, value: SchemaValue) {
        let schema_type = value.schema_type.as_deref().map_or(Ok(SchemaType::Avro), SchemaType::parse);
        let Ok(schema_type) = schema_type else {
            return warn!(subject = value.subject, version = value.version, "skipping a schema of unknown type");
        };
        if !self.schemas.contains_key(&value.id) {
            let parsed = self.parse(schema_type, &value.schema, &value.references);
            let fingerprint = parsed.as_ref().map_or_else(|| value.schema.clone(), |p| p.fingerprint().to_string());
            let stored = StoredSchema {
                id: value.id,
                schema_type,
                text: value.schema.clone(),
                references: value.references.clone(),
                parsed,
            };
            self.ids_by_identity.insert((schema_type, fingerprint, value.references), value.id);
            self.schemas.insert(value.id, stored);
        }
        self.max_id = self.max_id.max(value.id);
        let entry = VersionEntry { id: value.id, deleted: value.deleted };
        self.subjects.entry(value.subject).or_default().insert(value.version, entry);
    }

    fn remove_version(&mut self, subject: &str, version: i32) {
        let Some(versions) = self.subjects.get_mut(subject) else { return };
        let Some(removed) = versions.remove(&version) else { return };
        if versions.is_empty() {
            self.subjects.remove(subject);
        }
        let still_used = self.subjects.values().any(|vs| vs.values().any(|e| e.id == removed.id));
        if !still_used {
            if let Some(schema) = self.schemas.remove(&removed.id) {
                let fingerprint = schema.parsed.as_ref().map_or(schema.text, |p| p.fingerprint().to_string());
                self.ids_by_identity.remove(&(schema.schema_type, fingerprint, schema.references));
            }
        }
    }

    fn parse(&self, schema_type: SchemaType, text: &str, references: &[Reference]) -> Option<Arc<ParsedSchema>> {
        let resolved = match self.resolve_references(references) {
            Ok(resolved) => resolved,
            Err(e) => {
                warn!(error = %e, "a stored schema's reference is gone: it is kept without compatibility checks");
                return None;
            }
        };
        match ParsedSchema::parse(schema_type, text, &resolved) {
            Ok(parsed) => Some(Arc::new(parsed)),
            Err(e) => {
                warn!(error = %e, "a stored schema no longer parses: it is kept without compatibility checks");
                None
            }
        }
    }

    /// The texts of `references` and of theirs, dependencies first, each once.
    pub fn resolve_references(&self, references: &[Reference]) -> Result<Vec<(Reference, String)>, String> {
        let mut out = Vec::new();
        self.resolve_into(references, &mut out, 0)?;
        Ok(out)
    }

    fn resolve_into(
        &self,
        references: &[Reference],
        out: &mut Vec<(Reference, String)>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 32 {
            return Err("references nest deeper than 32 levels".into());
        }
        for reference in references {
            let version = match reference.version {
                -1 => self.latest_live(&reference.subject),
                v => self.subjects.get(&reference.subject).and_then(|vs| vs.get(&v)).filter(|e| !e.deleted).map(|_| v),
            };
            let Some(version) = version else {
                return Err(format!(
                    "reference '{}' names subject '{}' version {}, which does not exist",
                    reference.name, reference.subject, reference.version
                ));
            };
            let id = self.subjects[&reference.subject][&version].id;
            let schema = &self.schemas[&id];
            if out.iter().any(|(r, _)| r.subject == reference.subject && r.version == version) {
                continue;
            }
            self.resolve_into(&schema.references, out, depth + 1)?;
            let resolved = Reference { name: reference.name.clone(), subject: reference.subject.clone(), version };
            out.push((resolved, schema.text.clone()));
        }
        Ok(())
    }

    /// The newest version of `subject` that is not soft-deleted.
    pub fn latest_live(&self, subject: &str) -> Option<i32> {
        self.subjects.get(subject)?.iter().rev().find(|(_, e)| !e.deleted).map(|(v, _)| *v)
    }

    /// Versions of `subject`, with soft-deleted ones if `deleted`.
    pub fn versions(&self, subject: &str, deleted: bool) -> Vec<(i32, VersionEntry)> {
        self.subjects
            .get(subject)
            .map(|vs| vs.iter().filter(|(_, e)| deleted || !e.deleted).map(|(v, e)| (*v, *e)).collect())
            .unwrap_or_default()
    }

    /// Every live (subject, version) whose schema references `subject` `version`.
    pub fn referrers(&self, subject: &str, version: i32) -> Vec<i32> {
        let mut ids = Vec::new();
        for versions in self.subjects.values() {
            for entry in versions.values().filter(|e| !e.deleted) {
                let Some(schema) = self.schemas.get(&entry.id) else { continue };
                if schema.references.iter().any(|r| r.subject == subject && r.version == version)
                    && !ids.contains(&entry.id)
                {
                    ids.push(entry.id);
                }
            }
        }
        ids
    }

    pub fn level(&self, subject: Option<&str>) -> CompatibilityLevel {
        subject.and_then(|s| self.subject_levels.get(s).copied()).or(self.global_level).unwrap_or_default()
    }

    pub fn mode(&self, subject: Option<&str>) -> Mode {
        subject.and_then(|s| self.subject_modes.get(s).copied()).or(self.global_mode).unwrap_or_default()
    }
}

fn set_or_remove<V>(map: &mut HashMap<String, V>, key: String, value: Option<V>) {
    match value {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}
