"""The schema registry through confluent-kafka's own SchemaRegistryClient and serializers
(Avro, JSON Schema and Protobuf serializers and deserializers) producing and consuming
through tidelog, evolution at every compatibility level, the REST API's answers and error
codes as Confluent's registry gives them, ids kept across restart and kill -9, bad input."""
import json
import uuid

import pytest
import requests
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import Broker

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("registry") / "data").start()
    yield b
    b.stop()


@pytest.fixture
def client(broker):
    return SchemaRegistryClient({"url": broker.registry_url})


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def record(name, fields):
    return json.dumps({"type": "record", "name": name, "namespace": "acme", "fields": fields})


def rest(broker, method, path, body=None, **kwargs):
    headers = kwargs.pop("headers", {"Content-Type": CONTENT_TYPE})
    data = json.dumps(body) if body is not None else kwargs.pop("data", None)
    return requests.request(method, broker.registry_url + path, data=data, headers=headers, timeout=30, **kwargs)


def create_topic(broker, topic, config=None):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, config=config or {})])[topic].result(timeout=30)


def produce(broker, topic, values, serializer):
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    ctx = SerializationContext(topic, MessageField.VALUE)
    payloads = [serializer(v, ctx) for v in values]
    for p in payloads:
        producer.produce(topic, value=p)
    assert producer.flush(30) == 0
    return payloads


def consume(broker, topic, count, deserializer):
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("g"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    ctx = SerializationContext(topic, MessageField.VALUE)
    out = []
    try:
        while len(out) < count:
            msg = consumer.poll(30)
            assert msg is not None, f"only {len(out)} of {count} records arrived"
            assert msg.error() is None, msg.error()
            out.append(deserializer(msg.value(), ctx))
    finally:
        consumer.close()
    return out


USER_V1 = record("User", [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}])
USER_V2 = record("User", [{"name": "id", "type": "int"}, {"name": "name", "type": "string"},
                          {"name": "email", "type": ["null", "string"], "default": None}])


def test_avro_serializer_and_deserializer_through_tidelog(broker, client):
    topic = unique("users")
    create_topic(broker, topic)
    serializer = AvroSerializer(client, USER_V1)
    values = [{"id": i, "name": f"user-{i}"} for i in range(5)]
    payloads = produce(broker, topic, values, serializer)
    latest = client.get_latest_version(f"{topic}-value")
    assert latest.version == 1
    # Confluent's wire format: magic byte 0, then the 4-byte id the registry gave.
    assert payloads[0][0] == 0 and int.from_bytes(payloads[0][1:5], "big") == latest.schema_id
    assert consume(broker, topic, 5, AvroDeserializer(client)) == values

    # The evolved schema (an optional field) passes BACKWARD; a reader on it reads old data
    # with the default filled in, and new data with the field.
    new_serializer = AvroSerializer(client, USER_V2)
    produce(broker, topic, [{"id": 9, "name": "nine", "email": "n@x"}], new_serializer)
    # (the client caches "latest": ask the registry itself)
    assert rest(broker, "GET", f"/subjects/{topic}-value/versions").json() == [1, 2]
    read = consume(broker, topic, 6, AvroDeserializer(client, USER_V2))
    assert read[0] == {"id": 0, "name": "user-0", "email": None}
    assert read[5] == {"id": 9, "name": "nine", "email": "n@x"}


def test_json_serializer_and_deserializer_through_tidelog(broker, client):
    topic = unique("orders")
    create_topic(broker, topic)
    schema = json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
        "properties": {"id": {"type": "integer"}, "item": {"type": "string"}}, "required": ["id"],
    })
    values = [{"id": 1, "item": "apple"}, {"id": 2, "item": "pear"}]
    payloads = produce(broker, topic, values, JSONSerializer(schema, client))
    registered = client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "JSON"
    assert int.from_bytes(payloads[0][1:5], "big") == registered.schema_id
    assert consume(broker, topic, 2, JSONDeserializer(schema, schema_registry_client=client)) == values
    # The serializer's validation is client-side; the registry refused nothing valid.
    with pytest.raises(Exception):
        JSONSerializer(schema, client)({"item": "no id"}, SerializationContext(topic, MessageField.VALUE))


