//! A request body in its encoding, typed by the operation that knows its input type.
//!
//! JSON is read straight into that type, borrowing long strings (PutRecords' base64 data)
//! from the body: building a `serde_json::Value` first and typing that was a sixth of
//! PutRecords' CPU in a broker profile. CBOR arrives as a tree and is typed from it.

use axum::body::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::cbor;
use crate::error::KinesisError;

pub enum RequestBody {
    Json(Bytes),
    Tree(Value),
}

impl RequestBody {
    /// An AWS JSON 1.1 body: an object. AWS answers a body that is empty or not an object
    /// with a bare SerializationException (no message).
    pub fn json(bytes: Bytes) -> Result<RequestBody, KinesisError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Ok(RequestBody::Json(bytes)),
            _ => Err(KinesisError::serialization("")),
        }
    }

    pub fn cbor(bytes: &[u8]) -> Result<RequestBody, KinesisError> {
        cbor::decode(bytes).map(RequestBody::Tree)
    }

    /// Typed input read straight from the body (PutRecords); malformed JSON or a wrong
    /// type is a SerializationException, which `spec` words as AWS does.
    pub fn input<'a, T: Deserialize<'a>>(&'a self) -> Result<T, KinesisError> {
        match self {
            RequestBody::Json(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                if e.is_syntax() || e.is_eof() {
                    KinesisError::serialization("")
                } else {
                    KinesisError::serialization(e.to_string())
                }
            }),
            RequestBody::Tree(value) => typed(value),
        }
    }

    /// The body as a JSON tree, which `spec` checks before the operation types it.
    pub fn tree(&self) -> Result<Value, KinesisError> {
        match self {
            RequestBody::Json(bytes) => serde_json::from_slice(bytes).map_err(|_| KinesisError::serialization("")),
            RequestBody::Tree(value) => Ok(value.clone()),
        }
    }
}

/// Typed input from a checked tree; strings are borrowed from it.
pub fn typed<'a, T: Deserialize<'a>>(tree: &'a Value) -> Result<T, KinesisError> {
    T::deserialize(tree).map_err(|e| KinesisError::serialization(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[derive(Deserialize)]
    struct Input<'a> {
        #[serde(borrow)]
        data: Cow<'a, str>,
        count: Option<i64>,
    }

    #[test]
    fn json_is_typed_borrowing_plain_strings() {
        let body = RequestBody::json(Bytes::from_static(br#" {"data": "aGVsbG8=", "count": 3}"#)).unwrap();
        let input: Input = body.input().unwrap();
        assert!(matches!(input.data, Cow::Borrowed("aGVsbG8=")));
        assert_eq!(input.count, Some(3));
        // An escaped string cannot be borrowed; it is still read.
        let body = RequestBody::json(Bytes::from_static(br#"{"data": "a\/b"}"#)).unwrap();
        assert_eq!(body.input::<Input>().unwrap().data, "a/b");
    }

    #[test]
    fn an_empty_body_is_a_serialization_error() {
        let e = RequestBody::json(Bytes::from_static(b" \n")).err().unwrap();
        assert_eq!((e.kind, e.message.as_str()), ("SerializationException", ""));
        RequestBody::json(Bytes::from_static(b"{}")).unwrap().tree().unwrap();
    }

    #[test]
    fn bad_bodies_are_serialization_errors() {
        for text in [&b"[1, 2]"[..], b"\"x\"", b"7"] {
            assert_eq!(RequestBody::json(Bytes::from_static(text)).err().unwrap().kind, "SerializationException");
        }
        for text in [&br#"{"data": 5}"#[..], b"{not json", br#"{"data": "x""#, br#"{"count": 1}"#] {
            let body = RequestBody::json(Bytes::from_static(text)).unwrap();
            assert_eq!(body.input::<Input>().err().unwrap().kind, "SerializationException", "{text:?}");
        }
        assert_eq!(
            RequestBody::json(Bytes::from_static(b"{not json")).unwrap().tree().unwrap_err().kind,
            "SerializationException"
        );
    }

    #[test]
    fn cbor_is_typed_from_its_tree() {
        let body = RequestBody::Tree(serde_json::json!({ "data": "eA==", "count": 1 }));
        let input: Input = body.input().unwrap();
        assert_eq!((input.data.as_ref(), input.count), ("eA==", Some(1)));
    }
}
