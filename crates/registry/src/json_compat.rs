//! Can every document valid under the writer's JSON Schema be read by the reader's? The
//! main rules of Confluent's `SchemaDiff`: types may widen, not narrow (integer widens to
//! number); enums may grow; length, range, item-count and pattern limits may loosen, not
//! tighten; a property added where the writer's content model was open must accept
//! anything, one removed where the reader's is closed is refused, partially open models
//! (`additionalProperties` a schema) must cover the property; a newly required property
//! needs a default; `additionalProperties` may open, not close. Confluent's difference
//! names are the `errorType`s.

use serde_json::{Map, Value};

use crate::compat::Incompatibility;
use crate::json_schema::JsonSchema;

pub fn can_read(writer: &JsonSchema, reader: &JsonSchema, reader_is_new: bool) -> Vec<Incompatibility> {
    let mut check = Checker { writer, reader, reader_is_new, found: Vec::new() };
    check.schemas(&writer.root, &reader.root, "#", 0);
    check.found
}

struct Checker<'a> {
    writer: &'a JsonSchema,
    reader: &'a JsonSchema,
    reader_is_new: bool,
    found: Vec<Incompatibility>,
}

/// Deeper than this, a `$ref` cycle is assumed and the branch is taken as compatible.
const MAX_DEPTH: usize = 32;
const ANY: Value = Value::Bool(true);

/// The content model of an object schema.
enum Content<'v> {
    Open,
    Closed,
    Partial(&'v Value),
}

fn content(map: &Map<String, Value>) -> Content<'_> {
    match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => Content::Open,
        Some(Value::Bool(false)) => Content::Closed,
        Some(schema) if accepts_anything(schema) => Content::Open,
        Some(schema) => Content::Partial(schema),
    }
}

/// `true`, `{}` or an object of annotations only.
fn accepts_anything(schema: &Value) -> bool {
    const ANNOTATIONS: [&str; 8] = ["title", "description", "$id", "$schema", "$comment", "default", "examples", "id"];
    match schema {
        Value::Bool(b) => *b,
        Value::Object(map) => map.keys().all(|k| ANNOTATIONS.contains(&k.as_str())),
        _ => false,
    }
}