def order_message_class(package, extra_field=False):
    """A message class built the way protoc-generated code builds one: from a descriptor."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name=f"{package}/order.proto", package=package, syntax="proto3")
    message = file.message_type.add(name="Order")
    message.field.add(name="id", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    message.field.add(name="item", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    if extra_field:
        message.field.add(name="qty", number=3, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.Order"))


def test_protobuf_serializer_and_deserializer_through_tidelog(broker, client):
    topic = unique("pb-orders")
    create_topic(broker, topic)
    package = f"shop{uuid.uuid4().hex[:6]}"
    Order = order_message_class(package)
    serializer = ProtobufSerializer(Order, client, {"use.deprecated.format": False})
    values = [Order(id=i, item=f"item-{i}") for i in range(3)]
    produce(broker, topic, values, serializer)
    registered = client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "PROTOBUF"
    deserializer = ProtobufDeserializer(Order, {"use.deprecated.format": False}, schema_registry_client=client)
    assert consume(broker, topic, 3, deserializer) == values
    # A field added is compatible; changing a field's type is not.
    bigger = order_message_class(package, extra_field=True)
    produce(broker, topic, [bigger(id=7, item="x", qty=2)], ProtobufSerializer(bigger, client, {"use.deprecated.format": False}))
    assert rest(broker, "GET", f"/subjects/{topic}-value/versions").json() == [1, 2]
    changed = f'syntax = "proto3";\npackage {package};\nmessage Order {{ string id = 1; string item = 2; }}\n'
    r = rest(broker, "POST", f"/subjects/{topic}-value/versions", {"schema": changed, "schemaType": "PROTOBUF"})
    assert (r.status_code, r.json()["error_code"]) == (409, 409)
    assert "FIELD_SCALAR_KIND_CHANGED" in r.json()["message"]


V_A = record("R", [{"name": "a", "type": "int"}])
V_AB_DEFAULT = record("R", [{"name": "a", "type": "int"}, {"name": "b", "type": "string", "default": "x"}])
V_AB = record("R", [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}])
V_A_LONG = record("R", [{"name": "a", "type": "long"}])

# (level, chain registered first, candidate, accepted)
EVOLUTION = [
    ("BACKWARD", [V_A], V_AB_DEFAULT, True),       # optional field added
    ("BACKWARD", [V_A], V_AB, False),              # field without default added
    ("BACKWARD", [V_AB], V_A, True),               # field removed
    ("BACKWARD", [V_A], V_A_LONG, True),           # int promoted to long
    ("BACKWARD", [V_A, V_AB_DEFAULT], V_AB, True),  # only the latest is checked
    ("BACKWARD_TRANSITIVE", [V_A, V_AB_DEFAULT], V_AB, False),
    ("FORWARD", [V_AB], V_A, False),               # field without default removed
    ("FORWARD", [V_AB_DEFAULT], V_A, True),        # field with default removed
    ("FORWARD", [V_A], V_AB, True),
    ("FORWARD", [V_A], V_A_LONG, False),
    ("FORWARD", [V_AB, V_AB_DEFAULT], V_A, True),
    ("FORWARD_TRANSITIVE", [V_AB, V_AB_DEFAULT], V_A, False),
    ("FULL", [V_A], V_AB_DEFAULT, True),
    ("FULL", [V_A], V_AB, False),
    ("FULL", [V_A], V_A_LONG, False),
    ("FULL", [V_AB, V_AB_DEFAULT], V_A, True),
    ("FULL_TRANSITIVE", [V_AB, V_AB_DEFAULT], V_A, False),
    ("NONE", [V_A], json.dumps("string"), True),
]


@pytest.mark.parametrize("level,chain,candidate,accepted", EVOLUTION)
def test_avro_evolution_per_level(broker, client, level, chain, candidate, accepted):
    subject = unique("evolve")
    client.set_compatibility(subject, "NONE")
    for text in chain:
        client.register_schema(subject, Schema(text, "AVRO"))
    assert client.set_compatibility(subject, level) == {"compatibility": level}
    assert client.get_compatibility(subject) == level
    assert client.test_compatibility_all_versions(subject, Schema(candidate, "AVRO")) == accepted
    if accepted:
        client.register_schema(subject, Schema(candidate, "AVRO"))
        assert client.get_versions(subject) == list(range(1, len(chain) + 2))
    else:
        with pytest.raises(SchemaRegistryError) as refused:
            client.register_schema(subject, Schema(candidate, "AVRO"))
        assert (refused.value.http_status_code, refused.value.error_code) == (409, 409)
        assert "Schema being registered is incompatible with an earlier schema" in refused.value.error_message
        assert client.get_versions(subject) == list(range(1, len(chain) + 1))


def test_json_schema_evolution(broker, client):
    subject = unique("json-evolve")
    open_v1 = json.dumps({"type": "object", "properties": {"id": {"type": "integer"}}})
    open_v2 = json.dumps({"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "string"}}})
    closed_v1 = json.dumps({"type": "object", "properties": {"id": {"type": "integer"}},
                            "additionalProperties": False})
    closed_v2 = json.dumps({"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "string"}},
                            "additionalProperties": False})
    client.register_schema(subject, Schema(open_v1, "JSON"))
    # An open content model may already have held "n" with any value: BACKWARD refuses.
    assert not client.test_compatibility(subject, Schema(open_v2, "JSON"))
    closed = unique("json-closed")
    client.register_schema(closed, Schema(closed_v1, "JSON"))
    assert client.test_compatibility(closed, Schema(closed_v2, "JSON"))
    client.register_schema(closed, Schema(closed_v2, "JSON"))
    # Dropping "n" again: a closed reader cannot take the "n" that v2 data may hold.
    assert not client.test_compatibility(closed, Schema(closed_v1, "JSON"))
    # FORWARD asks the reverse: v2 readers read v1 data (no "n") fine.
    client.set_compatibility(closed, "FORWARD")
    assert client.test_compatibility(closed, Schema(closed_v1, "JSON"))


def test_rest_api_answers_as_confluent(broker, client):
    subject = unique("api")
    # A schema no other test registers: the same schema in two subjects shares one id.
    USER_V1 = record("ApiUser", [{"name": "id", "type": "int"}, {"name": "name", "type": "string"}])
    USER_V2 = record("ApiUser", [{"name": "id", "type": "int"}, {"name": "name", "type": "string"},
                                 {"name": "email", "type": ["null", "string"], "default": None}])
    r = rest(broker, "POST", f"/subjects/{subject}/versions", {"schema": USER_V1})
    assert r.status_code == 200 and r.headers["Content-Type"] == CONTENT_TYPE
    schema_id = r.json()["id"]
    # Re-registering the same schema, laid out differently, answers with the same id.
    spaced = json.dumps(json.loads(USER_V1), indent=4)
    assert rest(broker, "POST", f"/subjects/{subject}/versions", {"schema": spaced}).json() == {"id": schema_id}
    assert subject in rest(broker, "GET", "/subjects").json()
    assert rest(broker, "GET", f"/subjects/{subject}/versions").json() == [1]
    version = rest(broker, "GET", f"/subjects/{subject}/versions/latest").json()
    assert (version["subject"], version["version"], version["id"]) == (subject, 1, schema_id)
    assert "schemaType" not in version, "Avro leaves schemaType out, as Confluent does"
    assert json.loads(rest(broker, "GET", f"/subjects/{subject}/versions/1/schema").text) == json.loads(USER_V1)
    assert json.loads(rest(broker, "GET", f"/schemas/ids/{schema_id}").json()["schema"]) == json.loads(USER_V1)
    assert rest(broker, "GET", f"/schemas/ids/{schema_id}/subjects").json() == [subject]
    assert rest(broker, "GET", f"/schemas/ids/{schema_id}/versions").json() == [{"subject": subject, "version": 1}]
    assert sorted(rest(broker, "GET", "/schemas/types").json()) == ["AVRO", "JSON", "PROTOBUF"]
    found = rest(broker, "POST", f"/subjects/{subject}", {"schema": USER_V1}).json()
    assert (found["version"], found["id"]) == (1, schema_id)
    assert rest(broker, "GET", "/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert rest(broker, "GET", "/mode").json() == {"mode": "READWRITE"}

    verbose = rest(broker, "POST", f"/compatibility/subjects/{subject}/versions/latest?verbose=true",
                   {"schema": record("ApiUser", [{"name": "id", "type": "string"}])}).json()
    assert verbose["is_compatible"] is False
    assert any("TYPE_MISMATCH" in m for m in verbose["messages"]), verbose
    assert rest(broker, "POST", f"/compatibility/subjects/{subject}/versions/1",
                {"schema": USER_V2}).json() == {"is_compatible": True}

    def error(method, path, body=None):
        r = rest(broker, method, path, body)
        return r.status_code, r.json()["error_code"], r.json()["message"]

    assert error("GET", "/subjects/nope/versions") == (404, 40401, "Subject 'nope' not found.")
    assert error("GET", f"/subjects/{subject}/versions/7") == (404, 40402, "Version 7 not found.")
    assert error("GET", "/schemas/ids/987654") == (404, 40403, "Schema 987654 not found")
    assert error("POST", f"/subjects/{subject}", {"schema": json.dumps("bytes")})[:2] == (404, 40403)
    assert error("GET", f"/subjects/{subject}/versions/zero")[:2] == (422, 42202)
    assert error("PUT", "/config", {"compatibility": "SIDEWAYS"})[:2] == (422, 42203)
    assert error("PUT", "/mode", {"mode": "SOMETIMES"})[:2] == (422, 42204)
    assert error("GET", f"/config/{subject}")[:2] == (404, 40408)
    assert rest(broker, "GET", f"/config/{subject}?defaultToGlobal=true").json() == {"compatibilityLevel": "BACKWARD"}

    # Soft delete, seen with ?deleted=true, then permanent delete.
    assert error("DELETE", f"/subjects/{subject}?permanent=true")[:2] == (404, 40405)
    assert rest(broker, "DELETE", f"/subjects/{subject}").json() == [1]
    assert subject not in rest(broker, "GET", "/subjects").json()
    assert subject in rest(broker, "GET", "/subjects?deleted=true").json()
    assert rest(broker, "GET", f"/subjects/{subject}/versions?deleted=true").json() == [1]
    assert error("GET", f"/subjects/{subject}/versions")[:2] == (404, 40401)
    assert error("DELETE", f"/subjects/{subject}")[:2] == (404, 40404)
    assert rest(broker, "GET", f"/schemas/ids/{schema_id}").status_code == 200, "soft-deleted ids still resolve"
    assert rest(broker, "DELETE", f"/subjects/{subject}?permanent=true").json() == [1]
    assert error("GET", f"/subjects/{subject}/versions?deleted=true")[:2] == (404, 40401)


def test_references_between_subjects(broker, client):
    address_subject, order_subject = unique("address"), unique("order")
    address = record("Address", [{"name": "city", "type": "string"}])
    client.register_schema(address_subject, Schema(address, "AVRO"))
    order = record("Order", [{"name": "id", "type": "int"}, {"name": "to", "type": "acme.Address"}])
    refs = [SchemaReference("acme.Address", address_subject, 1)]
    order_id = client.register_schema(order_subject, Schema(order, "AVRO", refs))
    fetched = client.get_schema(order_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [("acme.Address", address_subject, 1)]
    assert client.get_referenced_by(address_subject, 1) == [order_id]
    with pytest.raises(SchemaRegistryError) as refused:
        client.delete_version(address_subject, 1)
    assert refused.value.error_code == 42206
    # A reference to a version that does not exist makes the schema invalid.
    with pytest.raises(SchemaRegistryError) as invalid:
        client.register_schema(unique("o"), Schema(order, "AVRO", [SchemaReference("acme.Address", address_subject, 5)]))
    assert invalid.value.error_code == 42201


def test_modes(broker, client):
    subject = unique("mode")
    client.register_schema(subject, Schema(V_A, "AVRO"))
    assert client.update_mode(subject, "READONLY") == "READONLY"
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, Schema(V_AB_DEFAULT, "AVRO"))
    assert (refused.value.http_status_code, refused.value.error_code) == (422, 42205)
    assert client.delete_mode(subject) == "READONLY"
    client.register_schema(subject, Schema(V_AB_DEFAULT, "AVRO"))


def test_bad_input_gets_the_registry_errors(broker):
    r = rest(broker, "POST", "/subjects/bad/versions", {"schema": '{"type": "record", "name": "X"}'})
    assert (r.status_code, r.json()["error_code"]) == (422, 42201)
    assert r.json()["message"].startswith("Invalid schema")
    r = rest(broker, "POST", "/subjects/bad/versions", {"schema": "{not json"})
    assert r.json()["error_code"] == 42201
    r = rest(broker, "POST", "/subjects/bad/versions", {"schema": "{}", "schemaType": "XML"})
    assert r.json()["error_code"] == 42201
    r = rest(broker, "POST", "/subjects/bad/versions", data='{"schema": ', headers={"Content-Type": CONTENT_TYPE})
    assert (r.status_code, r.json()["error_code"]) == (400, 400)
    r = rest(broker, "POST", "/subjects/bad/versions", data=json.dumps({"schema": '"string"'}),
             headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()["error_code"]) == (415, 415)
    huge = json.dumps({"schema": json.dumps({"type": "enum", "name": "E", "symbols": ["S"], "doc": "x" * (17 << 20)})})
    r = rest(broker, "POST", "/subjects/bad/versions", data=huge, headers={"Content-Type": CONTENT_TYPE})
    assert (r.status_code, r.json()["error_code"]) == (413, 413)
    r = rest(broker, "GET", "/no/such/route")
    assert (r.status_code, r.json()["error_code"]) == (404, 404)
    # The registry still answers after all of that, and registered nothing.
    assert rest(broker, "GET", "/subjects/bad/versions").json()["error_code"] == 40401
    assert rest(broker, "POST", "/subjects/good/versions", {"schema": '"string"'}).status_code == 200


def test_ids_survive_restart_and_kill(make_broker):
    b = make_broker()
    client = SchemaRegistryClient({"url": b.registry_url})
    ids = {s: client.register_schema(s, Schema(text, "AVRO"))
           for s, text in [("r-1", V_A), ("r-2", json.dumps("string")), ("r-3", USER_V1)]}
    client.delete_subject("r-2")
    client.set_compatibility(None, "FULL")
    b.restart()
    client = SchemaRegistryClient({"url": b.registry_url})
    for subject, schema_id in ids.items():
        assert rest(b, "GET", f"/subjects/{subject}/versions/1?deleted=true").json()["id"] == schema_id
        assert rest(b, "GET", f"/schemas/ids/{schema_id}").status_code == 200
    assert "r-2" not in client.get_subjects()
    assert client.get_compatibility() == "FULL"
    after_restart = client.register_schema("r-4", Schema(json.dumps("int"), "AVRO"))
    assert after_restart == max(ids.values()) + 1
    # An id answered is durable: it is there after kill -9.
    b.kill()
    b.start()
    client = SchemaRegistryClient({"url": b.registry_url})
    assert client.get_latest_version("r-4").schema_id == after_restart
    assert client.register_schema("r-5", Schema(json.dumps("long"), "AVRO")) == after_restart + 1
    # Registering an existing schema again after the restarts gives its old id.
    assert client.register_schema("r-3", Schema(USER_V1, "AVRO")) == ids["r-3"]


def produce_outcomes(broker, topic, values):
    """Each value's delivery error (None when stored)."""
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    outcomes = {}
    for i, value in enumerate(values):
        producer.produce(topic, value=value, on_delivery=lambda err, msg, i=i: outcomes.__setitem__(i, err))
        # One batch per record: each outcome is that record's own.
        assert producer.flush(30) == 0
    return [outcomes[i] for i in range(len(values))]


