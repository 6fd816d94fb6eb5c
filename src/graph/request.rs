//! Building Graph requests so that no tool argument can change a request's meaning.
//!
//! - A path is a template written by the tool (`me/messages/{}`) whose `{}` placeholders are
//!   filled with arguments, each percent-encoded as one segment: an id like `../../users` or
//!   `a/b?x` stays one segment of the path it was meant for. The template, never the filled
//!   path, is what logs show, so no argument a client chose reaches them.
//! - OData string literals are quoted with `'` and inner quotes doubled (`O''Brien`), the only
//!   escape OData has; query values are then form-encoded by the URL builder.
//! - `$select` is part of every read, so Graph returns only what a tool uses (and less data
//!   leaves the tenant).
//! - `$search` on directory objects and `$count` need `ConsistencyLevel: eventual`; the builder
//!   adds it whenever they are used.

use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One Graph call, relative to `{base}/v1.0/`.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub(crate) method: Method,
    /// The path template: what the logs name the call by.
    pub(crate) route: &'static str,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// A JSON body (POST), built by the tool from typed values.
    pub(crate) body: Option<serde_json::Value>,
}

impl GraphRequest {
    /// A GET of `route` with its placeholders filled by `arguments` (each encoded as one
    /// segment), selecting `fields`.
    pub fn get(route: &'static str, arguments: &[&str], fields: &[&str]) -> Self {
        Self {
            method: Method::GET,
            route,
            path: fill(route, arguments),
            query: vec![("$select", fields.join(","))],
            headers: Vec::new(),
            body: None,
        }
    }

    /// A POST of `body` to `route` (placeholders filled as for [`GraphRequest::get`]).
    pub fn post(route: &'static str, arguments: &[&str], body: serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            route,
            path: fill(route, arguments),
            query: Vec::new(),
            headers: Vec::new(),
            body: Some(body),
        }
    }

    /// The route template the call is logged under.
    pub fn route(&self) -> &'static str {
        self.route
    }

    /// The encoded path, relative to the API root: what a continuation must stay under.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A query option other than the ones with their own builder (`startDateTime`, …). The
    /// name is the tool's, the value is form-encoded by the URL builder.
    pub fn query(mut self, name: &'static str, value: String) -> Self {
        self.query.push((name, value));
        self
    }

    /// `$expand`, as the tool writes it.
    pub fn expand(mut self, expression: &'static str) -> Self {
        self.query.push(("$expand", expression.into()));
        self
    }

    /// Whether repeating the call is harmless (GET is; a POST that sends mail is not).
    pub fn idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        )
    }

    pub fn top(mut self, count: u32) -> Self {
        self.query.push(("$top", count.to_string()));
        self
    }

    /// `$filter` built by [`Filter`], so literals are always escaped.
    pub fn filter(mut self, filter: &Filter) -> Self {
        self.query.push(("$filter", filter.0.clone()));
        self
    }

    /// `$search="…"`: the term is quoted, inner quotes and backslashes escaped.
    pub fn search(mut self, term: &str) -> Self {
        let escaped = term.replace('\\', "\\\\").replace('"', "\\\"");
        self.query.push(("$search", format!("\"{escaped}\"")));
        self.consistency_eventual()
    }

    pub fn count(mut self) -> Self {
        self.query.push(("$count", "true".into()));
        self.consistency_eventual()
    }

    pub fn order_by(mut self, expression: &'static str) -> Self {
        self.query.push(("$orderby", expression.into()));
        self
    }

    /// A `Prefer` header, such as `outlook.timezone="…"`.
    pub fn prefer(mut self, preference: String) -> Self {
        self.headers.push(("prefer", preference));
        self
    }

    fn consistency_eventual(mut self) -> Self {
        if !self
            .headers
            .iter()
            .any(|(name, _)| *name == "consistencylevel")
        {
            self.headers.push(("consistencylevel", "eventual".into()));
        }
        self
    }
}

