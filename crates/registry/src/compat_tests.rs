//! The compatibility matrix: each schema change checked at every level, for Avro and JSON
//! Schema, plus the transitive levels against a chain of three versions.

use crate::compat::{check, CompatibilityLevel, Earlier};
use crate::schema::{ParsedSchema, SchemaType};

use CompatibilityLevel::*;

const LEVELS: [CompatibilityLevel; 7] =
    [None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive];

fn parse(schema_type: SchemaType, text: &str) -> ParsedSchema {
    ParsedSchema::parse(schema_type, text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Whether `new` may follow `chain` (oldest first) at `level`.
fn passes(level: CompatibilityLevel, schema_type: SchemaType, chain: &[&str], new: &str) -> bool {
    let parsed: Vec<ParsedSchema> = chain.iter().map(|t| parse(schema_type, t)).collect();
    let earlier: Vec<Earlier<'_>> =
        parsed.iter().enumerate().map(|(i, schema)| Earlier { version: i as i32 + 1, schema }).collect();
    check(level, &parse(schema_type, new), &earlier).is_empty()
}

/// For one change (old → new): whether it passes BACKWARD and FORWARD; FULL must be
/// both, NONE always, and a one-version chain makes transitive levels equal to plain.
fn assert_change(schema_type: SchemaType, name: &str, old: &str, new: &str, backward: bool, forward: bool) {
    for level in LEVELS {
        let expected = match level {
            None => true,
            Backward | BackwardTransitive => backward,
            Forward | ForwardTransitive => forward,
            Full | FullTransitive => backward && forward,
        };
        assert_eq!(passes(level, schema_type, &[old], new), expected, "{name} at {}", level.as_str());
    }
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"User","namespace":"acme","fields":[{fields}]}}"#)
}