def test_broker_side_validation_refuses_records_without_a_registered_id(broker, client):
    topic = unique("validated")
    create_topic(broker, topic, {"confluent.value.schema.validation": "true"})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    described = admin.describe_configs([resource])[resource].result(timeout=30)
    assert described["confluent.value.schema.validation"].value == "true"
    assert described["confluent.key.schema.validation"].value == "false"

    ctx = SerializationContext(topic, MessageField.VALUE)
    good = AvroSerializer(client, USER_V1)({"id": 1, "name": "ok"}, ctx)
    other_id = client.register_schema(unique("elsewhere"), Schema(record("Other", [{"name": "x", "type": "long"}]), "AVRO"))
    foreign = b"\x00" + other_id.to_bytes(4, "big") + b"\x02"
    outcomes = produce_outcomes(broker, topic, [good, b"plain bytes", foreign, b"\x00\x00\x00"])
    assert outcomes[0] is None
    for err in outcomes[1:]:
        assert err is not None and err.code() == KafkaError.INVALID_RECORD, err
    # Only the valid record was stored; it reads back through the deserializer.
    watermarks = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique("w")})
    assert watermarks.get_watermark_offsets(TopicPartition(topic, 0), timeout=30) == (0, 1)
    watermarks.close()
    assert consume(broker, topic, 1, AvroDeserializer(client)) == [{"id": 1, "name": "ok"}]
    # A topic without the setting takes anything.
    plain = unique("unvalidated")
    create_topic(broker, plain)
    assert produce_outcomes(broker, plain, [b"plain bytes"]) == [None]