/// `route` with each `{}` replaced by the next argument, encoded as one path segment.
///
/// # Panics
///
/// If the number of arguments is not the number of placeholders: a tool's programming error.
fn fill(route: &'static str, arguments: &[&str]) -> String {
    let pieces: Vec<&str> = route.split("{}").collect();
    assert_eq!(
        pieces.len(),
        arguments.len() + 1,
        "`{route}` takes {} arguments",
        pieces.len() - 1
    );
    let mut path = String::from(pieces[0]);
    for (argument, piece) in arguments.iter().zip(&pieces[1..]) {
        path.extend(utf8_percent_encode(argument, SEGMENT).map(str::to_owned));
        path.push_str(piece);
    }
    path
}

/// An OData `$filter` expression whose literals are escaped.
#[derive(Debug, Clone)]
pub struct Filter(String);

impl Filter {
    /// `property eq 'value'`. `property` is chosen by the tool, never by its caller.
    pub fn eq(property: &'static str, value: &str) -> Self {
        Self(format!("{property} eq {}", string_literal(value)))
    }

    /// `property ne 'value'`.
    pub fn ne(property: &'static str, value: &str) -> Self {
        Self(format!("{property} ne {}", string_literal(value)))
    }

    /// `property eq true|false`.
    pub fn is(property: &'static str, value: bool) -> Self {
        Self(format!("{property} eq {value}"))
    }

    /// `property ge value` for a timestamp already formatted by the tool.
    pub fn ge_datetime(property: &'static str, rfc3339: &str) -> Self {
        Self(format!("{property} ge {rfc3339}"))
    }

    /// `property le value` for a timestamp already formatted by the tool.
    pub fn le_datetime(property: &'static str, rfc3339: &str) -> Self {
        Self(format!("{property} le {rfc3339}"))
    }

    pub fn and(self, other: Filter) -> Self {
        Self(format!("{} and {}", self.0, other.0))
    }
}

/// An OData string literal: quoted, inner quotes doubled.
pub fn string_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_encoded_as_one_segment_each_and_the_route_is_what_is_logged() {
        let request = GraphRequest::get("users/{}", &["../../me/messages?x=1#y"], &["id"]);
        assert_eq!(request.path, "users/..%2F..%2Fme%2Fmessages%3Fx%3D1%23y");
        assert_eq!(request.route(), "users/{}");
        let request = GraphRequest::get("users/{}/manager", &["adele@contoso.example"], &["id"]);
        assert_eq!(request.path, "users/adele%40contoso.example/manager");
        let request = GraphRequest::get("drives/{}/items/{}", &["b!x", "01AB"], &["id"]);
        assert_eq!(request.path, "drives/b%21x/items/01AB");
    }

    #[test]
    #[should_panic(expected = "takes 1 arguments")]
    fn a_route_gets_exactly_its_arguments() {
        GraphRequest::get("users/{}", &[], &["id"]);
    }

    #[test]
    fn every_read_selects() {
        let request = GraphRequest::get("me", &[], &["id", "displayName"]);
        assert_eq!(
            request.query,
            vec![("$select", "id,displayName".to_owned())]
        );
    }

    #[test]
    fn odata_literals_double_their_quotes() {
        assert_eq!(string_literal("O'Brien"), "'O''Brien'");
        assert_eq!(
            Filter::eq("subject", "x' or 1 eq 1 or subject eq '").0,
            "subject eq 'x'' or 1 eq 1 or subject eq '''"
        );
    }

    #[test]
    fn search_and_count_ask_for_eventual_consistency_once() {
        let request = GraphRequest::get("users", &[], &["id"])
            .search("displayName:ad\"ele")
            .count();
        assert!(
            request
                .query
                .contains(&("$search", "\"displayName:ad\\\"ele\"".to_owned()))
        );
        assert_eq!(
            request.headers,
            vec![("consistencylevel", "eventual".to_owned())]
        );
    }

    #[test]
    fn only_reads_are_idempotent_here() {
        assert!(GraphRequest::get("me", &[], &["id"]).idempotent());
        let send = GraphRequest::post("me/sendMail", &[], serde_json::json!({}));
        assert!(!send.idempotent());
        assert_eq!(send.path(), "me/sendMail");
    }
}
