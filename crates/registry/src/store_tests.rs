//! The store on a real broker: ids reused for the same schema, versions, deletes,
//! references, modes, and everything surviving a reopen of the data directory.

use std::sync::Arc;

use tidelog_broker::{Broker, BrokerConfig};

use crate::compat::CompatibilityLevel;
use crate::error::RegistryError;
use crate::mode::Mode;
use crate::schema::{Reference, SchemaType};
use crate::store::Registry;
use crate::subjects::{SchemaRequest, VersionSpec};

fn avro(text: &str) -> SchemaRequest {
    SchemaRequest { schema: text.to_string(), ..Default::default() }
}

fn user(extra_fields: &str) -> String {
    format!(r#"{{"type":"record","name":"User","fields":[{{"name":"id","type":"int"}}{extra_fields}]}}"#)
}

fn registry() -> Arc<Registry> {
    Registry::open(Broker::in_memory(BrokerConfig::default())).unwrap()
}

#[tokio::test]
async fn same_schema_same_id_and_versions_count_up() {
    let r = registry();
    let id1 = r.register("a-value", avro(&user(""))).await.unwrap();
    // Layout differences are the same schema.
    let spaced = user("").replace(',', " , ");
    assert_eq!(r.register("a-value", avro(&spaced)).await.unwrap(), id1);
    assert_eq!(r.register("b-value", avro(&user(""))).await.unwrap(), id1, "another subject shares the id");
    let id2 = r.register("a-value", avro(&user(r#",{"name":"n","type":"int","default":0}"#))).await.unwrap();
    assert_eq!(id2, id1 + 1);
    assert_eq!(r.versions("a-value", false).unwrap(), vec![1, 2]);
    assert_eq!(r.version("a-value", VersionSpec::Latest, false).unwrap().id, id2);
    assert_eq!(r.subjects(false, ""), vec!["a-value", "b-value"]);
    let uses = r.uses_of(id1, false).unwrap();
    assert_eq!(uses, vec![("a-value".to_string(), 1), ("b-value".to_string(), 1)]);
}

#[tokio::test]
async fn incompatible_schemas_are_refused_with_reasons() {
    let r = registry();
    r.register("s", avro(&user(""))).await.unwrap();
    let err = r.register("s", avro(&user(r#",{"name":"email","type":"string"}"#))).await.unwrap_err();
    let RegistryError::Incompatible { subject, reasons } = &err else { panic!("{err:?}") };
    assert_eq!(subject, "s");
    assert!(reasons[0].contains("email"), "{reasons:?}");
    assert_eq!((err.http_status(), err.error_code()), (409, 409));
    r.set_level(Some("s"), CompatibilityLevel::None).await.unwrap();
    r.register("s", avro(&user(r#",{"name":"email","type":"string"}"#))).await.unwrap();
    let err = r.register("s", avro("{")).await.unwrap_err();
    assert_eq!(err.error_code(), 42201);
}

#[tokio::test]
async fn soft_then_permanent_deletes() {
    let r = registry();
    let id = r.register("s", avro(r#""string""#)).await.unwrap();
    r.set_level(Some("s"), CompatibilityLevel::None).await.unwrap();
    r.register("s", avro(r#""int""#)).await.unwrap();
    assert_eq!(r.delete_version("s", VersionSpec::Number(1), true).await.unwrap_err().error_code(), 40407);
    assert_eq!(r.delete_version("s", VersionSpec::Number(1), false).await.unwrap(), 1);
    assert_eq!(r.delete_version("s", VersionSpec::Number(1), false).await.unwrap_err().error_code(), 40406);
    assert_eq!(r.versions("s", false).unwrap(), vec![2]);
    assert_eq!(r.versions("s", true).unwrap(), vec![1, 2]);
    assert_eq!(r.version("s", VersionSpec::Number(1), false).unwrap_err().error_code(), 40402);
    assert!(r.version("s", VersionSpec::Number(1), true).unwrap().deleted);
    assert_eq!(r.schema_by_id(id).unwrap().text, r#""string""#, "a soft-deleted schema keeps its id");
    assert_eq!(r.delete_subject("s", true).await.unwrap_err().error_code(), 40405);
    assert_eq!(r.delete_subject("s", false).await.unwrap(), vec![2]);
    assert_eq!(r.delete_subject("s", false).await.unwrap_err().error_code(), 40404);
    assert_eq!(r.versions("s", false).unwrap_err().error_code(), 40401);
    assert_eq!(r.delete_subject("s", true).await.unwrap(), vec![1, 2]);
    assert_eq!(r.versions("s", true).unwrap_err().error_code(), 40401);
    assert_eq!(r.schema_by_id(id).unwrap_err().error_code(), 40403);
    assert_eq!(r.level(Some("s"), false).unwrap_err().error_code(), 40408, "its config went with it");
    // Re-registering after a soft delete starts a new version after the deleted ones.
    let r = registry();
    r.register("t", avro(r#""string""#)).await.unwrap();
    r.delete_subject("t", false).await.unwrap();
    r.register("t", avro(r#""string""#)).await.unwrap();
    assert_eq!(r.versions("t", false).unwrap(), vec![2]);
}

#[tokio::test]
async fn references_resolve_and_protect_what_they_name() {
    let r = registry();
    let address = r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"city","type":"string"}]}"#;
    r.register("address", avro(address)).await.unwrap();
    let order = r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"to","type":"acme.Address"}]}"#;
    let reference = Reference { name: "acme.Address".into(), subject: "address".into(), version: 1 };
    let request = SchemaRequest { references: vec![reference.clone()], ..avro(order) };
    let id = r.register("order", request.clone()).await.unwrap();
    assert_eq!(r.lookup("order", &request, false).unwrap().id, id);
    assert_eq!(r.referenced_by("address", VersionSpec::Number(1)).unwrap(), vec![id]);
    assert_eq!(r.delete_version("address", VersionSpec::Number(1), false).await.unwrap_err().error_code(), 42206);
    let missing = Reference { version: 9, ..reference };
    let err = r.register("order2", SchemaRequest { references: vec![missing], ..avro(order) }).await.unwrap_err();
    assert_eq!(err.error_code(), 42201);
    assert_eq!(r.lookup("order", &avro(address), false).unwrap_err().error_code(), 40403);
}

#[tokio::test]
async fn modes_guard_writes() {
    let r = registry();
    r.register("s", avro(r#""string""#)).await.unwrap();
    r.set_mode(None, Mode::ReadOnly, false).await.unwrap();
    assert_eq!(r.register("s", avro(r#""int""#)).await.unwrap_err().error_code(), 42205);
    assert_eq!(r.delete_subject("s", false).await.unwrap_err().error_code(), 42205);
    assert_eq!(r.set_mode(None, Mode::Import, false).await.unwrap_err().error_code(), 42205);
    r.set_mode(Some("imported"), Mode::Import, false).await.unwrap();
    let request = SchemaRequest { id: Some(100), version: Some(5), ..avro(r#""long""#) };
    assert_eq!(r.register("imported", request).await.unwrap(), 100);
    assert_eq!(r.versions("imported", false).unwrap(), vec![5]);
    r.delete_mode(None).await.unwrap();
    let next = r.register("other", avro(r#"{"type":"enum","name":"E","symbols":["A"]}"#)).await.unwrap();
    assert_eq!(next, 101, "new ids come after imported ones");
}

#[tokio::test]
async fn json_schemas_register_and_check() {
    let r = registry();
    let v1 = r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#;
    let json = |text: &str| SchemaRequest { schema: text.into(), schema_type: SchemaType::Json, ..Default::default() };
    let id = r.register("j", json(v1)).await.unwrap();
    assert_eq!(r.schema_by_id(id).unwrap().schema_type, SchemaType::Json);
    let v2 = r#"{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}}"#;
    assert_eq!(r.register("j", json(v2)).await.unwrap_err().error_code(), 409);
    assert!(!r.check_compatibility("j", Some(VersionSpec::Latest), &json(v2)).unwrap().is_empty());
    assert!(r.check_compatibility("j", Some(VersionSpec::Latest), &json(v1)).unwrap().is_empty());
}

#[tokio::test]
async fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (id, other) = {
        let broker = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
        let r = Registry::open(broker.clone()).unwrap();
        let id = r.register("s", avro(&user(""))).await.unwrap();
        let other = r.register("t", avro(r#""string""#)).await.unwrap();
        r.delete_subject("t", false).await.unwrap();
        r.set_level(None, CompatibilityLevel::Full).await.unwrap();
        r.set_mode(Some("s"), Mode::ReadOnly, false).await.unwrap();
        broker.shutdown().unwrap();
        (id, other)
    };
    let broker = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
    let r = Registry::open(broker.clone()).unwrap();
    assert_eq!(r.version("s", VersionSpec::Number(1), false).unwrap().id, id);
    assert_eq!(r.versions("t", true).unwrap(), vec![1]);
    assert!(r.versions("t", false).is_err());
    assert_eq!(r.schema_by_id(other).unwrap().text, r#""string""#);
    assert_eq!(r.level(None, true).unwrap(), CompatibilityLevel::Full);
    assert_eq!(r.mode(Some("s"), false).unwrap(), Mode::ReadOnly);
    r.set_mode(Some("s"), Mode::ReadWrite, false).await.unwrap();
    let next = r.register("u", avro(r#""int""#)).await.unwrap();
    assert_eq!(next, other + 1, "ids continue after the replayed ones");
    broker.shutdown().unwrap();
}

#[tokio::test]
async fn json_schema_references_resolve_for_checks() {
    let r = registry();
    let json = |text: &str, references: Vec<Reference>| SchemaRequest {
        schema: text.into(),
        schema_type: SchemaType::Json,
        references,
        ..Default::default()
    };
    r.register("address", json(r#"{"type":"object","properties":{"city":{"type":"string"}}}"#, vec![])).await.unwrap();
    let order = r#"{"type":"object","properties":{"to":{"$ref":"address.json"}}}"#;
    let reference = Reference { name: "address.json".into(), subject: "address".into(), version: 1 };
    r.register("order", json(order, vec![reference.clone()])).await.unwrap();
    assert_eq!(r.register("other", json(order, vec![])).await.unwrap_err().error_code(), 42201);
    // The referenced schema takes part in the check: "to" now must be a string.
    let narrowed = r#"{"type":"object","properties":{"to":{"type":"string"}}}"#;
    let reasons = r.check_compatibility("order", None, &json(narrowed, vec![])).unwrap();
    assert!(reasons.iter().any(|m| m.contains("TYPE_")), "{reasons:?}");
}
