//! Entra's error responses.
//!
//! Every Entra failure carries an OAuth `error` code (`invalid_scope`, `invalid_grant`, …) and
//! an AADSTS number that says precisely what went wrong; people search for the number, so the
//! devstack uses Entra's numbers. The description ends with a trace id, a correlation id and a
//! timestamp, which support asks for.
//!
//! Where the error is delivered depends on how far the request got. The token endpoint answers
//! JSON. The authorization endpoint redirects the browser back to the client with `error` and
//! `error_description` in the query, but only once it trusts the redirect URI (a registered
//! client and a registered redirect URI); before that it shows an error page, because
//! redirecting to an unverified URI would make Entra an open redirector.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::json;
use url::Url;

use crate::datetime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    pub status: StatusCode,
    /// The OAuth error code.
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    pub message: String,
    /// Entra's finer classification for clients that act on it (`consent_required`).
    pub suberror: Option<&'static str>,
    /// A claims challenge (JSON text) for the client to send at its next sign-in.
    pub claims: Option<String>,
}

impl EntraError {
    /// AADSTS70011, Entra's answer to a scope it cannot use at all.
    pub fn invalid_scope(scope: &str) -> Self {
        Self::new(
            "invalid_scope",
            70_011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope \
                 '{scope}' is not valid."
            ),
        )
    }

    pub fn new(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            code,
            message: message.into(),
            suberror: None,
            claims: None,
        }
    }

    pub fn with_status(self, status: StatusCode) -> Self {
        Self { status, ..self }
    }

    pub fn with_suberror(self, suberror: &'static str) -> Self {
        Self {
            suberror: Some(suberror),
            ..self
        }
    }

    pub fn with_claims(self, claims: String) -> Self {
        Self {
            claims: Some(claims),
            ..self
        }
    }

    /// AADSTS900144, Entra's answer to any missing required parameter.
    pub fn missing(parameter: &str) -> Self {
        Self::new(
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{parameter}'."),
        )
    }

    /// AADSTS90002: the authority's tenant segment names no tenant this issuer knows.
    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::new(
            "invalid_tenant",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID \
                 and are signing into the correct cloud."
            ),
        )
    }

    /// The authorization endpoint's answer once the redirect URI is trusted.
    pub fn redirect(self, redirect_uri: &Url, state: Option<&str>) -> Response {
        let incident = Incident::now();
        let mut location = redirect_uri.clone();
        {
            let mut query = location.query_pairs_mut();
            query.append_pair("error", self.error);
            query.append_pair("error_description", &incident.describe(&self));
            if let Some(state) = state {
                query.append_pair("state", state);
            }
        }
        (
            StatusCode::FOUND,
            [(header::LOCATION, location.to_string())],
        )
            .into_response()
    }

    /// The authorization endpoint's answer while the redirect URI is not trusted.
    pub fn page(self) -> Response {
        let description = Incident::now().describe(&self);
        let body = format!(
            "<!DOCTYPE html><html><head><title>Sign in to your account</title></head>\
             <body><h1>Sorry, but we're having trouble signing you in.</h1><p>{}</p></body></html>",
            escape_html(&description)
        );
        (self.status, Html(body)).into_response()
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        let incident = Incident::now();
        let mut body = json!({
            "error": self.error,
            "error_description": incident.describe(&self),
            "error_codes": [self.code],
            "timestamp": incident.timestamp,
            "trace_id": incident.trace_id,
            "correlation_id": incident.correlation_id,
        });
        if let Some(suberror) = self.suberror {
            body["suberror"] = json!(suberror);
        }
        if let Some(claims) = &self.claims {
            body["claims"] = json!(claims);
        }
        (self.status, Json(body)).into_response()
    }
}

/// The identifiers Entra stamps on every failure.
struct Incident {
    trace_id: String,
    correlation_id: String,
    timestamp: String,
}

impl Incident {
    fn now() -> Self {
        Self {
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            timestamp: datetime::entra_timestamp(datetime::now_seconds()),
        }
    }

    fn describe(&self, error: &EntraError) -> String {
        format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            error.code, error.message, self.trace_id, self.correlation_id, self.timestamp
        )
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use serde_json::Value;

    use super::*;

    #[tokio::test]
    async fn json_errors_have_entras_shape() {
        let response =
            EntraError::new("invalid_scope", 70_011, "The scope is not valid.").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 10_000).await.unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_scope");
        assert_eq!(body["error_codes"], json!([70011]));
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with("AADSTS70011: The scope is not valid.\r\nTrace ID: "));
        assert!(description.contains(body["correlation_id"].as_str().unwrap()));
        assert!(description.ends_with(body["timestamp"].as_str().unwrap()));
        assert!(body["trace_id"].as_str().unwrap().len() == 36);
        assert!(body.get("suberror").is_none() && body.get("claims").is_none());
    }

    #[tokio::test]
    async fn suberror_and_claims_are_top_level_strings() {
        let response = EntraError::new("invalid_grant", 65_001, "No consent.")
            .with_suberror("consent_required")
            .with_claims(r#"{"access_token":{}}"#.to_owned())
            .into_response();
        let body: Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 10_000).await.unwrap()).unwrap();
        assert_eq!(body["suberror"], "consent_required");
        assert_eq!(body["claims"], r#"{"access_token":{}}"#);
    }

    #[test]
    fn redirected_errors_keep_the_redirect_uri_and_state() {
        let redirect_uri = Url::parse("http://localhost:3000/callback?keep=1").unwrap();
        let response = EntraError::missing("scope").redirect(&redirect_uri, Some("xyz"));
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
        assert_eq!(location.path(), "/callback");
        let query: std::collections::HashMap<_, _> = location.query_pairs().collect();
        assert_eq!(query["keep"], "1");
        assert_eq!(query["error"], "invalid_request");
        assert_eq!(query["state"], "xyz");
        assert!(query["error_description"].starts_with("AADSTS900144: "));
    }

    #[tokio::test]
    async fn error_pages_escape_what_the_request_supplied() {
        let response = EntraError::new("invalid_request", 50_011, "<script>x</script>").page();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = to_bytes(response.into_body(), 10_000).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("AADSTS50011: &lt;script&gt;"));
        assert!(!body.contains("<script>"));
    }
}
