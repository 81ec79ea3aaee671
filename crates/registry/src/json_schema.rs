//! JSON Schemas (draft 7 / 2020-12 keywords): checked for shape (an object or a boolean,
//! known `type` names, well-formed `properties`, `required`, `items`), kept as JSON values
//! for the compatibility checker, with sorted-key compact text as the canonical form.
//! References map a `$ref` name to the referenced subject version's schema.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::schema::Reference;

#[derive(Debug, Clone)]
pub struct JsonSchema {
    pub root: Value,
    /// Referenced schemas by the name a `$ref` uses for them.
    pub references: HashMap<String, Value>,
    pub canonical: String,
}

const TYPES: [&str; 7] = ["null", "boolean", "object", "array", "number", "integer", "string"];

pub fn parse(text: &str, references: &[(Reference, String)]) -> Result<JsonSchema, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    check_shape(&root, "#")?;
    let mut resolved = HashMap::new();
    for (reference, text) in references {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("reference {} is not JSON: {e}", reference.name))?;
        resolved.insert(reference.name.clone(), value);
    }
    check_refs(&root, &resolved)?;
    let canonical = serde_json::to_string(&sorted(&root)).map_err(|e| e.to_string())?;
    Ok(JsonSchema { root, references: resolved, canonical })
}

/// Every `$ref` must point into this schema (`#...`) or at a reference's name: the
/// registry fetches nothing from the network.
fn check_refs(value: &Value, references: &HashMap<String, Value>) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let document = target.split('#').next().unwrap_or_default();
                if !document.is_empty() && !references.contains_key(document) {
                    return Err(format!("$ref '{target}' names neither this schema nor one of its references"));
                }
            }
            map.values().try_for_each(|v| check_refs(v, references))
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_refs(v, references)),
        _ => Ok(()),
    }
}

/// The same value with object keys in order, whatever serde_json's map keeps.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn check_shape(schema: &Value, at: &str) -> Result<(), String> {
    let map = match schema {
        Value::Bool(_) => return Ok(()),
        Value::Object(map) => map,
        other => return Err(format!("a schema must be an object or a boolean, found {other} at {at}")),
    };
    if let Some(ty) = map.get("type") {
        let names: Vec<&Value> = match ty {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for name in names {
            if !name.as_str().is_some_and(|n| TYPES.contains(&n)) {
                return Err(format!("unknown type {name} at {at}/type"));
            }
        }
    }
    for keyword in ["properties", "definitions", "$defs", "patternProperties"] {
        match map.get(keyword) {
            None => {}
            Some(Value::Object(children)) => {
                for (name, child) in children {
                    check_shape(child, &format!("{at}/{keyword}/{name}"))?;
                }
            }
            Some(_) => return Err(format!("{at}/{keyword} must be an object")),
        }
    }
    if let Some(required) = map.get("required") {
        if !required.as_array().is_some_and(|r| r.iter().all(Value::is_string)) {
            return Err(format!("{at}/required must be an array of strings"));
        }
    }
    for keyword in ["items", "additionalProperties", "not", "additionalItems"] {
        if let Some(child) = map.get(keyword) {
            if let Value::Array(tuple) = child {
                for (i, item) in tuple.iter().enumerate() {
                    check_shape(item, &format!("{at}/{keyword}/{i}"))?;
                }
            } else {
                check_shape(child, &format!("{at}/{keyword}"))?;
            }
        }
    }
    for keyword in ["allOf", "anyOf", "oneOf"] {
        if let Some(child) = map.get(keyword) {
            let Some(branches) = child.as_array() else {
                return Err(format!("{at}/{keyword} must be an array"));
            };
            for (i, branch) in branches.iter().enumerate() {
                check_shape(branch, &format!("{at}/{keyword}/{i}"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_sorts_keys() {
        let a = parse(r#"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}"#, &[]).unwrap();
        let b = parse(r#"{ "properties": {"a": {"type":"integer"}, "b": {"type":"string"}}, "type": "object" }"#, &[])
            .unwrap();
        assert_eq!(a.canonical, b.canonical);
    }

    #[test]
    fn malformed_schemas_are_refused() {
        for bad in ["{", "42", r#"{"type":"text"}"#, r#"{"properties":[]}"#, r#"{"required":"a"}"#, r#"{"anyOf":{}}"#] {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
        assert!(parse("true", &[]).is_ok());
    }
}
