//! Deleting subjects and versions. A soft delete rewrites the versions' SCHEMA records
//! with `deleted: true` (they stay readable with `?deleted=true` and keep their ids); a
//! permanent delete, allowed only after a soft one, writes tombstones that compaction
//! then removes. Versions other schemas still reference cannot be deleted.

use crate::error::{RegistryError, Result};
use crate::mode::Mode;
use crate::records::{RecordKey, SchemaValue};
use crate::schema::SchemaType;
use crate::state::State;
use crate::store::{Registry, Write};
use crate::subjects::VersionSpec;

impl State {
    fn refuse_if_read_only(&self, subject: &str) -> Result<()> {
        if self.mode(Some(subject)) == Mode::ReadOnly {
            return Err(RegistryError::OperationNotPermitted(format!("Subject {subject} is in read-only mode")));
        }
        Ok(())
    }

    fn refuse_if_referenced(&self, subject: &str, version: i32) -> Result<()> {
        if self.referrers(subject, version).is_empty() {
            Ok(())
        } else {
            Err(RegistryError::ReferenceExists(subject.to_string(), version))
        }
    }

    /// The SCHEMA record of `subject` `version` rewritten as (soft-)deleted.
    fn soft_deleted(&self, subject: &str, version: i32) -> Result<Write> {
        let entry = self.subjects[subject][&version];
        let schema = self.schemas.get(&entry.id).ok_or(RegistryError::SchemaIdNotFound(entry.id))?;
        let value = SchemaValue {
            subject: subject.to_string(),
            version,
            id: entry.id,
            schema_type: (schema.schema_type != SchemaType::Avro).then(|| schema.schema_type.as_str().to_string()),
            references: schema.references.clone(),
            schema: schema.text.clone(),
            deleted: true,
        };
        let value = serde_json::to_value(value).map_err(|e| RegistryError::Store(e.to_string()))?;
        Ok((RecordKey::schema(subject, version), Some(value)))
    }
}

impl Registry {
    /// Deletes every version of `subject`; returns the versions deleted.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let _writer = self.writer.lock().await;
        let (writes, versions) = {
            let state = self.state.read();
            state.refuse_if_read_only(subject)?;
            let all = state.versions(subject, true);
            if all.is_empty() {
                return Err(RegistryError::SubjectNotFound(subject.to_string()));
            }
            let live: Vec<i32> = all.iter().filter(|(_, e)| !e.deleted).map(|(v, _)| *v).collect();
            if permanent && !live.is_empty() {
                return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
            }
            if !permanent && live.is_empty() {
                return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
            }
            let versions: Vec<i32> = if permanent { all.iter().map(|(v, _)| *v).collect() } else { live };
            let mut writes = Vec::new();
            for &version in &versions {
                state.refuse_if_referenced(subject, version)?;
                writes.push(if permanent {
                    (RecordKey::schema(subject, version), None)
                } else {
                    state.soft_deleted(subject, version)?
                });
            }
            if permanent {
                // Confluent drops a permanently deleted subject's own settings too.
                if state.subject_levels.contains_key(subject) {
                    writes.push((RecordKey::config(Some(subject)), None));
                }
                if state.subject_modes.contains_key(subject) {
                    writes.push((RecordKey::mode(Some(subject)), None));
                }
            }
            (writes, versions)
        };
        self.write(writes).await?;
        Ok(versions)
    }

    /// Deletes one version; returns its number.
    pub async fn delete_version(&self, subject: &str, spec: VersionSpec, permanent: bool) -> Result<i32> {
        let _writer = self.writer.lock().await;
        let (write, version) = {
            let state = self.state.read();
            state.refuse_if_read_only(subject)?;
            let all = state.versions(subject, true);
            if all.is_empty() {
                return Err(RegistryError::SubjectNotFound(subject.to_string()));
            }
            let found = match spec {
                // `latest` is the newest live version, or for a permanent delete the newest.
                VersionSpec::Latest if permanent => all.last().copied(),
                VersionSpec::Latest => all.iter().rev().find(|(_, e)| !e.deleted).copied(),
                VersionSpec::Number(n) => all.iter().find(|(v, _)| *v == n).copied(),
            };
            let Some((version, entry)) = found else {
                return Err(match spec {
                    VersionSpec::Number(n) => RegistryError::VersionNotFound(n),
                    VersionSpec::Latest => RegistryError::SubjectNotFound(subject.to_string()),
                });
            };
            match (permanent, entry.deleted) {
                (false, true) => return Err(RegistryError::VersionSoftDeleted(subject.to_string(), version)),
                (true, false) => return Err(RegistryError::VersionNotSoftDeleted(subject.to_string(), version)),
                _ => {}
            }
            state.refuse_if_referenced(subject, version)?;
            let write = if permanent {
                (RecordKey::schema(subject, version), None)
            } else {
                state.soft_deleted(subject, version)?
            };
            (write, version)
        };
        self.write(vec![write]).await?;
        Ok(version)
    }
}
