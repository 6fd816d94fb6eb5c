//! The HTML the broker shows a person (the consent page, the consent list, error pages) and the
//! JSON errors it gives clients, with the headers every such answer carries.
//!
//! Pages are rendered on the server and work without JavaScript: plain forms that post back.
//! Every page carries a strict Content Security Policy (no script at all; the one inline style
//! sheet allowed by its hash; forms may post only here and, on the consent page, to the client's
//! redirect origin, since a browser applies `form-action` to the redirect that follows), refuses
//! to be framed (`frame-ancestors 'none'` and `X-Frame-Options: DENY`, against clickjacking),
//! sends no referrer and is never cached. Everything that came from a client (its name, its
//! URLs) is escaped.
//!
//! Accessibility: a language, a title and a main landmark; headings in order; every control a
//! real `<button>` with its own text, reachable and usable by keyboard, with a visible focus
//! ring; text contrast of at least 7:1 against its background; layout that reflows on small
//! screens.

use axum::{
    Json,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;

/// The one style sheet, inline and allowed by its hash.
pub const STYLE: &str = "\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
background:#f3f3f3;color:#1b1b1b;line-height:1.5}\
main{max-width:34rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;\
border:1px solid #c8c8c8;border-radius:8px}\
h1{font-size:1.4rem;margin:0 0 1rem}\
h2{font-size:1.05rem;margin:1.25rem 0 .25rem}\
p,dd,li{margin:.25rem 0}\
dl{margin:0}dt{font-weight:600;margin-top:.75rem}dd{margin-left:0;word-break:break-all}\
.host{font-weight:700;background:#fff4ce;color:#1b1b1b;padding:0 .2rem}\
.note{color:#3b3b3b;font-size:.95rem}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}\
button{font:inherit;font-weight:600;padding:.6rem 1.4rem;border-radius:4px;cursor:pointer;\
border:2px solid #0f4a85}\
button.primary{background:#0f4a85;color:#fff}\
button.secondary{background:#fff;color:#0f4a85}\
button:focus-visible,a:focus-visible{outline:3px solid #1b1b1b;outline-offset:2px}\
a{color:#0f4a85}\
ul.consents{list-style:none;padding:0}ul.consents li{border-top:1px solid #c8c8c8;\
padding:.75rem 0}\
@media (max-width:36rem){main{margin:0;border:0;border-radius:0;padding:1rem}}";

fn style_hash() -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
    format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if c.is_control() => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A whole page: `title` (plain text) and `body` (HTML the caller escaped).
pub fn page(status: StatusCode, title: &str, body: &str, form_targets: &[String]) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        title = escape(title),
    );
    let mut form_action = "'self'".to_owned();
    for target in form_targets {
        form_action.push(' ');
        form_action.push_str(target);
    }
    let csp = format!(
        "default-src 'none'; style-src {}; img-src 'none'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'",
        style_hash()
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    secure_headers(headers);
    response
}

/// Headers every broker answer carries: never cached, never framed, no referrer, no sniffing.
pub fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// An error page for a person: what happened and what to do. Nothing goes back to the client
/// (its redirect URI is not trusted, or not known).
pub fn error_page(status: StatusCode, heading: &str, explanation: &str) -> Response {
    page(
        status,
        heading,
        &format!(
            "<h1>{}</h1><p>{}</p><p class=\"note\">You can close this window and start the \
             sign-in again from your application.</p>",
            escape(heading),
            escape(explanation)
        ),
        &[],
    )
}

/// An OAuth error for a client (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707): JSON, never cached.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    secure_headers(response.headers_mut());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"token\""),
        );
    }
    response
}

/// `429` with `Retry-After`, in the OAuth error shape.
pub fn too_many_requests(retry_after_seconds: u64) -> Response {
    let mut response = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
        "Too many requests; try again later.",
    );
    if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A `302` to `location` (a client's redirect URI or Entra), never cached.
pub fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_headers(response.headers_mut());
    response
}

/// A `303` (after a form post, or to a page of ours).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_headers(response.headers_mut());
    response
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .append(HeaderName::from_static("set-cookie"), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("a\u{0}b\nc"), "a\u{fffd}b\u{fffd}c");
    }

    #[test]
    fn pages_refuse_framing_and_scripts() {
        let response = error_page(StatusCode::BAD_REQUEST, "No", "Nope <b>");
        let headers = response.headers();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(!csp.contains("script-src"), "{csp}");
        assert!(csp.contains(&style_hash()), "{csp}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
}
