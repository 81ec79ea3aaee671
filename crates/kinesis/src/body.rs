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
    /// An AWS JSON 1.1 body: an object, or nothing at all (taken as `{}`).
    pub fn json(bytes: Bytes) -> Result<RequestBody, KinesisError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            None => Ok(RequestBody::Json(Bytes::from_static(b"{}"))),
            Some(b'{') => Ok(RequestBody::Json(bytes)),
            Some(_) => Err(KinesisError::serialization("the request body must be a JSON object")),
        }
    }

    pub fn cbor(bytes: &[u8]) -> Result<RequestBody, KinesisError> {
        cbor::decode(bytes).map(RequestBody::Tree)
    }

    /// Typed input; malformed JSON, a wrong type or a missing required member is a
    /// SerializationException.
    pub fn input<'a, T: Deserialize<'a>>(&'a self) -> Result<T, KinesisError> {
        match self {
            RequestBody::Json(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                if e.is_syntax() || e.is_eof() {
                    KinesisError::serialization(format!("malformed JSON: {e}"))
                } else {
                    KinesisError::serialization(e.to_string())
                }
            }),
            RequestBody::Tree(value) => T::deserialize(value).map_err(|e| KinesisError::serialization(e.to_string())),
        }
    }

    /// Checks the body is well formed, for operations that take no input.
    pub fn ignore(&self) -> Result<(), KinesisError> {
        self.input::<serde::de::IgnoredAny>().map(|_| ())
    }
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
    fn an_empty_body_is_an_empty_object() {
        let body = RequestBody::json(Bytes::from_static(b" \n")).unwrap();
        assert!(body.input::<Input>().is_err(), "data is required");
        body.ignore().unwrap();
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
            RequestBody::json(Bytes::from_static(b"{not json")).unwrap().ignore().unwrap_err().kind,
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
