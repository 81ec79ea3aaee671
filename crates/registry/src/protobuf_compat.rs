//! Protobuf compatibility, as Confluent's `SchemaDiff` judges it: fields are matched by
//! number; adding or removing optional fields, renaming fields, adding messages, enums,
//! enum values and oneofs are compatible. Incompatible: a changed package, a removed
//! message, a field whose kind (scalar / message / map), scalar wire group or named type
//! changed, a numeric field turned repeated or back, a required field added or removed,
//! a field removed from a oneof, several fields moved into one oneof, a field moved into
//! an existing oneof, a reserved number reused or no longer reserved.

use std::collections::{HashMap, HashSet};

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use crate::compat::Incompatibility;
use crate::protobuf::ProtobufSchema;

pub fn can_read(writer: &ProtobufSchema, reader: &ProtobufSchema, reader_is_new: bool) -> Vec<Incompatibility> {
    let mut check = Checker { reader_is_new, seen: HashSet::new(), found: Vec::new() };
    let (Some(w), Some(r)) = (writer.file(), reader.file()) else {
        return check.found;
    };
    if w.package_name() != r.package_name() {
        check.report("PACKAGE_CHANGED", "#/");
    }
    check.messages(w.messages().collect(), r.messages().collect(), "#");
    check.found
}

struct Checker {
    reader_is_new: bool,
    seen: HashSet<(String, String)>,
    found: Vec<Incompatibility>,
}

/// Scalars that share a wire encoding and may replace each other (Confluent's groups).
fn scalar_group(kind: &Kind) -> &'static str {
    match kind {
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool | Kind::Enum(_) => "GENERAL_NUMBER",
        Kind::Sint32 | Kind::Sint64 => "SIGNED_NUMBER",
        Kind::String | Kind::Bytes => "STRING_OR_BYTES",
        Kind::Fixed32 | Kind::Sfixed32 => "FIXED32",
        Kind::Fixed64 | Kind::Sfixed64 => "FIXED64",
        Kind::Float => "FLOAT",
        Kind::Double => "DOUBLE",
        Kind::Message(_) => "MESSAGE",
    }
}

fn category(field: &FieldDescriptor) -> &'static str {
    if field.is_map() {
        "map"
    } else if matches!(field.kind(), Kind::Message(_)) {
        "message"
    } else {
        "scalar"
    }
}

/// A message's name without its package: moving packages is the package check's business.
fn local_name(message: &MessageDescriptor) -> &str {
    let full = message.full_name();
    let package = message.package_name();
    if package.is_empty() {
        full
    } else {
        full.strip_prefix(package).and_then(|s| s.strip_prefix('.')).unwrap_or(full)
    }
}

/// The oneof a field really belongs to (proto3 `optional` makes a synthetic one).
fn oneof_name(field: &FieldDescriptor) -> Option<String> {
    field.containing_oneof().filter(|o| !o.is_synthetic()).map(|o| o.name().to_string())
}

/// Reserved ranges (end exclusive) joined where they touch or overlap.
fn merged(mut ranges: Vec<std::ops::Range<u32>>) -> Vec<std::ops::Range<u32>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<std::ops::Range<u32>> = Vec::new();
    for range in ranges {
        match out.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => out.push(range),
        }
    }
    out
}

fn reserved(message: &MessageDescriptor, number: u32) -> bool {
    message.reserved_ranges().any(|r| r.contains(&number))
}

impl Checker {
    fn report(&mut self, kind: &'static str, path: &str) {
        let (r, w) = if self.reader_is_new { ("new", "old") } else { ("old", "new") };
        let description =
            format!("A {kind} difference at path '{path}' makes the {r} schema unable to read data of the {w} schema");
        self.found.push(Incompatibility { kind, path: path.to_string(), description });
    }