fn types(map: &Map<String, Value>) -> Option<Vec<&str>> {
    match map.get("type")? {
        Value::String(one) => Some(vec![one.as_str()]),
        Value::Array(many) => Some(many.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn number(map: &Map<String, Value>, key: &str) -> Option<f64> {
    map.get(key).and_then(Value::as_f64)
}

impl<'a> Checker<'a> {
    fn report(&mut self, kind: &'static str, path: &str) {
        let (r, w) = if self.reader_is_new { ("new", "old") } else { ("old", "new") };
        let description =
            format!("A {kind} difference at path '{path}' makes the {r} schema unable to read data of the {w} schema");
        self.found.push(Incompatibility { kind, path: path.to_string(), description });
    }

    /// Follows a `$ref` to a local definition or to a referenced schema.
    fn resolve(&self, schema: &'a Value, side: &'a JsonSchema) -> &'a Value {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        if let Some(pointer) = target.strip_prefix('#') {
            return side.root.pointer(pointer).unwrap_or(&ANY);
        }
        let (document, pointer) = target.split_once('#').unwrap_or((target, ""));
        match side.references.get(document) {
            Some(referenced) => referenced.pointer(pointer).unwrap_or(&ANY),
            None => &ANY,
        }
    }

    fn schemas(&mut self, writer: &'a Value, reader: &'a Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let writer = self.resolve(writer, self.writer);
        let reader = self.resolve(reader, self.reader);
        if accepts_anything(reader) || writer == &Value::Bool(false) {
            return;
        }
        let (Value::Object(w), Value::Object(r)) = (writer, reader) else {
            // The reader refuses everything, or the writer allowed anything and the reader does not.
            return self.report("TYPE_NARROWED", path);
        };
        if self.combined(writer, reader, path, depth) {
            return;
        }
        self.types(w, r, path);
        self.enums(w, r, path);
        self.limits(w, r, path);
        self.objects(w, r, path, depth);
        if let (Some(wi), Some(ri)) = (w.get("items"), r.get("items")) {
            if wi.is_object() && ri.is_object() {
                self.schemas(wi, ri, &format!("{path}/items"), depth + 1);
            }
        } else if let (None, Some(ri)) = (w.get("items"), r.get("items")) {
            if !accepts_anything(ri) {
                self.report("ITEMS_ADDED", &format!("{path}/items"));
            }
        }
    }

    /// `anyOf`/`oneOf`/`allOf` on either side. Returns true when it decided the pair.
    fn combined(&mut self, writer: &'a Value, reader: &'a Value, path: &str, depth: usize) -> bool {
        let (Some(w), Some(r)) = (writer.as_object(), reader.as_object()) else { return false };
        let writer_branches = ["anyOf", "oneOf"].iter().find_map(|k| w.get(*k).and_then(Value::as_array));
        if let Some(branches) = writer_branches {
            // Data of the writer is data of one of its branches: each must be readable.
            for (i, branch) in branches.iter().enumerate() {
                self.schemas(branch, reader, &format!("{path}/{i}"), depth + 1);
            }
            return true;
        }
        let reader_branches = ["anyOf", "oneOf"].iter().find_map(|k| r.get(*k).and_then(Value::as_array));
        if let Some(branches) = reader_branches {
            let readable = branches.iter().any(|branch| {
                let mut probe = Checker {
                    writer: self.writer,
                    reader: self.reader,
                    reader_is_new: self.reader_is_new,
                    found: Vec::new(),
                };
                probe.schemas(writer, branch, path, depth + 1);
                probe.found.is_empty()
            });
            if !readable {
                self.report("SUM_TYPE_NARROWED", path);
            }
            return true;
        }
        if let Some(branches) = r.get("allOf").and_then(Value::as_array) {
            for (i, branch) in branches.iter().enumerate() {
                self.schemas(writer, branch, &format!("{path}/allOf/{i}"), depth + 1);
            }
            return true;
        }
        false
    }

    fn types(&mut self, w: &Map<String, Value>, r: &Map<String, Value>, path: &str) {
        let Some(reader_types) = types(r) else { return };
        let Some(writer_types) = types(w) else {
            return self.report("TYPE_NARROWED", &format!("{path}/type"));
        };
        let accepted = |t: &str| reader_types.contains(&t) || (t == "integer" && reader_types.contains(&"number"));
        if !writer_types.iter().all(|t| accepted(t)) {
            let kind = if writer_types.iter().any(|t| accepted(t)) { "TYPE_NARROWED" } else { "TYPE_CHANGED" };
            self.report(kind, &format!("{path}/type"));
        }
    }

    fn enums(&mut self, w: &Map<String, Value>, r: &Map<String, Value>, path: &str) {
        let Some(reader_values) = r.get("enum").and_then(Value::as_array) else { return };
        match w.get("enum").and_then(Value::as_array) {
            None => self.report("ENUM_ARRAY_ADDED", &format!("{path}/enum")),
            Some(writer_values) if writer_values.iter().all(|v| reader_values.contains(v)) => {}
            Some(_) => self.report("ENUM_ARRAY_NARROWED", &format!("{path}/enum")),
        }
    }

    /// Upper limits must not fall or appear, lower limits must not rise or appear.
    fn limits(&mut self, w: &Map<String, Value>, r: &Map<String, Value>, path: &str) {
        const UPPER: [(&str, &str, &str); 5] = [
            ("maxLength", "MAX_LENGTH_ADDED", "MAX_LENGTH_DECREASED"),
            ("maximum", "MAXIMUM_ADDED", "MAXIMUM_DECREASED"),
            ("exclusiveMaximum", "EXCLUSIVE_MAXIMUM_ADDED", "EXCLUSIVE_MAXIMUM_DECREASED"),
            ("maxItems", "MAX_ITEMS_ADDED", "MAX_ITEMS_DECREASED"),
            ("maxProperties", "MAX_PROPERTIES_ADDED", "MAX_PROPERTIES_DECREASED"),
        ];
        const LOWER: [(&str, &str, &str); 5] = [
            ("minLength", "MIN_LENGTH_ADDED", "MIN_LENGTH_INCREASED"),
            ("minimum", "MINIMUM_ADDED", "MINIMUM_INCREASED"),
            ("exclusiveMinimum", "EXCLUSIVE_MINIMUM_ADDED", "EXCLUSIVE_MINIMUM_INCREASED"),
            ("minItems", "MIN_ITEMS_ADDED", "MIN_ITEMS_INCREASED"),
            ("minProperties", "MIN_PROPERTIES_ADDED", "MIN_PROPERTIES_INCREASED"),
        ];
        for (key, added, tightened) in UPPER {
            match (number(w, key), number(r, key)) {
                (None, Some(_)) => self.report(added, &format!("{path}/{key}")),
                (Some(old), Some(new)) if new < old => self.report(tightened, &format!("{path}/{key}")),
                _ => {}
            }
        }
        for (key, added, tightened) in LOWER {
            match (number(w, key), number(r, key)) {
                (None, Some(_)) => self.report(added, &format!("{path}/{key}")),
                (Some(old), Some(new)) if new > old => self.report(tightened, &format!("{path}/{key}")),
                _ => {}
            }
        }
        match (w.get("pattern"), r.get("pattern")) {
            (None, Some(_)) => self.report("PATTERN_ADDED", &format!("{path}/pattern")),
            (Some(old), Some(new)) if old != new => self.report("PATTERN_CHANGED", &format!("{path}/pattern")),
            _ => {}
        }
        match (number(w, "multipleOf"), number(r, "multipleOf")) {
            (None, Some(_)) => self.report("MULTIPLE_OF_ADDED", &format!("{path}/multipleOf")),
            (Some(old), Some(new)) if (old / new).fract() != 0.0 => {
                self.report("MULTIPLE_OF_CHANGED", &format!("{path}/multipleOf"))
            }
            _ => {}
        }
        if r.get("uniqueItems") == Some(&Value::Bool(true)) && w.get("uniqueItems") != Some(&Value::Bool(true)) {
            self.report("UNIQUE_ITEMS_ADDED", &format!("{path}/uniqueItems"));
        }
    }

    fn objects(&mut self, w: &'a Map<String, Value>, r: &'a Map<String, Value>, path: &str, depth: usize) {
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        let w_props = w.get("properties").and_then(Value::as_object).unwrap_or(&EMPTY);
        let r_props = r.get("properties").and_then(Value::as_object).unwrap_or(&EMPTY);
        let required = |m: &Map<String, Value>, name: &str| {
            m.get("required").and_then(Value::as_array).is_some_and(|req| req.iter().any(|v| v == name))
        };
        for (name, r_prop) in r_props {
            let at = format!("{path}/properties/{name}");
            match w_props.get(name) {
                Some(w_prop) => {
                    self.schemas(w_prop, r_prop, &at, depth + 1);
                    if required(r, name) && !required(w, name) && r_prop.get("default").is_none() {
                        self.report("REQUIRED_ATTRIBUTE_ADDED", &at);
                    }
                }
                None => match content(w) {
                    Content::Open if accepts_anything(r_prop) => {}
                    Content::Open => self.report("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", &at),
                    Content::Partial(extra) => {
                        let before = self.found.len();
                        self.schemas(extra, r_prop, &at, depth + 1);
                        if self.found.len() > before {
                            self.found.truncate(before);
                            self.report("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", &at);
                        }
                    }
                    Content::Closed if required(r, name) && r_prop.get("default").is_none() => {
                        self.report("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", &at)
                    }
                    Content::Closed => {}
                },
            }
        }
        for (name, w_prop) in w_props {
            if r_props.contains_key(name) {
                continue;
            }
            let at = format!("{path}/properties/{name}");
            match content(r) {
                Content::Open => {}
                Content::Partial(extra) => {
                    let before = self.found.len();
                    self.schemas(w_prop, extra, &at, depth + 1);
                    if self.found.len() > before {
                        self.found.truncate(before);
                        self.report("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", &at);
                    }
                }
                Content::Closed if w_prop == &Value::Bool(false) => {}
                Content::Closed => self.report("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", &at),
            }
        }
        let at = format!("{path}/additionalProperties");
        match (content(w), content(r)) {
            (_, Content::Open) | (Content::Closed, _) => {}
            (Content::Open, Content::Closed) => self.report("ADDITIONAL_PROPERTIES_REMOVED", &at),
            (Content::Open, Content::Partial(_)) => self.report("ADDITIONAL_PROPERTIES_NARROWED", &at),
            (Content::Partial(_), Content::Closed) => self.report("ADDITIONAL_PROPERTIES_REMOVED", &at),
            (Content::Partial(we), Content::Partial(re)) => self.schemas(we, re, &at, depth + 1),
        }
    }
}
