//! The Kinesis service model (botocore's `kinesis/2013-12-02/service-2.json`, trimmed to
//! operations and shape constraints in `spec/`), read once: the operations AWS serves and
//! the type, required members, lengths, ranges, patterns and enums of every input shape.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

const MODEL_JSON: &str = include_str!("../../spec/kinesis-2013-12-02.json");

#[derive(Deserialize)]
struct RawModel {
    operations: HashMap<String, RawOperation>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawOperation {
    input: Option<String>,
}

#[derive(Deserialize)]
struct Ref {
    shape: String,
}

#[derive(Deserialize)]
struct RawShape {
    r#type: String,
    #[serde(default)]
    required: Vec<String>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    r#enum: Option<Vec<String>>,
    member: Option<Ref>,
    key: Option<Ref>,
    value: Option<Ref>,
    /// Sorted by name here (serde_json's map); `members_in_text_order` restores the model's.
    #[serde(default)]
    members: serde_json::Map<String, serde_json::Value>,
}

/// One shape's kind and constraints.
#[derive(Debug)]
pub enum Kind {
    Structure { members: Vec<(String, String)>, required: Vec<String> },
    List { member: String },
    Map { key: String, value: String },
    String,
    Integer,
    Long,
    Double,
    Boolean,
    Blob,
    Timestamp,
}

#[derive(Debug)]
pub struct Shape {
    pub kind: Kind,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The pattern as the model writes it (AWS quotes it so) and compiled to match whole values.
    pub pattern: Option<(String, Regex)>,
    pub enum_values: Option<Vec<String>>,
}

pub struct Model {
    pub operations: HashMap<String, Option<String>>,
    pub shapes: HashMap<String, Shape>,
}

impl Model {
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The input shape of an operation; `None` for an operation AWS does not have.
    pub fn input(&self, operation: &str) -> Option<Option<&str>> {
        self.operations.get(operation).map(|input| input.as_deref())
    }
}

/// The order in which AWS reports several failed constraints of one input: recorded from
/// AWS's answers where known (kinesalite's tests record them), the model's order otherwise.
/// Members not listed come after the listed ones, in the model's order.
const MEMBER_ORDER: &[(&str, &[&str])] = &[
    ("PutRecordInput", &["SequenceNumberForOrdering", "PartitionKey", "ExplicitHashKey", "Data", "StreamName"]),
    ("PutRecordsInput", &["Records", "StreamName"]),
    ("PutRecordsRequestEntry", &["PartitionKey", "Data", "ExplicitHashKey"]),
    ("GetShardIteratorInput", &["ShardId", "ShardIteratorType", "StartingSequenceNumber", "StreamName"]),
    ("SplitShardInput", &["NewStartingHashKey", "StreamName", "ShardToSplit"]),
    ("MergeShardsInput", &["ShardToMerge", "AdjacentShardToMerge", "StreamName"]),
    ("CreateStreamInput", &["ShardCount", "StreamName"]),
    ("GetRecordsInput", &["Limit", "ShardIterator"]),
    ("AddTagsToStreamInput", &["Tags", "StreamName"]),
    ("UpdateShardCountInput", &["ScalingType", "StreamName", "TargetShardCount"]),
    ("IncreaseStreamRetentionPeriodInput", &["RetentionPeriodHours", "StreamName"]),
    ("DecreaseStreamRetentionPeriodInput", &["RetentionPeriodHours", "StreamName"]),
    ("ListShardsInput", &["ExclusiveStartShardId", "MaxResults", "NextToken", "StreamCreationTimestamp", "StreamName"]),
];

/// The members of a structure in the model text's order (serde_json's map sorts them).
fn members_in_text_order(shape: &str, members: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    let mut named: Vec<(usize, String, String)> = members
        .iter()
        .map(|(name, r)| {
            let target = r.get("shape").and_then(|s| s.as_str()).unwrap_or_default().to_string();
            (text_position(shape, name), name.clone(), target)
        })
        .collect();
    named.sort();
    let mut ordered: Vec<(String, String)> = named.into_iter().map(|(_, n, t)| (n, t)).collect();
    if let Some((_, order)) = MEMBER_ORDER.iter().find(|(s, _)| *s == shape) {
        ordered.sort_by_key(|(name, _)| order.iter().position(|o| o == name).unwrap_or(order.len()));
    }
    ordered
}

/// Where member `name` of `shape` stands in the model text, for the model's own order.
fn text_position(shape: &str, name: &str) -> usize {
    // A shape's definition starts `"Name": {` with `"type"` on the next line; a member
    // that refers to it has `"shape"` there.
    MODEL_JSON
        .find(&format!("\"{shape}\": {{\n\"type\""))
        .and_then(|s| MODEL_JSON[s..].find("\"members\": {").map(|p| s + p))
        .and_then(|s| MODEL_JSON[s..].find(&format!("\"{name}\": {{")).map(|p| s + p))
        .unwrap_or(usize::MAX)
}

fn parse() -> Model {
    // The model is compiled in and checked by the unit tests below: it always parses.
    let raw: RawModel =
        serde_json::from_str(MODEL_JSON).unwrap_or(RawModel { operations: HashMap::new(), shapes: HashMap::new() });
    let shapes = raw
        .shapes
        .iter()
        .map(|(name, s)| {
            let kind = match s.r#type.as_str() {
                "structure" => {
                    Kind::Structure { members: members_in_text_order(name, &s.members), required: s.required.clone() }
                }
                "list" => Kind::List { member: s.member.as_ref().map(|r| r.shape.clone()).unwrap_or_default() },
                "map" => Kind::Map {
                    key: s.key.as_ref().map(|r| r.shape.clone()).unwrap_or_default(),
                    value: s.value.as_ref().map(|r| r.shape.clone()).unwrap_or_default(),
                },
                "integer" => Kind::Integer,
                "long" => Kind::Long,
                "double" | "float" => Kind::Double,
                "boolean" => Kind::Boolean,
                "blob" => Kind::Blob,
                "timestamp" => Kind::Timestamp,
                _ => Kind::String,
            };
            let pattern =
                s.pattern.as_ref().and_then(|p| Regex::new(&format!("^(?:{p})$")).ok().map(|r| (p.clone(), r)));
            let shape = Shape {
                kind,
                min: s.min.map(|v| v as i64),
                max: s.max.map(|v| v as i64),
                pattern,
                enum_values: s.r#enum.clone(),
            };
            (name.clone(), shape)
        })
        .collect();
    Model { operations: raw.operations.into_iter().map(|(n, o)| (n, o.input)).collect(), shapes }
}

pub static MODEL: LazyLock<Model> = LazyLock::new(parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_parses_with_every_pattern() {
        let raw: RawModel = serde_json::from_str(MODEL_JSON).unwrap();
        assert!(raw.operations.len() >= 57, "{}", raw.operations.len());
        for (name, shape) in &raw.shapes {
            if let Some(p) = &shape.pattern {
                assert!(Regex::new(&format!("^(?:{p})$")).is_ok(), "{name}: {p}");
            }
        }
        let Kind::Structure { members, .. } = &MODEL.shape("PutRecordInput").unwrap().kind else { panic!() };
        let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(&names[..5], ["SequenceNumberForOrdering", "PartitionKey", "ExplicitHashKey", "Data", "StreamName"]);
        let Kind::Structure { members, .. } = &MODEL.shape("DescribeStreamInput").unwrap().kind else { panic!() };
        assert_eq!(members[0].0, "StreamName", "the model's own order: {members:?}");
    }
}
