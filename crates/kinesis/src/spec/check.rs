//! An operation's input checked against the service model as AWS checks it, before the
//! operation looks anything up: first the JSON types of the members present
//! (SerializationException, Coral's Java wording), then every constraint (required
//! members, lengths, ranges, patterns, enums), reported together as one
//! ValidationException: "N validation errors detected: Value ... at 'member' failed to
//! satisfy constraint: ...", at most ten, in AWS's order.

use base64_simd::STANDARD;
use serde_json::Value;

use super::model::{Kind, Shape, MODEL};
use crate::error::KinesisError;

/// AWS reports at most this many failed constraints in one answer.
const MAX_REPORTED: usize = 10;

/// Checks `input` of `operation`; an operation without an input shape takes anything.
pub fn check(operation: &str, input: &Value) -> Result<(), KinesisError> {
    let Some(Some(shape)) = MODEL.input(operation) else { return Ok(()) };
    check_types(shape, input)?;
    let mut found = Violations::default();
    found.structure("", shape, input);
    found.into_result()
}

/// `StreamName` → `streamName`, as AWS names members in messages.
pub fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// Members sent as JSON null are absent to AWS: dropped before the input is typed.
pub fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn serialization(message: String) -> KinesisError {
    KinesisError::serialization(message)
}

/// The SerializationException a JSON value of the wrong type gets, as Coral words it.
fn type_error(kind: &Kind, value: &Value) -> Option<String> {
    let structural = |v: &Value| match v {
        Value::Array(_) => Some("Start of list found where not expected".to_string()),
        Value::Object(_) => Some("Start of structure or map found where not expected.".to_string()),
        _ => None,
    };
    match (kind, value) {
        (_, Value::Null) => None,
        (Kind::String, Value::String(_)) => None,
        (Kind::String, Value::Bool(_)) => Some("class java.lang.Boolean can not be converted to an String".into()),
        (Kind::String, Value::Number(_)) => Some("class java.math.BigDecimal can not be converted to an String".into()),
        (Kind::Integer | Kind::Long | Kind::Double, Value::Number(_)) => None,
        (Kind::Integer | Kind::Long | Kind::Double, Value::Bool(_) | Value::String(_)) => {
            let from = if value.is_boolean() { "Boolean" } else { "String" };
            let to = match kind {
                Kind::Integer => "Integer",
                Kind::Long => "Long",
                _ => "Double",
            };
            Some(format!("class java.lang.{from} can not be converted to an {to}"))
        }
        (Kind::Timestamp, Value::Number(_)) => None,
        (Kind::Timestamp, Value::Bool(_)) => {
            Some("class java.lang.Boolean can not be converted to milliseconds since epoch".into())
        }
        (Kind::Timestamp, Value::String(s)) => Some(format!("'{s}' can not be converted to milliseconds since epoch")),
        (Kind::Boolean, Value::Bool(_)) => None,
        (Kind::Boolean, Value::Number(_)) => {
            Some("class java.math.BigDecimal can not be converted to an Boolean".into())
        }
        (Kind::Boolean, Value::String(s)) => Some(format!("'{}' can not be converted to an Boolean", s.to_uppercase())),
        (Kind::Blob, Value::String(s)) => blob_error(s),
        (Kind::Blob, Value::Bool(_)) => Some("class java.lang.Boolean can not be converted to a Blob".into()),
        (Kind::Blob, Value::Number(_)) => Some("class java.math.BigDecimal can not be converted to a Blob".into()),
        (Kind::List { .. }, Value::Array(_)) => None,
        (Kind::List { .. }, Value::Object(_)) => structural(value),
        (Kind::List { .. }, _) => Some("Expected list or null".into()),
        (Kind::Map { .. } | Kind::Structure { .. }, Value::Object(_)) => None,
        (Kind::Map { .. }, Value::Array(_)) | (Kind::Structure { .. }, Value::Array(_)) => structural(value),
        (Kind::Map { .. }, _) => Some("Expected map or null".into()),
        (Kind::Structure { .. }, _) => Some("Expected null".into()),
        (_, other) => structural(other),
    }
}

/// Why a base64 member is not a blob, in Coral's words (its typo included).
pub fn blob_error(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(4) {
        return Some(format!(
            "'{text}' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: {}",
            text.len()
        ));
    }
    let bytes = text.as_bytes();
    let bad = bytes.iter().enumerate().find(|&(i, &b)| {
        let pad_ok = b == b'=' && bytes[i..].iter().all(|&c| c == b'=');
        !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || pad_ok)
    });
    if let Some((_, &b)) = bad {
        return Some(format!("'{text}' can not be converted to a Blob: Invalid Base64 character: '{}'", b as char));
    }
    if STANDARD.decode_to_vec(bytes).is_err() {
        return Some(format!(
            "'{text}' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"
        ));
    }
    None
}

