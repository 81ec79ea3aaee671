//! `application/vnd.amazon.eventstream` framing, as SubscribeToShard answers: each
//! message is a prelude (total length, headers length, CRC32 of those eight bytes),
//! typed headers, the payload, and a CRC32 of everything before it.

use bytes::{BufMut, Bytes, BytesMut};

/// Header value type 7: a UTF-8 string with a 16-bit length.
const STRING: u8 = 7;

/// One event whose payload is AWS JSON 1.1.
pub fn event(event_type: &str, payload: &[u8]) -> Bytes {
    message(
        &[(":message-type", "event"), (":event-type", event_type), (":content-type", "application/x-amz-json-1.1")],
        payload,
    )
}

/// An error ending the stream, as AWS reports failures after the response began.
pub fn exception(kind: &str, message_text: &str) -> Bytes {
    let payload = serde_json::json!({ "message": message_text }).to_string();
    message(
        &[(":message-type", "exception"), (":exception-type", kind), (":content-type", "application/x-amz-json-1.1")],
        payload.as_bytes(),
    )
}

fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded = BytesMut::new();
    for (name, value) in headers {
        encoded.put_u8(name.len() as u8);
        encoded.put_slice(name.as_bytes());
        encoded.put_u8(STRING);
        encoded.put_u16(value.len() as u16);
        encoded.put_slice(value.as_bytes());
    }
    let total = 12 + encoded.len() + payload.len() + 4;
    let mut out = BytesMut::with_capacity(total);
    out.put_u32(total as u32);
    out.put_u32(encoded.len() as u32);
    out.put_u32(crc32fast::hash(&out[..8]));
    out.put_slice(&encoded);
    out.put_slice(payload);
    out.put_u32(crc32fast::hash(&out));
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_lengths_headers_and_checksums() {
        let m = event("initial-response", b"{}");
        let total = u32::from_be_bytes(m[0..4].try_into().unwrap()) as usize;
        let headers = u32::from_be_bytes(m[4..8].try_into().unwrap()) as usize;
        assert_eq!(total, m.len());
        assert_eq!(u32::from_be_bytes(m[8..12].try_into().unwrap()), crc32fast::hash(&m[..8]));
        assert_eq!(&m[12 + headers..total - 4], b"{}");
        assert_eq!(u32::from_be_bytes(m[total - 4..].try_into().unwrap()), crc32fast::hash(&m[..total - 4]));
        assert_eq!(m[12] as usize, ":message-type".len());
    }
}
