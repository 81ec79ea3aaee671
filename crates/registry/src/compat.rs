//! Compatibility levels and what each checks: BACKWARD (the new schema reads data
//! written with the old), FORWARD (the old reads the new), FULL (both); plain levels look
//! at the latest version, `_TRANSITIVE` ones at every live version; NONE checks nothing.

use crate::error::{RegistryError, Result};
use crate::schema::ParsedSchema;

/// One reason data would not be read, in Confluent's `{errorType:..., description:...}` shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    pub kind: &'static str,
    pub path: String,
    pub description: String,
}

impl std::fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{errorType:'{}', description:'{}'}}", self.kind, self.description)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompatibilityLevel {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    pub fn as_str(self) -> &'static str {
        use CompatibilityLevel::*;
        match self {
            None => "NONE",
            Backward => "BACKWARD",
            BackwardTransitive => "BACKWARD_TRANSITIVE",
            Forward => "FORWARD",
            ForwardTransitive => "FORWARD_TRANSITIVE",
            Full => "FULL",
            FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Any case, as Confluent accepts.
    pub fn parse(text: &str) -> Result<CompatibilityLevel> {
        use CompatibilityLevel::*;
        Ok(match text.to_ascii_uppercase().as_str() {
            "NONE" => None,
            "BACKWARD" => Backward,
            "BACKWARD_TRANSITIVE" => BackwardTransitive,
            "FORWARD" => Forward,
            "FORWARD_TRANSITIVE" => ForwardTransitive,
            "FULL" => Full,
            "FULL_TRANSITIVE" => FullTransitive,
            _ => return Err(RegistryError::InvalidCompatibilityLevel),
        })
    }

    fn transitive(self) -> bool {
        use CompatibilityLevel::*;
        matches!(self, BackwardTransitive | ForwardTransitive | FullTransitive)
    }

    fn backward(self) -> bool {
        use CompatibilityLevel::*;
        matches!(self, Backward | BackwardTransitive | Full | FullTransitive)
    }

    fn forward(self) -> bool {
        use CompatibilityLevel::*;
        matches!(self, Forward | ForwardTransitive | Full | FullTransitive)
    }
}

/// One earlier version a new schema is checked against.
pub struct Earlier<'a> {
    pub version: i32,
    pub schema: &'a ParsedSchema,
}

/// Why `new` breaks `level` against `earlier` (live versions, oldest first); empty when
/// it is compatible. Each failing version adds its reasons and then which version and
/// level they came from, as Confluent's verbose answers do.
pub fn check(level: CompatibilityLevel, new: &ParsedSchema, earlier: &[Earlier<'_>]) -> Vec<String> {
    if level == CompatibilityLevel::None {
        return Vec::new();
    }
    let against: &[Earlier<'_>] =
        if level.transitive() { earlier } else { &earlier[earlier.len().saturating_sub(1)..] };
    let mut messages = Vec::new();
    // Newest first: the most relevant break is reported first.
    for old in against.iter().rev() {
        let mut reasons = Vec::new();
        if level.backward() {
            reasons.extend(new.reads(old.schema, true));
        }
        if level.forward() {
            reasons.extend(old.schema.reads(new, false));
        }
        if !reasons.is_empty() {
            messages.extend(reasons);
            messages.push(format!("{{oldSchemaVersion: {}}}", old.version));
            messages.push(format!("{{oldSchema: '{}'}}", old.schema.canonical()));
            messages.push(format!("{{compatibility: '{}'}}", level.as_str()));
        }
    }
    messages
}
