//! Can a reader schema decode data written with a writer schema? Avro's resolution rules
//! as Java Avro's `SchemaCompatibility` applies them (which Confluent's registry calls):
//! fields matched by name or by the reader's aliases, missing writer fields need a reader
//! default, int→long→float→double and string↔bytes promotions, every writer union branch
//! must be readable, writer enum symbols must be in the reader's unless it has a default,
//! named types match by name or the reader's aliases. Logical types are ignored, as Java does.
//!
//! Written over the crate's parsed schema rather than with `apache_avro::schema_compatibility`
//! because that one ignores enum defaults and type aliases and reports no paths.

use std::collections::HashSet;

use apache_avro::schema::{Alias, Name, RecordSchema};
use apache_avro::Schema;

use crate::avro::AvroSchema;
use crate::compat::Incompatibility;

/// The reasons `reader` cannot read what `writer` wrote; empty when it can. `reader_is_new`
/// picks the words ("new"/"old") of the descriptions.
pub fn can_read(writer: &AvroSchema, reader: &AvroSchema, reader_is_new: bool) -> Vec<Incompatibility> {
    let mut check = Checker { writer, reader, reader_is_new, seen: HashSet::new(), found: Vec::new() };
    check.schemas(&writer.root, &reader.root, "");
    check.found
}

struct Checker<'a> {
    writer: &'a AvroSchema,
    reader: &'a AvroSchema,
    reader_is_new: bool,
    /// Record pairs under check: recursive types end here instead of looping.
    seen: HashSet<(String, String)>,
    found: Vec<Incompatibility>,
}

/// The structural type under a logical type.
fn underlying(schema: &Schema) -> &Schema {
    match schema {
        Schema::Decimal(d) => underlying(&d.inner),
        Schema::BigDecimal => &Schema::Bytes,
        Schema::Uuid => &Schema::String,
        Schema::Date | Schema::TimeMillis => &Schema::Int,
        Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => &Schema::Long,
        other => other,
    }
}

fn kind(schema: &Schema) -> &'static str {
    match schema {
        Schema::Null => "null",
        Schema::Boolean => "boolean",
        Schema::Int => "int",
        Schema::Long => "long",
        Schema::Float => "float",
        Schema::Double => "double",
        Schema::Bytes => "bytes",
        Schema::String => "string",
        Schema::Array(_) => "array",
        Schema::Map(_) => "map",
        Schema::Union(_) => "union",
        Schema::Record(_) => "record",
        Schema::Enum(_) => "enum",
        Schema::Fixed(_) | Schema::Duration => "fixed",
        _ => "other",
    }
}

/// Java compares the short names, then looks for the writer's full name among the
/// reader's aliases.
fn names_match(writer: &Name, reader: &Name, reader_aliases: &Option<Vec<Alias>>) -> bool {
    writer.name == reader.name
        || reader_aliases.iter().flatten().any(|a| a.fullname(reader.namespace.clone()) == writer.fullname(None))
}

