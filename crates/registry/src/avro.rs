//! Avro schemas: parsed with the `apache-avro` crate (references are the schemas named
//! types come from), with the canonical text the registry stores, compares and answers
//! with: the parsed schema written back as compact JSON, so whitespace, key order and
//! `{"type": "string"}` vs `"string"` give the same text and the same id.

use std::collections::HashMap;

use apache_avro::Schema;

/// A parsed Avro schema and the named types it can refer to.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    pub root: Schema,
    /// Every named type (record, enum, fixed) by full name: its own and its references'.
    pub named: HashMap<String, Schema>,
    pub canonical: String,
}

/// Parses `text`, whose named types may come from `references` (schema texts, in the
/// order their own references need them).
pub fn parse(text: &str, references: &[String]) -> Result<AvroSchema, String> {
    let (root, dependencies) = if references.is_empty() {
        (Schema::parse_str(text).map_err(|e| e.to_string())?, Vec::new())
    } else {
        Schema::parse_str_with_list(text, references).map_err(|e| e.to_string())?
    };
    let canonical = serde_json::to_string(&root).map_err(|e| format!("cannot write the schema back: {e}"))?;
    let mut named = HashMap::new();
    for schema in dependencies.iter().chain(std::iter::once(&root)) {
        collect_named(schema, &mut named);
    }
    Ok(AvroSchema { root, named, canonical })
}

fn collect_named(schema: &Schema, out: &mut HashMap<String, Schema>) {
    match schema {
        Schema::Record(r) => {
            out.insert(r.name.fullname(None), schema.clone());
            for field in &r.fields {
                collect_named(&field.schema, out);
            }
        }
        Schema::Enum(e) => {
            out.insert(e.name.fullname(None), schema.clone());
        }
        Schema::Fixed(f) => {
            out.insert(f.name.fullname(None), schema.clone());
        }
        Schema::Decimal(d) => collect_named(&d.inner, out),
        Schema::Array(a) => collect_named(&a.items, out),
        Schema::Map(m) => collect_named(&m.types, out),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_named(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_ignores_layout() {
        let a = parse(r#"{"type": "string"}"#, &[]).unwrap();
        let b = parse(r#""string""#, &[]).unwrap();
        assert_eq!(a.canonical, b.canonical);
        let r1 = parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#, &[]).unwrap();
        let r2 = parse(
            "{\n  \"fields\": [ {\"type\": \"int\", \"name\": \"a\"} ],\n \"name\": \"R\", \"type\": \"record\"}",
            &[],
        )
        .unwrap();
        assert_eq!(r1.canonical, r2.canonical);
    }

    #[test]
    fn references_supply_named_types() {
        let address =
            r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"city","type":"string"}]}"#;
        let user =
            r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"home","type":"acme.Address"}]}"#;
        assert!(parse(user, &[]).is_err());
        let parsed = parse(user, &[address.to_string()]).unwrap();
        assert!(parsed.named.contains_key("acme.Address"));
        assert!(parsed.canonical.contains("acme.Address"));
    }

    #[test]
    fn canonical_text_keeps_what_readers_need() {
        let text = r#"{"type":"record","name":"R","namespace":"n","doc":"d","aliases":["Old"],"fields":[
            {"name":"a","type":"int","default":3,"aliases":["b"]},
            {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}}]}"#;
        let canonical = parse(text, &[]).unwrap().canonical;
        for kept in
            [r#""default":3"#, r#""aliases":["b"]"#, "timestamp-millis", r#""default":"X""#, r#""namespace":"n""#]
        {
            assert!(canonical.contains(kept), "{kept} missing from {canonical}");
        }
    }

    #[test]
    fn invalid_schemas_are_refused() {
        let bad_default = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#;
        for bad in ["{", r#"{"type":"nope"}"#, r#"{"type":"record","name":"R"}"#, "42", bad_default] {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
    }
}
