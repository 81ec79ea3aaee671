//! Compatibility levels and modes, global and per subject (`/config`, `/mode`), stored as
//! CONFIG and MODE records; deleting one writes a tombstone and the global value applies.

use crate::compat::CompatibilityLevel;
use crate::error::{RegistryError, Result};
use crate::mode::Mode;
use crate::records::{ConfigValue, ModeValue, RecordKey};
use crate::store::Registry;

impl Registry {
    /// The level of `subject` (or the global one); a subject without its own answers
    /// 40408 unless `default_to_global`.
    pub fn level(&self, subject: Option<&str>, default_to_global: bool) -> Result<CompatibilityLevel> {
        let state = self.state.read();
        match subject {
            Some(s) if !default_to_global => state
                .subject_levels
                .get(s)
                .copied()
                .ok_or_else(|| RegistryError::SubjectCompatibilityNotConfigured(s.into())),
            _ => Ok(state.level(subject)),
        }
    }

    pub async fn set_level(&self, subject: Option<&str>, level: CompatibilityLevel) -> Result<()> {
        let _writer = self.writer.lock().await;
        let value = ConfigValue { compatibility_level: level.as_str().to_string() };
        let value = serde_json::to_value(value).map_err(|e| RegistryError::Store(e.to_string()))?;
        self.write(vec![(RecordKey::config(subject), Some(value))]).await
    }

    /// Removes a level; returns the one removed (the global default if none was set).
    pub async fn delete_level(&self, subject: Option<&str>) -> Result<CompatibilityLevel> {
        let _writer = self.writer.lock().await;
        let previous = {
            let state = self.state.read();
            match subject {
                Some(s) => {
                    if !state.subjects.contains_key(s) && !state.subject_levels.contains_key(s) {
                        return Err(RegistryError::SubjectNotFound(s.into()));
                    }
                    state
                        .subject_levels
                        .get(s)
                        .copied()
                        .ok_or_else(|| RegistryError::SubjectCompatibilityNotConfigured(s.into()))?
                }
                None => state.level(None),
            }
        };
        self.write(vec![(RecordKey::config(subject), None)]).await?;
        Ok(previous)
    }

    pub fn mode(&self, subject: Option<&str>, default_to_global: bool) -> Result<Mode> {
        let state = self.state.read();
        match subject {
            Some(s) if !default_to_global => {
                state.subject_modes.get(s).copied().ok_or_else(|| RegistryError::SubjectModeNotConfigured(s.into()))
            }
            _ => Ok(state.mode(subject)),
        }
    }

    /// Sets a mode. IMPORT is refused where schemas already exist unless `force`, as
    /// Confluent does: imported ids could collide with them.
    pub async fn set_mode(&self, subject: Option<&str>, mode: Mode, force: bool) -> Result<()> {
        let _writer = self.writer.lock().await;
        {
            let state = self.state.read();
            let occupied = match subject {
                Some(s) => state.subjects.contains_key(s),
                None => !state.subjects.is_empty(),
            };
            if mode == Mode::Import && occupied && !force {
                return Err(RegistryError::OperationNotPermitted(
                    "Cannot import since found existing subjects".to_string(),
                ));
            }
        }
        let value = serde_json::to_value(ModeValue { mode: mode.as_str().to_string() })
            .map_err(|e| RegistryError::Store(e.to_string()))?;
        self.write(vec![(RecordKey::mode(subject), Some(value))]).await
    }

    pub async fn delete_mode(&self, subject: Option<&str>) -> Result<Mode> {
        let _writer = self.writer.lock().await;
        let previous = {
            let state = self.state.read();
            match subject {
                Some(s) => state
                    .subject_modes
                    .get(s)
                    .copied()
                    .ok_or_else(|| RegistryError::SubjectModeNotConfigured(s.into()))?,
                None => state.mode(None),
            }
        };
        self.write(vec![(RecordKey::mode(subject), None)]).await?;
        Ok(previous)
    }
}