    fn messages(&mut self, writer: Vec<MessageDescriptor>, reader: Vec<MessageDescriptor>, path: &str) {
        let by_name: HashMap<String, MessageDescriptor> =
            reader.into_iter().map(|m| (m.name().to_string(), m)).collect();
        for w in writer.into_iter().filter(|m| !m.is_map_entry()) {
            let at = format!("{path}/{}", w.name());
            match by_name.get(w.name()) {
                Some(r) => self.message(&w, r, &at),
                None => self.report("MESSAGE_REMOVED", &at),
            }
        }
    }

    fn message(&mut self, w: &MessageDescriptor, r: &MessageDescriptor, path: &str) {
        if !self.seen.insert((w.full_name().to_string(), r.full_name().to_string())) {
            return;
        }
        for wf in w.fields() {
            let at = format!("{path}/{}", wf.number());
            match r.get_field(wf.number()) {
                Some(rf) => self.field(&wf, &rf, &at),
                None if wf.cardinality() == Cardinality::Required => self.report("REQUIRED_FIELD_REMOVED", &at),
                None => {
                    if oneof_name(&wf).is_some_and(|name| r.oneofs().any(|o| o.name() == name)) {
                        self.report("ONEOF_FIELD_REMOVED", &at);
                    }
                }
            }
        }
        for rf in r.fields().filter(|f| w.get_field(f.number()).is_none()) {
            let at = format!("{path}/{}", rf.number());
            if rf.cardinality() == Cardinality::Required {
                self.report("REQUIRED_FIELD_ADDED", &at);
            }
            if reserved(w, rf.number()) {
                self.report("RESERVED_FIELD_REUSED", &at);
            }
        }
        // A number reserved before must stay reserved (ranges can span millions of numbers:
        // compared as ranges, not number by number).
        let covering = merged(r.reserved_ranges().collect());
        if w.reserved_ranges().any(|range| !covering.iter().any(|c| c.start <= range.start && range.end <= c.end)) {
            self.report("RESERVED_FIELD_REMOVED", &format!("{path}/reserved"));
        }
        for oneof in r.oneofs().filter(|o| !o.is_synthetic()) {
            let at = format!("{path}/{}", oneof.name());
            let mut moved = 0;
            let mut existing = 0;
            for rf in oneof.fields() {
                match w.get_field(rf.number()) {
                    Some(wf) if oneof_name(&wf).is_none() => moved += 1,
                    Some(_) => existing += 1,
                    None => {}
                }
            }
            if moved > 1 {
                self.report("MULTIPLE_FIELDS_MOVED_TO_ONEOF", &at);
            } else if moved == 1 && existing > 0 {
                self.report("FIELD_MOVED_TO_EXISTING_ONEOF", &at);
            }
        }
        self.messages(w.child_messages().collect(), r.child_messages().collect(), path);
        self.seen.remove(&(w.full_name().to_string(), r.full_name().to_string()));
    }

    fn field(&mut self, w: &FieldDescriptor, r: &FieldDescriptor, path: &str) {
        if category(w) != category(r) {
            return self.report("FIELD_KIND_CHANGED", path);
        }
        match (w.kind(), r.kind()) {
            (Kind::Message(wm), Kind::Message(rm)) if w.is_map() => {
                self.field(&wm.map_entry_key_field(), &rm.map_entry_key_field(), &format!("{path}/key"));
                self.field(&wm.map_entry_value_field(), &rm.map_entry_value_field(), &format!("{path}/value"));
            }
            (Kind::Message(wm), Kind::Message(rm)) => {
                if local_name(&wm) != local_name(&rm) {
                    self.report("FIELD_NAMED_TYPE_CHANGED", path);
                } else {
                    self.message(&wm, &rm, path);
                }
            }
            (wk, rk) => {
                if scalar_group(&wk) != scalar_group(&rk) {
                    self.report("FIELD_SCALAR_KIND_CHANGED", path);
                } else if w.is_list() != r.is_list() && scalar_group(&wk) != "STRING_OR_BYTES" {
                    self.report("FIELD_NUMERIC_LABEL_CHANGED", path);
                }
            }
        }
    }
}