impl<'a> Checker<'a> {
    fn resolve(&self, schema: &'a Schema, side: &'a AvroSchema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => side.named.get(&name.fullname(None)).unwrap_or(schema),
            other => underlying(other),
        }
    }

    fn words(&self) -> (&'static str, &'static str) {
        if self.reader_is_new {
            ("new", "old")
        } else {
            ("old", "new")
        }
    }

    fn report(&mut self, kind: &'static str, path: &str, description: String) {
        let path = if path.is_empty() { "/".to_string() } else { path.to_string() };
        let description = description.replace("{path}", &path);
        self.found.push(Incompatibility { kind, path, description });
    }

    fn type_mismatch(&mut self, path: &str, writer: &Schema, reader: &Schema) {
        let (r, w) = self.words();
        let text = format!(
            "The type (path '{{path}}') of a field in the {r} schema does not match with the {w} schema (reader {}, writer {})",
            kind(reader),
            kind(writer)
        );
        self.report("TYPE_MISMATCH", path, text);
    }

    fn schemas(&mut self, writer: &'a Schema, reader: &'a Schema, path: &str) {
        let writer = self.resolve(writer, self.writer);
        let reader = self.resolve(reader, self.reader);
        match (writer, reader) {
            (Schema::Union(w), Schema::Union(_)) => {
                for (i, branch) in w.variants().iter().enumerate() {
                    if !self.readable(branch, reader) {
                        let (r, w) = self.words();
                        let text = format!(
                            "The {r} schema is missing a type inside a union field at path '{{path}}' in the {w} schema"
                        );
                        self.report("MISSING_UNION_BRANCH", &format!("{path}/{i}"), text);
                    }
                }
            }
            (Schema::Union(w), _) => {
                // Each writer branch must resolve to the reader on its own.
                for (i, branch) in w.variants().iter().enumerate() {
                    self.schemas(branch, reader, &format!("{path}/{i}"));
                }
            }
            (_, Schema::Union(r)) => {
                if !r.variants().iter().any(|branch| self.readable(writer, branch)) {
                    let (r, w) = self.words();
                    let text = format!(
                        "The {r} schema is missing a type inside a union field at path '{{path}}' in the {w} schema"
                    );
                    self.report("MISSING_UNION_BRANCH", path, text);
                }
            }
            (Schema::Null, Schema::Null)
            | (Schema::Boolean, Schema::Boolean)
            | (Schema::Int, Schema::Int | Schema::Long | Schema::Float | Schema::Double)
            | (Schema::Long, Schema::Long | Schema::Float | Schema::Double)
            | (Schema::Float, Schema::Float | Schema::Double)
            | (Schema::Double, Schema::Double)
            | (Schema::Bytes | Schema::String, Schema::Bytes | Schema::String) => {}
            (Schema::Array(w), Schema::Array(r)) => self.schemas(&w.items, &r.items, &format!("{path}/items")),
            (Schema::Map(w), Schema::Map(r)) => self.schemas(&w.types, &r.types, &format!("{path}/values")),
            (Schema::Fixed(w), Schema::Fixed(r)) => {
                if !names_match(&w.name, &r.name, &r.aliases) {
                    self.name_mismatch(path, &w.name, &r.name);
                } else if w.size != r.size {
                    let (r_word, w_word) = self.words();
                    let text = format!(
                        "The size of FIXED type field at path '{{path}}' in the {r_word} schema does not match with the {w_word} schema (reader {}, writer {})",
                        r.size, w.size
                    );
                    self.report("FIXED_SIZE_MISMATCH", &format!("{path}/size"), text);
                }
            }
            (Schema::Duration, Schema::Duration) => {}
            (Schema::Enum(w), Schema::Enum(r)) => {
                if !names_match(&w.name, &r.name, &r.aliases) {
                    self.name_mismatch(path, &w.name, &r.name);
                    return;
                }
                let missing: Vec<&str> =
                    w.symbols.iter().filter(|s| !r.symbols.contains(s)).map(String::as_str).collect();
                if !missing.is_empty() && r.default.is_none() {
                    let (r_word, w_word) = self.words();
                    let text = format!(
                        "The {r_word} schema is missing enum symbols '{}' at path '{{path}}' in the {w_word} schema",
                        missing.join(", ")
                    );
                    self.report("MISSING_ENUM_SYMBOLS", &format!("{path}/symbols"), text);
                }
            }
            (Schema::Record(w), Schema::Record(r)) => self.records(w, r, path),
            _ => self.type_mismatch(path, writer, reader),
        }
    }

    fn name_mismatch(&mut self, path: &str, writer: &Name, reader: &Name) {
        let (r, _) = self.words();
        let text = format!(
            "The name of the schema has changed (path '{{path}}'): {} in the {r} schema, {} before",
            reader.fullname(None),
            writer.fullname(None)
        );
        self.report("NAME_MISMATCH", &format!("{path}/name"), text);
    }

    /// Whether `reader` reads `writer` with no incompatibility (for picking union branches).
    fn readable(&mut self, writer: &'a Schema, reader: &'a Schema) -> bool {
        let before = self.found.len();
        self.schemas(writer, reader, "");
        let ok = self.found.len() == before;
        self.found.truncate(before);
        ok
    }

    fn records(&mut self, w: &'a RecordSchema, r: &'a RecordSchema, path: &str) {
        if !names_match(&w.name, &r.name, &r.aliases) {
            self.name_mismatch(path, &w.name, &r.name);
            return;
        }
        if !self.seen.insert((w.name.fullname(None), r.name.fullname(None))) {
            return;
        }
        for (i, field) in r.fields.iter().enumerate() {
            let field_path = format!("{path}/fields/{i}");
            let by_name = std::iter::once(field.name.as_str())
                .chain(field.aliases.iter().flatten().map(String::as_str))
                .find_map(|name| w.fields.iter().find(|f| f.name == name));
            match by_name {
                Some(written) => self.schemas(&written.schema, &field.schema, &format!("{field_path}/type")),
                None if field.default.is_some() => {}
                None => {
                    let (r_word, w_word) = self.words();
                    let text = format!(
                        "The field '{}' at path '{{path}}' in the {r_word} schema has no default value and is missing in the {w_word} schema",
                        field.name
                    );
                    self.report("READER_FIELD_MISSING_DEFAULT_VALUE", &field_path, text);
                }
            }
        }
        self.seen.remove(&(w.name.fullname(None), r.name.fullname(None)));
    }
}
