//! Protobuf schemas: `.proto` text (or a base64 `FileDescriptorProto`, as confluent-kafka's
//! serializers send it) compiled with `protox`; imports resolve to the references (by
//! their names) and to Google's well-known types. Two schemas are the same when their
//! compiled descriptors are, so formatting and comments do not make a new id.

use std::collections::HashMap;

use prost::Message;
use prost_reflect::{DescriptorPool, FileDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use crate::schema::Reference;

/// The name the schema being parsed gets among its imports.
const ROOT_FILE: &str = "tidelog-registry-root.proto";

#[derive(Debug, Clone)]
pub struct ProtobufSchema {
    pub pool: DescriptorPool,
    /// The text as registered (stored and answered).
    pub text: String,
    /// What identifies the schema: its compiled descriptor, hex-encoded.
    pub fingerprint: String,
}

impl ProtobufSchema {
    pub fn file(&self) -> Option<FileDescriptor> {
        self.pool.get_file_by_name(ROOT_FILE)
    }

    /// The schema as a base64 `FileDescriptorProto` (`?format=serialized`).
    pub fn serialized(&self) -> Option<String> {
        let mut proto = self.file()?.file_descriptor_proto().clone();
        proto.name = None;
        proto.source_code_info = None;
        Some(base64_simd::STANDARD.encode_to_string(proto.encode_to_vec()))
    }
}

/// The schema and its references, by file name.
struct Sources(HashMap<String, File>);

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        self.0.get(name).cloned().ok_or_else(|| protox::Error::file_not_found(name))
    }
}

/// A `.proto` text, or a base64 descriptor (what has no `;`, `{` or whitespace and decodes).
fn source(name: &str, text: &str) -> Result<File, String> {
    let trimmed = text.trim();
    let looks_encoded = !trimmed.contains([';', '{', ' ', '\n']);
    if looks_encoded {
        if let Ok(bytes) = base64_simd::STANDARD.decode_to_vec(trimmed) {
            let mut proto = prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .map_err(|e| format!("{name} is neither .proto text nor a FileDescriptorProto: {e}"))?;
            proto.name = Some(name.to_string());
            return Ok(File::from_file_descriptor_proto(proto));
        }
    }
    File::from_source(name, text).map_err(|e| format!("{name}: {e}"))
}

pub fn parse(text: &str, references: &[(Reference, String)]) -> Result<ProtobufSchema, String> {
    let mut files = HashMap::new();
    files.insert(ROOT_FILE.to_string(), source(ROOT_FILE, text)?);
    for (reference, reference_text) in references {
        files.insert(reference.name.clone(), source(&reference.name, reference_text)?);
    }
    let mut resolver = ChainFileResolver::new();
    resolver.add(Sources(files));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(false);
    compiler.open_file(ROOT_FILE).map_err(|e| e.to_string())?;
    let pool = compiler.descriptor_pool();
    let file = pool.get_file_by_name(ROOT_FILE).ok_or("the compiled schema has no root file")?;
    let mut proto = file.file_descriptor_proto().clone();
    proto.source_code_info = None;
    let fingerprint = proto.encode_to_vec().iter().map(|b| format!("{b:02x}")).collect();
    Ok(ProtobufSchema { pool, text: text.trim().to_string(), fingerprint })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str =
        "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  int64 id = 1;\n  string item = 2;\n}\n";

    #[test]
    fn formatting_does_not_change_the_fingerprint() {
        let a = parse(ORDER, &[]).unwrap();
        let b =
            parse("syntax=\"proto3\"; package shop; // same\nmessage Order { int64 id = 1; string item = 2; }", &[])
                .unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        let encoded = a.serialized().unwrap();
        assert_eq!(parse(&encoded, &[]).unwrap().fingerprint, a.fingerprint, "base64 descriptors parse too");
    }

    #[test]
    fn imports_come_from_references_and_well_known_types() {
        let money = "syntax = \"proto3\";\npackage shop;\nmessage Money { int64 cents = 1; }\n";
        let priced = "syntax = \"proto3\";\npackage shop;\nimport \"money.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Priced { Money price = 1; google.protobuf.Timestamp at = 2; }\n";
        assert!(parse(priced, &[]).is_err());
        let reference = Reference { name: "money.proto".into(), subject: "money".into(), version: 1 };
        let parsed = parse(priced, &[(reference, money.to_string())]).unwrap();
        assert!(parsed.pool.get_message_by_name("shop.Priced").is_some());
    }

    #[test]
    fn invalid_schemas_are_refused() {
        for bad in
            ["message {", "syntax = \"proto3\"; message A { int32 a = 1; int32 b = 1; }", "bm90IGEgZGVzY3JpcHRvcg"]
        {
            assert!(parse(bad, &[]).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod nesting_tests {
    /// A body of nested messages is refused by the parser's recursion limit, on a stack
    /// the size of a tokio worker's, instead of overflowing it.
    #[test]
    fn deeply_nested_text_is_refused_not_a_crash() {
        let depth = 5000;
        let text = format!("syntax = \"proto3\"; {} {}", "message M { ".repeat(depth), "}".repeat(depth));
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || super::parse(&text, &[]).map(|_| ()))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(outcome.is_err_and(|e| e.contains("recursion limit")));
    }
}