#[test]
fn avro_changes_at_every_level() {
    let avro = SchemaType::Avro;
    let id = r#"{"name":"id","type":"int"}"#;
    let cases: &[(&str, String, String, bool, bool)] = &[
        ("identical", record(id), record(id), true, true),
        ("optional field added", record(id), record(&format!(r#"{id},{{"name":"email","type":["null","string"],"default":null}}"#)), true, true),
        ("field without default added", record(id), record(&format!(r#"{id},{{"name":"email","type":"string"}}"#)), false, true),
        ("field with default removed", record(&format!(r#"{id},{{"name":"n","type":"int","default":0}}"#)), record(id), true, true),
        ("field without default removed", record(&format!(r#"{id},{{"name":"n","type":"int"}}"#)), record(id), true, false),
        ("int promoted to long", record(id), record(r#"{"name":"id","type":"long"}"#), true, false),
        ("long to int", record(r#"{"name":"id","type":"long"}"#), record(id), false, true),
        ("float promoted to double", r#""float""#.into(), r#""double""#.into(), true, false),
        ("string and bytes", r#""string""#.into(), r#""bytes""#.into(), true, true),
        ("string to int", r#""string""#.into(), r#""int""#.into(), false, false),
        ("union widened", r#"["null","string"]"#.into(), r#"["null","string","int"]"#.into(), true, false),
        ("plain type into a union", r#""string""#.into(), r#"["null","string"]"#.into(), true, false),
        (
            "field renamed with an alias",
            record(r#"{"name":"name","type":"string"}"#),
            record(r#"{"name":"full_name","type":"string","aliases":["name"]}"#),
            true,
            false,
        ),
        (
            "record renamed with an alias",
            record(id),
            r#"{"type":"record","name":"Person","namespace":"acme","aliases":["acme.User"],"fields":[{"name":"id","type":"int"}]}"#.into(),
            true,
            false,
        ),
        (
            "record renamed without an alias",
            record(id),
            r#"{"type":"record","name":"Person","namespace":"acme","fields":[{"name":"id","type":"int"}]}"#.into(),
            false,
            false,
        ),
        (
            "enum symbol added",
            r#"{"type":"enum","name":"Color","symbols":["RED","GREEN"]}"#.into(),
            r#"{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}"#.into(),
            true,
            false,
        ),
        (
            "enum symbol added, old enum has a default",
            r#"{"type":"enum","name":"Color","symbols":["RED","GREEN"],"default":"RED"}"#.into(),
            r#"{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"],"default":"RED"}"#.into(),
            true,
            true,
        ),
        (
            "fixed size changed",
            r#"{"type":"fixed","name":"Hash","size":16}"#.into(),
            r#"{"type":"fixed","name":"Hash","size":32}"#.into(),
            false,
            false,
        ),
        ("array items promoted", r#"{"type":"array","items":"int"}"#.into(), r#"{"type":"array","items":"long"}"#.into(), true, false),
        ("map values changed", r#"{"type":"map","values":"int"}"#.into(), r#"{"type":"map","values":"string"}"#.into(), false, false),
        (
            "logical type added over the same long",
            r#""long""#.into(),
            r#"{"type":"long","logicalType":"timestamp-millis"}"#.into(),
            true,
            true,
        ),
    ];
    for (name, old, new, backward, forward) in cases {
        assert_change(avro, name, old, new, *backward, *forward);
    }
}

#[test]
fn avro_recursive_records_terminate() {
    let list = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#;
    let longer = r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}"#;
    assert_change(SchemaType::Avro, "recursive", list, longer, true, false);
}

#[test]
fn avro_transitive_levels_check_every_version() {
    let avro = SchemaType::Avro;
    // BACKWARD: v3 reads v2 (b is there) but not v1 (b missing, no default).
    let v1 = record(r#"{"name":"a","type":"int"}"#);
    let v2 = record(r#"{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}"#);
    let v3 = record(r#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#);
    assert!(passes(Backward, avro, &[&v1, &v2], &v3));
    assert!(!passes(BackwardTransitive, avro, &[&v1, &v2], &v3));
    // FORWARD: v2 reads v3 (b has a default in v2) but v1 does not (b without default).
    let v1 = record(r#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#);
    let v2 = record(r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#);
    let v3 = record(r#"{"name":"a","type":"int"}"#);
    assert!(passes(Forward, avro, &[&v1, &v2], &v3));
    assert!(!passes(ForwardTransitive, avro, &[&v1, &v2], &v3));
    // FULL: each step is both ways compatible, v1 and v3 are not.
    assert!(passes(Full, avro, &[&v1, &v2], &v3));
    assert!(!passes(FullTransitive, avro, &[&v1, &v2], &v3));
    assert!(passes(None, avro, &[&v1, &v2], r#""string""#));
}

#[test]
fn avro_reasons_name_the_field_and_version() {
    let old = parse(SchemaType::Avro, &record(r#"{"name":"id","type":"int"}"#));
    let new = parse(SchemaType::Avro, &record(r#"{"name":"id","type":"int"},{"name":"email","type":"string"}"#));
    let reasons = check(Backward, &new, &[Earlier { version: 7, schema: &old }]);
    assert!(reasons[0].contains("READER_FIELD_MISSING_DEFAULT_VALUE") && reasons[0].contains("'email'"), "{reasons:?}");
    assert!(reasons.contains(&"{oldSchemaVersion: 7}".to_string()), "{reasons:?}");
    assert!(reasons.contains(&"{compatibility: 'BACKWARD'}".to_string()), "{reasons:?}");
}

fn object(properties: &str, extra: &str) -> String {
    format!(r#"{{"type":"object","properties":{{{properties}}}{extra}}}"#)
}

#[test]
fn json_schema_changes_at_every_level() {
    let json = SchemaType::Json;
    let id = r#""id":{"type":"integer"}"#;
    let closed = r#","additionalProperties":false"#;
    let cases: &[(&str, String, String, bool, bool)] = &[
        ("identical", object(id, ""), object(id, ""), true, true),
        (
            "property added to an open model",
            object(id, ""),
            object(&format!(r#"{id},"name":{{"type":"string"}}"#), ""),
            false,
            true,
        ),
        (
            "property removed from an open model",
            object(&format!(r#"{id},"name":{{"type":"string"}}"#), ""),
            object(id, ""),
            true,
            false,
        ),
        (
            "optional property added to a closed model",
            object(id, closed),
            object(&format!(r#"{id},"name":{{"type":"string"}}"#), closed),
            true,
            false,
        ),
        (
            "required property added to a closed model",
            object(id, closed),
            object(&format!(r#"{id},"name":{{"type":"string"}}"#), &format!(r#"{closed},"required":["name"]"#)),
            false,
            false,
        ),
        ("existing property made required", object(id, ""), object(id, r#","required":["id"]"#), false, true),
        ("type widened", r#"{"type":"string"}"#.into(), r#"{"type":["string","null"]}"#.into(), true, false),
        ("integer to number", r#"{"type":"integer"}"#.into(), r#"{"type":"number"}"#.into(), true, false),
        ("type changed", r#"{"type":"string"}"#.into(), r#"{"type":"integer"}"#.into(), false, false),
        ("enum extended", r#"{"enum":["a","b"]}"#.into(), r#"{"enum":["a","b","c"]}"#.into(), true, false),
        (
            "maxLength decreased",
            r#"{"type":"string","maxLength":10}"#.into(),
            r#"{"type":"string","maxLength":5}"#.into(),
            false,
            true,
        ),
        ("minimum added", r#"{"type":"number"}"#.into(), r#"{"type":"number","minimum":0}"#.into(), false, true),
        ("additionalProperties closed", object(id, ""), object(id, closed), false, true),
        (
            "nested property type changed",
            object(r#""a":{"type":"object","properties":{"b":{"type":"string"}}}"#, ""),
            object(r#""a":{"type":"object","properties":{"b":{"type":"boolean"}}}"#, ""),
            false,
            false,
        ),
        (
            "array items widened",
            r#"{"type":"array","items":{"type":"integer"}}"#.into(),
            r#"{"type":"array","items":{"type":"number"}}"#.into(),
            true,
            false,
        ),
        (
            "anyOf branch added",
            r#"{"anyOf":[{"type":"string"}]}"#.into(),
            r#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#.into(),
            true,
            false,
        ),
    ];
    for (name, old, new, backward, forward) in cases {
        assert_change(json, name, old, new, *backward, *forward);
    }
}

#[test]
fn json_schema_transitive_levels_check_every_version() {
    let json = SchemaType::Json;
    let v1 = r#"{"type":"string","maxLength":5}"#;
    let v2 = r#"{"type":"string","maxLength":20}"#;
    let v3 = r#"{"type":"string","maxLength":10}"#;
    // v3 tightens v2 (breaks BACKWARD) but still reads all of v1's data.
    assert!(!passes(Backward, json, &[v1, v2], v3));
    assert!(passes(Forward, json, &[v1, v2], v3));
    assert!(!passes(ForwardTransitive, json, &[v1, v2], v3));
    let v3 = r#"{"type":"string","maxLength":30}"#;
    assert!(passes(BackwardTransitive, json, &[v1, v2], v3));
    assert!(!passes(FullTransitive, json, &[v1, v2], v3));
}

#[test]
fn different_schema_types_are_incompatible() {
    let avro = parse(SchemaType::Avro, r#""string""#);
    let json = parse(SchemaType::Json, r#"{"type":"string"}"#);
    let reasons = check(Backward, &json, &[Earlier { version: 1, schema: &avro }]);
    assert!(reasons[0].contains("SCHEMA_TYPE_MISMATCH"), "{reasons:?}");
}

fn proto(body: &str) -> String {
    format!("syntax = \"proto3\";\npackage shop;\n{body}\n")
}

#[test]
fn protobuf_changes_at_every_level() {
    let pb = SchemaType::Protobuf;
    let order = proto("message Order { int64 id = 1; string item = 2; }");
    // Protobuf rules are symmetric: what passes passes both ways, except message removal.
    let cases: &[(&str, String, bool, bool)] = &[
        ("identical", order.clone(), true, true),
        ("field added", proto("message Order { int64 id = 1; string item = 2; int32 qty = 3; }"), true, true),
        ("field removed", proto("message Order { int64 id = 1; }"), true, true),
        ("field renamed", proto("message Order { int64 id = 1; string name = 2; }"), true, true),
        ("int64 to int32 (same wire group)", proto("message Order { int32 id = 1; string item = 2; }"), true, true),
        ("string to bytes", proto("message Order { int64 id = 1; bytes item = 2; }"), true, true),
        ("int64 to string", proto("message Order { string id = 1; string item = 2; }"), false, false),
        ("int64 to sint64", proto("message Order { sint64 id = 1; string item = 2; }"), false, false),
        (
            "scalar to message",
            proto("message Order { int64 id = 1; Item item = 2; } message Item { string n = 1; }"),
            false,
            false,
        ),
        ("numeric made repeated", proto("message Order { repeated int64 id = 1; string item = 2; }"), false, false),
        (
            "message added",
            proto("message Order { int64 id = 1; string item = 2; } message Extra { int32 x = 1; }"),
            true,
            false,
        ),
        ("package changed", order.replace("package shop;", "package store;"), false, false),
        // Out of a oneof again is fine: Confluent flags only moves into one.
        (
            "fields moved into a oneof",
            proto("message Order { oneof what { int64 id = 1; string item = 2; } }"),
            false,
            true,
        ),
        (
            "one field moved into a new oneof",
            proto("message Order { int64 id = 1; oneof what { string item = 2; int32 sku = 3; } }"),
            true,
            true,
        ),
    ];
    for (name, new, backward, forward) in cases {
        assert_change(pb, name, &order, new, *backward, *forward);
    }
    let nested_old = proto("message Order { Item item = 1; } message Item { string name = 1; }");
    let nested_new = proto("message Order { Item item = 1; } message Item { int32 name = 1; }");
    assert_change(pb, "nested message field changed", &nested_old, &nested_new, false, false);
    let renamed_type = proto("message Order { Thing item = 1; } message Thing { string name = 1; }");
    assert_change(pb, "field's message type renamed", &nested_old, &renamed_type, false, false);
    let reserved = proto("message Order { int64 id = 1; reserved 2, 10 to 20; }");
    let reuses = proto("message Order { int64 id = 1; string item = 2; reserved 10 to 20; }");
    // Old readers skip the reused number: only the new side breaks.
    assert_change(pb, "reserved number reused", &reserved, &reuses, false, true);
    let keeps = proto("message Order { int64 id = 1; int32 n = 3; reserved 2, 10 to 20; }");
    assert_change(pb, "reservations kept", &reserved, &keeps, true, true);
    let oneof = proto("message Order { oneof what { int64 id = 1; string item = 2; } }");
    let oneof_less = proto("message Order { oneof what { int64 id = 1; } }");
    assert_change(pb, "field removed from a oneof", &oneof, &oneof_less, false, true);
    let maps = proto("message Order { map<string, int64> counts = 1; }");
    let maps_changed = proto("message Order { map<string, string> counts = 1; }");
    assert_change(pb, "map value changed", &maps, &maps_changed, false, false);
}
