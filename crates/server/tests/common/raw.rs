//! Raw Kafka frames over plain TCP, for tests that must send what no client library
//! would: mutated requests, lying lengths, frames cut short.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request frame, length prefix included.
pub fn frame<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, request: &R) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("raw-test")));
    let mut body = BytesMut::new();
    header.encode(&mut body, key.request_header_version(version)).expect("header encodes");
    request.encode(&mut body, version).expect("request encodes");
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Reads one response frame within `wait`; `None` when the server closed the connection
/// or said nothing in time.
pub async fn read_frame(stream: &mut TcpStream, wait: Duration) -> Option<Bytes> {
    tokio::time::timeout(wait, async {
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await.ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).await.ok()?;
        Some(Bytes::from(body))
    })
    .await
    .ok()
    .flatten()
}

/// ApiVersions v3 on `stream`: true when it is answered without error within `wait`.
pub async fn api_versions_answered(stream: &mut TcpStream, wait: Duration) -> bool {
    let request = frame(ApiKey::ApiVersions, 3, 7, &ApiVersionsRequest::default());
    if stream.write_all(&request).await.is_err() {
        return false;
    }
    let Some(mut body) = read_frame(stream, wait).await else { return false };
    let Ok(header) = ResponseHeader::decode(&mut body, ApiKey::ApiVersions.response_header_version(3)) else {
        return false;
    };
    let answered = ApiVersionsResponse::decode(&mut body, 3).map(|r| r.error_code == 0).unwrap_or(false);
    header.correlation_id == 7 && answered
}

/// True once the server has closed `stream` (a read returns end of file or an error)
/// within `wait`.
pub async fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(wait, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}
