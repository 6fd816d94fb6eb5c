//! Graph's error responses:
//!
//! ```json
//! { "error": { "code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again.",
//!     "innerError": { "date": "2025-01-31T13:45:00", "request-id": "…", "client-request-id": "…" } } }
//! ```
//!
//! The `code` says which workload refused: directory objects speak `Authorization_*` and
//! `Request_*`, Outlook (mail, calendar, mailbox settings) `Error*`, OneDrive lower camel case
//! (`accessDenied`, `itemNotFound`), the search service plain HTTP words (`BadRequest`,
//! `Forbidden`). The `innerError` ids are the same as the response's
//! `request-id` and `client-request-id` headers, which only the middleware knows, so a handler's
//! [`GraphError`] becomes a response carrying the error as an extension, and
//! [`with_request_ids`] writes the body once the ids are known.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::datetime::{iso8601, now_seconds};

/// Which Graph workload owns a resource, and so how its refusals read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Directory,
    Outlook,
    Drive,
    /// The Microsoft Search API.
    Search,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    www_authenticate: Option<String>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            www_authenticate: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 `InvalidAuthenticationToken`, with the challenge Graph sends.
    pub fn unauthenticated(message: &str, authority: &str) -> Self {
        Self {
            www_authenticate: Some(format!(
                "Bearer realm=\"\", authorization_uri=\"{authority}/common/oauth2/authorize\", \
                 client_id=\"00000003-0000-0000-c000-000000000000\""
            )),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                message,
            )
        }
    }

    /// 403: the token lacks the permission `workload` needs.
    pub fn denied(workload: Workload) -> Self {
        match workload {
            Workload::Directory => Self::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            Workload::Outlook => Self::new(
                StatusCode::FORBIDDEN,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
            Workload::Drive => Self::new(StatusCode::FORBIDDEN, "accessDenied", "Access denied"),
            Workload::Search => Self::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Access to the requested entity type is denied: the token lacks its permission.",
            ),
        }
    }

    /// A `$select` naming a property the type does not have.
    pub fn unknown_property(workload: Workload, property: &str, type_name: &str) -> Self {
        let code = match workload {
            Workload::Directory => "Request_BadRequest",
            Workload::Outlook => "RequestBroker--ParseUri",
            Workload::Drive => "invalidRequest",
            Workload::Search => "BadRequest",
        };
        Self::bad_request(
            code,
            format!("Could not find a property named '{property}' on type '{type_name}'."),
        )
    }

    /// The answer for a path the devstack's Graph does not serve.
    pub fn unknown_segment(segment: &str) -> Self {
        Self::bad_request(
            "BadRequest",
            format!(
                "Resource not found for the segment '{segment}'. (The devstack's Graph serves \
                 only the endpoints listed in devstack/src/graph/mod.rs.)"
            ),
        )
    }
}

/// The error a response stands for, until the middleware renders it.
#[derive(Debug, Clone)]
struct Pending {
    code: &'static str,
    message: String,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(challenge) = self.www_authenticate {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_str(&challenge).expect("the challenge is ASCII"),
            );
        }
        response.extensions_mut().insert(Pending {
            code: self.code,
            message: self.message,
        });
        response
    }
}

/// Writes the body of an error response (if `response` is one) now that the ids are known.
pub fn with_request_ids(
    response: Response,
    request_id: &str,
    client_request_id: Option<&str>,
) -> Response {
    let Some(pending) = response.extensions().get::<Pending>().cloned() else {
        return response;
    };
    let (parts, _) = response.into_parts();
    let date = iso8601(now_seconds());
    let body = Json(json!({
        "error": {
            "code": pending.code,
            "message": pending.message,
            "innerError": {
                "date": date.trim_end_matches('Z'),
                "request-id": request_id,
                "client-request-id": client_request_id.unwrap_or(request_id),
            }
        }
    }));
    (parts.status, parts.headers, body).into_response()
}
