//! AWS CBOR 1.1 (`application/x-amz-cbor-1.1`), which the AWS Java SDKs send by default:
//! the same members as AWS JSON 1.1, but blobs are CBOR byte strings and timestamps are
//! epoch milliseconds. Operations work on the JSON form; this module converts at the edge.

use base64_simd::STANDARD;
use ciborium::Value as Cbor;
use serde_json::{Number, Value as Json};

use crate::error::KinesisError;

/// Members that carry blobs (base64 strings in JSON).
const BLOB_MEMBERS: &[&str] = &["Data"];

fn is_timestamp(member: &str) -> bool {
    member == "Timestamp" || member.ends_with("Timestamp")
}

pub fn decode(body: &[u8]) -> Result<Json, KinesisError> {
    if body.is_empty() {
        return Ok(Json::Object(Default::default()));
    }
    let value: Cbor =
        ciborium::from_reader(body).map_err(|e| KinesisError::serialization(format!("malformed CBOR: {e}")))?;
    match to_json(value, None)? {
        v @ Json::Object(_) => Ok(v),
        _ => Err(KinesisError::serialization("the request body must be a CBOR map")),
    }
}

pub fn encode(value: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = ciborium::into_writer(&to_cbor(value, None), &mut out);
    out
}

fn number(n: f64) -> Result<Json, KinesisError> {
    Number::from_f64(n).map(Json::Number).ok_or_else(|| KinesisError::serialization("a number is not finite"))
}

fn to_json(value: Cbor, member: Option<&str>) -> Result<Json, KinesisError> {
    let timestamp = member.is_some_and(is_timestamp);
    Ok(match value {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(b),
        // Epoch seconds per RFC 8949 (tag 1), whatever the member.
        Cbor::Tag(1, inner) => match *inner {
            Cbor::Integer(i) => number(i128::from(i) as f64)?,
            Cbor::Float(f) => number(f)?,
            _ => return Err(KinesisError::serialization("tag 1 must hold a number")),
        },
        Cbor::Tag(_, inner) => to_json(*inner, member)?,
        Cbor::Integer(i) => {
            let i = i128::from(i);
            if timestamp {
                number(i as f64 / 1000.0)?
            } else {
                let i = i64::try_from(i).map_err(|_| KinesisError::serialization("an integer is out of range"))?;
                Json::Number(i.into())
            }
        }
        Cbor::Float(f) if timestamp => number(f / 1000.0)?,
        Cbor::Float(f) => number(f)?,
        Cbor::Text(t) => Json::String(t),
        Cbor::Bytes(b) => Json::String(STANDARD.encode_to_string(b)),
        Cbor::Array(items) => Json::Array(items.into_iter().map(|v| to_json(v, None)).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut out = serde_json::Map::new();
            for (k, v) in entries {
                let Cbor::Text(key) = k else {
                    return Err(KinesisError::serialization("map keys must be text"));
                };
                let v = to_json(v, Some(&key))?;
                out.insert(key, v);
            }
            Json::Object(out)
        }
        _ => return Err(KinesisError::serialization("unsupported CBOR value")),
    })
}

fn to_cbor(value: &Json, member: Option<&str>) -> Cbor {
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(n) if member.is_some_and(is_timestamp) => {
            Cbor::Integer(((n.as_f64().unwrap_or(0.0) * 1000.0).round() as i64).into())
        }
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cbor::Integer(i.into()),
            (None, Some(u)) => Cbor::Integer(u.into()),
            _ => Cbor::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) if member.is_some_and(|m| BLOB_MEMBERS.contains(&m)) => match STANDARD.decode_to_vec(s) {
            Ok(bytes) => Cbor::Bytes(bytes),
            Err(_) => Cbor::Text(s.clone()),
        },
        Json::String(s) => Cbor::Text(s.clone()),
        Json::Array(items) => Cbor::Array(items.iter().map(|v| to_cbor(v, None)).collect()),
        Json::Object(map) => Cbor::Map(map.iter().map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(v, Some(k)))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_and_timestamps_convert_both_ways() {
        let request = Cbor::Map(vec![
            (Cbor::Text("Data".into()), Cbor::Bytes(b"hi".to_vec())),
            (Cbor::Text("Timestamp".into()), Cbor::Integer(1_500_000_000_123i64.into())),
            (Cbor::Text("Limit".into()), Cbor::Integer(7.into())),
        ]);
        let mut body = Vec::new();
        ciborium::into_writer(&request, &mut body).unwrap();
        let json = decode(&body).unwrap();
        assert_eq!(json["Data"], "aGk=");
        assert_eq!(json["Timestamp"].as_f64().unwrap(), 1_500_000_000.123);
        assert_eq!(json["Limit"], 7);

        let response = serde_json::json!({ "Records": [{ "Data": "aGk=", "ApproximateArrivalTimestamp": 1.5 }] });
        let back: Cbor = ciborium::from_reader(&encode(&response)[..]).unwrap();
        let record = &back.as_map().unwrap()[0].1.as_array().unwrap()[0];
        let fields = record.as_map().unwrap();
        assert!(fields.iter().any(|(k, v)| k.as_text() == Some("Data") && v.as_bytes() == Some(&b"hi".to_vec())));
        assert!(fields
            .iter()
            .any(|(k, v)| k.as_text() == Some("ApproximateArrivalTimestamp") && v.as_integer() == Some(1500.into())));
    }

    #[test]
    fn garbage_is_a_serialization_error() {
        assert_eq!(decode(&[0xff, 0x00]).unwrap_err().kind, "SerializationException");
        assert_eq!(decode(&[0x01]).unwrap_err().kind, "SerializationException");
    }
}