fn check_types(shape_name: &str, value: &Value) -> Result<(), KinesisError> {
    let Some(shape) = MODEL.shape(shape_name) else { return Ok(()) };
    if let Some(message) = type_error(&shape.kind, value) {
        return Err(serialization(message));
    }
    match (&shape.kind, value) {
        (Kind::Structure { members, .. }, Value::Object(map)) => {
            for (name, target) in members {
                if let Some(v) = map.get(name) {
                    check_types(target, v)?;
                }
            }
        }
        (Kind::List { member }, Value::Array(items)) => items.iter().try_for_each(|v| check_types(member, v))?,
        (Kind::Map { value: target, .. }, Value::Object(map)) => {
            map.values().try_for_each(|v| check_types(target, v))?
        }
        _ => {}
    }
    Ok(())
}

/// A stream is named by StreamName or StreamARN (or, paging ListShards, by NextToken):
/// with none of them, StreamName is the member AWS reports missing.
fn names_stream_by_name_or_arn(members: &[(String, String)], name: &str, value: &Value) -> bool {
    let absent = |member: &str| value.get(member).is_none_or(Value::is_null);
    name == "StreamName" && members.iter().any(|(m, _)| m == "StreamARN") && absent("StreamARN") && absent("NextToken")
}

/// Failed constraints, collected in the order AWS reports them.
#[derive(Default)]
pub struct Violations(Vec<String>);

/// A member's value as AWS quotes it in a message.
fn quoted(value: &Value, kind: &Kind) -> String {
    fn plain(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Array(items) => format!("[{}]", items.iter().map(plain).collect::<Vec<_>>().join(", ")),
            Value::Object(map) => {
                format!("{{{}}}", map.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect::<Vec<_>>().join(", "))
            }
            other => other.to_string(),
        }
    }
    match (kind, value) {
        (Kind::Blob, Value::String(s)) => blob_value(STANDARD.decode_to_vec(s).map_or(0, |b| b.len())),
        _ => plain(value),
    }
}

/// How AWS shows a blob in a message: the Java buffer that held it.
pub fn blob_value(len: usize) -> String {
    format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]")
}

fn length_constraints(shape: &Shape) -> String {
    let mut parts = Vec::new();
    if let Some(max) = shape.max {
        parts.push(format!("Member must have length less than or equal to {max}"));
    }
    if let Some(min) = shape.min {
        parts.push(format!("Member must have length greater than or equal to {min}"));
    }
    if let Some((pattern, _)) = &shape.pattern {
        parts.push(format!("Member must satisfy regular expression pattern: {pattern}"));
    }
    format!("[{}]", parts.join(", "))
}

/// The length AWS measures: UTF-16 units of a string, bytes of a blob, entries otherwise.
fn length_of(value: &Value, kind: &Kind) -> Option<i64> {
    Some(match (kind, value) {
        (Kind::Blob, Value::String(s)) => STANDARD.decode_to_vec(s).map_or(0, |b| b.len()) as i64,
        (_, Value::String(s)) => s.encode_utf16().count() as i64,
        (_, Value::Array(items)) => items.len() as i64,
        (_, Value::Object(map)) => map.len() as i64,
        _ => return None,
    })
}

impl Violations {
    pub fn fail(&mut self, path: &str, value: Option<String>, constraint: &str) {
        if self.0.len() < MAX_REPORTED {
            let value = value.map_or("null".to_string(), |v| format!("'{v}'"));
            self.0.push(format!("Value {value} at '{path}' failed to satisfy constraint: {constraint}"));
        }
    }

