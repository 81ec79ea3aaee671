//! What AWS's Kinesis endpoint answers before any operation runs: CORS (browser SDKs send
//! a preflight OPTIONS with an `Origin`), methods other than POST, content types it does
//! not speak, empty bodies and unknown targets. Each answer here is AWS's own, as
//! recorded by kinesalite's tests against AWS.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::answer::Answer;
use crate::cbor;

pub const JSON: &str = "application/x-amz-json-1.1";
pub const CBOR: &str = "application/x-amz-cbor-1.1";
/// Plain JSON: AWS reads it, then answers with Coral's envelope and HTTP 200.
const PLAIN_JSON: &str = "application/json";
const EXPOSED_HEADERS: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date";
/// How long a browser may cache a preflight answer: AWS's two days.
const PREFLIGHT_MAX_AGE_S: &str = "172800";

/// The body encoding of a request, which its answer uses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Cbor,
}

impl Encoding {
    pub fn respond(self, status: StatusCode, answer: Answer) -> Response {
        let (content_type, bytes) = match self {
            Encoding::Json => (JSON, answer.to_json()),
            Encoding::Cbor => (CBOR, cbor::encode(&answer.into_tree())),
        };
        let mut response = (status, bytes).into_response();
        response.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
        response
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The media type of `Content-Type`, without parameters.
fn content_type(headers: &HeaderMap) -> &str {
    header(headers, "content-type").unwrap_or_default().split(';').next().unwrap_or_default().trim()
}

/// A request the endpoint answers itself, or the operation and encoding it goes on with.
pub enum Admission<'a> {
    Answered(Response),
    Operation { name: &'a str, encoding: Encoding },
}

/// An XML error, as AWS's front door answers requests it cannot route.
fn xml(status: StatusCode, kind: &str, message: Option<&str>) -> Response {
    let body = match message {
        Some(m) => format!("<{kind}>\n  <Message>{m}</Message>\n</{kind}>\n"),
        None => format!("<{kind}/>\n"),
    };
    (status, body).into_response()
}

fn envelope(kind: &str, message_key: &str) -> Response {
    let body = json!({ "Output": { "__type": format!("com.amazon.coral.service#{kind}"), message_key: null }, "Version": "1.0" });
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static(PLAIN_JSON));
    response
}

/// Decides what happens to a request before its operation: `known` says whether an
/// operation name is one this endpoint has.
pub fn admit<'a>(
    method: &Method,
    headers: &HeaderMap,
    target: &'a str,
    body: &Bytes,
    known: impl Fn(&str) -> bool,
) -> Admission<'a> {
    let (service, operation) = target.split_once('.').unwrap_or((target, ""));
    let routable = service == "Kinesis_20131202" && known(operation);
    if *method == Method::OPTIONS && headers.contains_key("origin") {
        return Admission::Answered(preflight(headers));
    }
    if *method != Method::POST {
        let message = "Unable to determine service/operation name to be authorized";
        return Admission::Answered(xml(StatusCode::FORBIDDEN, "AccessDeniedException", Some(message)));
    }
    let kind = content_type(headers);
    let encoding = match kind {
        JSON | PLAIN_JSON => Encoding::Json,
        k if k.starts_with("application/x-amz-cbor") => Encoding::Cbor,
        _ if body.is_empty() => Encoding::Cbor,
        _ if service.is_empty() || operation.is_empty() => {
            let message = "Unable to determine service/operation name to be authorized";
            return Admission::Answered(xml(StatusCode::FORBIDDEN, "AccessDeniedException", Some(message)));
        }
        _ => return Admission::Answered(xml(StatusCode::NOT_FOUND, "UnknownOperationException", None)),
    };
    let refuse = |encoding: Encoding, kind: &str| {
        Admission::Answered(encoding.respond(StatusCode::BAD_REQUEST, Answer::Tree(json!({ "__type": kind }))))
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        let encoding = if kind == JSON { Encoding::Json } else { Encoding::Cbor };
        return refuse(encoding, if routable { "SerializationException" } else { "UnknownOperationException" });
    }
    if kind == PLAIN_JSON {
        let object = serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object());
        return Admission::Answered(if object {
            envelope("UnknownOperationException", "message")
        } else {
            envelope("SerializationException", "Message")
        });
    }
    if !routable {
        return refuse(encoding, "UnknownOperationException");
    }
    Admission::Operation { name: operation, encoding }
}

/// The answer to a CORS preflight: whatever the browser asks for is allowed.
fn preflight(headers: &HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    for (asked, allowed) in [
        ("access-control-request-headers", "access-control-allow-headers"),
        ("access-control-request-method", "access-control-allow-methods"),
    ] {
        if let Some(v) = headers.get(asked) {
            h.insert(allowed, v.clone());
        }
    }
    h.insert("access-control-max-age", HeaderValue::from_static(PREFLIGHT_MAX_AGE_S));
    response
}

/// Headers every answer carries: the request id, and for a browser's request the CORS
/// headers that let it read the answer.
pub fn finish(mut response: Response, request: &HeaderMap, request_id: &str) -> Response {
    let h = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", id);
    }
    if request.contains_key("origin") {
        h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        if !h.contains_key("access-control-max-age") {
            h.insert("access-control-expose-headers", HeaderValue::from_static(EXPOSED_HEADERS));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v))).collect()
    }

    fn status(a: Admission<'_>) -> Option<StatusCode> {
        match a {
            Admission::Answered(r) => Some(r.status()),
            Admission::Operation { .. } => None,
        }
    }

    #[test]
    fn the_front_door_answers_as_aws() {
        let any = |_: &str| true;
        let json = headers(&[("content-type", JSON)]);
        let body = Bytes::from_static(b"{}");
        let target = "Kinesis_20131202.ListStreams";
        assert_eq!(status(admit(&Method::GET, &json, target, &body, any)), Some(StatusCode::FORBIDDEN));
        let preflight = headers(&[("origin", "http://x"), ("access-control-request-method", "POST")]);
        assert_eq!(status(admit(&Method::OPTIONS, &preflight, target, &body, any)), Some(StatusCode::OK));
        assert_eq!(status(admit(&Method::POST, &headers(&[]), target, &body, any)), Some(StatusCode::NOT_FOUND));
        assert_eq!(status(admit(&Method::POST, &json, target, &Bytes::new(), any)), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            status(admit(&Method::POST, &json, "Kinesis_20131202.Nope", &body, |_| false)),
            Some(StatusCode::BAD_REQUEST)
        );
        let plain = headers(&[("content-type", "application/json")]);
        assert_eq!(status(admit(&Method::POST, &plain, target, &body, any)), Some(StatusCode::OK));
        assert!(matches!(
            admit(&Method::POST, &json, target, &body, any),
            Admission::Operation { name: "ListStreams", .. }
        ));
    }
}
