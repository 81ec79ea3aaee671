//! What goes over HTTP besides the routes: request bodies (content type, size limit,
//! JSON), answers in `application/vnd.schemaregistry.v1+json`, and errors as Confluent's
//! `{"error_code": ..., "message": ...}`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::RegistryError;

pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// Request bodies Confluent's REST layer takes; parameters (`; charset=...`) aside.
const ACCEPTED_TYPES: [&str; 4] = [
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];
/// Bodies above this are refused before parsing; schemas are far smaller.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// An answer: `value` as JSON with the registry's content type.
pub fn answer<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(StatusCode::OK, body),
        Err(e) => RegistryError::Store(format!("cannot write the answer: {e}")).into_response(),
    }
}

/// An answer whose body is already JSON text (a schema as stored).
pub fn answer_raw(text: String) -> Response {
    with_type(StatusCode::OK, text.into_bytes())
}

fn with_type(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, Body::from(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u32,
    message: &'a str,
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %self, "schema registry request failed");
        }
        let message = self.to_string();
        let body = serde_json::to_vec(&ErrorBody { error_code: self.error_code(), message: &message })
            .unwrap_or_else(|_| b"{}".to_vec());
        with_type(status, body)
    }
}

/// A JSON request body of a content type the registry takes.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = RegistryError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            let essence = content_type.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim();
            if !ACCEPTED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(essence)) {
                return Err(RegistryError::BadRequest(415, "HTTP 415 Unsupported Media Type".into()));
            }
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| RegistryError::BadRequest(413, format!("request body larger than {MAX_BODY_BYTES} bytes")))?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => RegistryError::BadRequest(422, format!("Unrecognized request: {e}")),
            _ => RegistryError::BadRequest(400, format!("Unexpected character in the request body: {e}")),
        })
    }
}

/// A query flag such as `?deleted=true`.
pub fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

pub async fn not_found() -> Response {
    RegistryError::BadRequest(404, "HTTP 404 Not Found".into()).into_response()
}

pub async fn method_not_allowed() -> Response {
    RegistryError::BadRequest(405, "HTTP 405 Method Not Allowed".into()).into_response()
}