    pub fn into_result(self) -> Result<(), KinesisError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(KinesisError::new(
                "ValidationException",
                format!("{n} validation error{} detected: {}", if n > 1 { "s" } else { "" }, self.0.join("; ")),
            )),
        }
    }

    /// The members of a structure, each checked in AWS's order.
    pub fn structure(&mut self, path: &str, shape_name: &str, value: &Value) {
        let Some(Shape { kind: Kind::Structure { members, required }, .. }) = MODEL.shape(shape_name) else { return };
        for (name, target) in members {
            let member_path = if path.is_empty() { lower_first(name) } else { format!("{path}.{}", lower_first(name)) };
            let v = value.get(name).filter(|v| !v.is_null());
            if v.is_none() && (required.contains(name) || names_stream_by_name_or_arn(members, name, value)) {
                self.fail(&member_path, None, "Member must not be null");
            }
            if let Some(v) = v {
                self.member(&member_path, target, v);
            }
        }
    }

    /// One present member against its shape: pattern or enum, lengths or range, then its
    /// elements.
    pub fn member(&mut self, path: &str, shape_name: &str, value: &Value) {
        let Some(shape) = MODEL.shape(shape_name) else { return };
        let shown = || Some(quoted(value, &shape.kind));
        if let (Some((pattern, regex)), Some(text)) = (&shape.pattern, value.as_str()) {
            if !regex.is_match(text) {
                self.fail(path, shown(), &format!("Member must satisfy regular expression pattern: {pattern}"));
            }
        }
        if let (Some(values), Some(text)) = (&shape.enum_values, value.as_str()) {
            if !values.iter().any(|v| v == text) {
                self.fail(path, shown(), &format!("Member must satisfy enum value set: [{}]", values.join(", ")));
            }
        }
        match &shape.kind {
            Kind::Integer | Kind::Long | Kind::Double => {
                let n = value.as_f64().unwrap_or_default();
                if let Some(min) = shape.min.filter(|&m| n < m as f64) {
                    self.fail(path, shown(), &format!("Member must have value greater than or equal to {min}"));
                }
                if let Some(max) = shape.max.filter(|&m| n > m as f64) {
                    self.fail(path, shown(), &format!("Member must have value less than or equal to {max}"));
                }
            }
            kind => {
                if let Some(len) = length_of(value, kind) {
                    if let Some(min) = shape.min.filter(|&m| len < m) {
                        self.fail(path, shown(), &format!("Member must have length greater than or equal to {min}"));
                    }
                    if let Some(max) = shape.max.filter(|&m| len > m) {
                        self.fail(path, shown(), &format!("Member must have length less than or equal to {max}"));
                    }
                }
            }
        }
        match (&shape.kind, value) {
            (Kind::Structure { .. }, _) => self.structure(path, shape_name, value),
            (Kind::List { member }, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate().filter(|(_, v)| !v.is_null()) {
                    self.member(&format!("{path}.{}.member", i + 1), member, item);
                }
            }
            (Kind::Map { key, value: target }, Value::Object(map)) => self.map_entries(path, value, map, key, target),
            _ => {}
        }
    }

    /// Map keys and values are reported once for the whole map, as AWS does.
    fn map_entries(&mut self, path: &str, whole: &Value, map: &serde_json::Map<String, Value>, key: &str, value: &str) {
        let bad = |shape_name: &str, v: &Value| {
            let mut one = Violations::default();
            one.member("", shape_name, v);
            !one.0.is_empty()
        };
        let (key_shape, value_shape) = (MODEL.shape(key), MODEL.shape(value));
        let shown = || Some(quoted(whole, &Kind::Map { key: key.into(), value: value.into() }));
        if map.keys().any(|k| bad(key, &Value::String(k.clone()))) {
            let constraints = key_shape.map(length_constraints).unwrap_or_default();
            self.fail(path, shown(), &format!("Map keys must satisfy constraint: {constraints}"));
        }
        if map.values().any(|v| bad(value, v)) {
            let constraints = value_shape.map(length_constraints).unwrap_or_default();
            self.fail(path, shown(), &format!("Map value must satisfy constraint: {constraints}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(operation: &str, input: Value) -> (String, String) {
        let e = check(operation, &input).unwrap_err();
        (e.kind.to_string(), e.message)
    }

    #[test]
    fn missing_members_are_reported_in_aws_order() {
        let (kind, text) = message("PutRecord", json!({}));
        assert_eq!(kind, "ValidationException");
        assert_eq!(
            text,
            "2 validation errors detected: Value null at 'data' failed to satisfy constraint: Member must not be null; Value null at 'streamName' failed to satisfy constraint: Member must not be null"
        );
        assert!(check(
            "PutRecord",
            &json!({ "StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "PartitionKey": "k", "Data": "" })
        )
        .is_ok());
        let (_, text) = message("CreateStream", json!({}));
        assert_eq!(
            text,
            "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn constraints_of_several_members_and_nested_paths() {
        let (_, text) =
            message("PutRecords", json!({ "StreamName": "", "Records": [{ "PartitionKey": "", "Data": "" }] }));
        assert_eq!(
            text,
            "3 validation errors detected: Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        let key = "k".repeat(129);
        let (_, text) = message("AddTagsToStream", json!({ "StreamName": "s", "Tags": { key.clone(): "v" } }));
        assert_eq!(
            text,
            format!("1 validation error detected: Value '{{{key}=v}}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]")
        );
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let (kind, text) = message("CreateStream", json!({ "StreamName": "s", "ShardCount": "x" }));
        assert_eq!(
            (kind.as_str(), text.as_str()),
            ("SerializationException", "class java.lang.String can not be converted to an Integer")
        );
        let (_, text) = message("PutRecord", json!({ "StreamName": "s", "PartitionKey": "k", "Data": "eA" }));
        assert!(text.contains("Base64 encoded length is expected a multiple of 4 bytes but found: 2"), "{text}");
        let (_, text) = message("PutRecords", json!({ "StreamName": "s", "Records": {} }));
        assert_eq!(text, "Start of structure or map found where not expected.");
    }

    #[test]
    fn at_most_ten_are_reported() {
        let records: Vec<Value> = (0..12).map(|_| json!({ "PartitionKey": "" , "Data": "" })).collect();
        let (_, text) = message("PutRecords", json!({ "StreamName": "s", "Records": records }));
        assert!(text.starts_with("10 validation errors detected: "), "{text}");
    }
}
