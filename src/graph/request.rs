//! Building Graph requests so that no tool argument can change a request's meaning.
//!
//! - A path is a template written by the tool (`me/messages/{}`) whose `{}` placeholders are
//!   filled with arguments, each percent-encoded as one segment: an id like `../../users` or
//!   `a/b?x` stays one segment of the path it was meant for. The template, never the filled
//!   path, is what logs show, so no argument a client chose reaches them. An argument that is
//!   empty, `.` or `..` cannot be encoded into anything URL resolution and Graph leave alone
//!   (`%2E%2E` is `..` to both), so such a request is refused: [`GraphClient`](super::GraphClient)
//!   never sends it.
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
    /// An argument was empty, `.` or `..`.
    invalid_segment: bool,
}

impl GraphRequest {
    /// A GET of `route` with its placeholders filled by `arguments` (each encoded as one
    /// segment), selecting `fields`.
    pub fn get(route: &'static str, arguments: &[&str], fields: &[&str]) -> Self {
        let (path, invalid_segment) = fill(route, arguments);
        Self {
            method: Method::GET,
            route,
            path,
            query: vec![("$select", fields.join(","))],
            headers: Vec::new(),
            body: None,
            invalid_segment,
        }
    }

    /// A POST of `body` to `route` (placeholders filled as for [`GraphRequest::get`]).
    pub fn post(route: &'static str, arguments: &[&str], body: serde_json::Value) -> Self {
        let (path, invalid_segment) = fill(route, arguments);
        Self {
            method: Method::POST,
            route,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Some(body),
            invalid_segment,
        }
    }

    /// Whether an argument was empty, `.` or `..`: the request must not be sent.
    pub fn has_invalid_segment(&self) -> bool {
        self.invalid_segment
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
    pub fn search(self, term: &str) -> Self {
        self.search_term(term).consistency_eventual()
    }

    /// `$search="…"` for Outlook resources (messages, people), which need no consistency level.
    pub fn search_term(mut self, term: &str) -> Self {
        self.query.push(("$search", quoted(term)));
        self
    }

    /// `$search="property:term" OR …` on directory objects: any of the properties matches.
    pub fn search_any(mut self, terms: &[(&'static str, &str)]) -> Self {
        let expression: Vec<String> = terms
            .iter()
            .map(|(property, term)| quoted(&format!("{property}:{term}")))
            .collect();
        self.query.push(("$search", expression.join(" OR ")));
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

/// A `$search` term in double quotes, inner quotes and backslashes escaped.
fn quoted(term: &str) -> String {
    format!("\"{}\"", term.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `route` with each `{}` replaced by the next argument, encoded as one path segment, and each
/// `{/}` by the next argument as a path of segments (split at `/`, each encoded, empty ones
/// dropped: a drive path like `Documents/Q3`); and whether a segment was empty, `.` or `..`.
///
/// # Panics
///
/// If the number of arguments is not the number of placeholders: a tool's programming error.
fn fill(route: &'static str, arguments: &[&str]) -> (String, bool) {
    let dots = |segment: &str| matches!(segment, "." | "..");
    let mut invalid = false;
    let mut path = String::new();
    let mut rest = route;
    let mut arguments = arguments.iter();
    while let Some(at) = rest.find('{') {
        path.push_str(&rest[..at]);
        let argument = arguments
            .next()
            .unwrap_or_else(|| panic!("`{route}` takes more arguments"));
        if rest[at..].starts_with("{/}") {
            let segments: Vec<String> = argument
                .split('/')
                .filter(|segment| !segment.is_empty())
                .inspect(|segment| invalid |= dots(segment))
                .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
                .collect();
            path.push_str(&segments.join("/"));
            rest = &rest[at + 3..];
        } else {
            assert!(
                rest[at..].starts_with("{}"),
                "`{route}` has a bad placeholder"
            );
            invalid |= argument.is_empty() || dots(argument);
            path.extend(utf8_percent_encode(argument, SEGMENT).map(str::to_owned));
            rest = &rest[at + 2..];
        }
    }
    assert!(
        arguments.next().is_none(),
        "`{route}` takes fewer arguments"
    );
    path.push_str(rest);
    (path, invalid)
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

    /// `property lt value` for a timestamp already formatted by the tool.
    pub fn lt_datetime(property: &'static str, rfc3339: &str) -> Self {
        Self(format!("{property} lt {rfc3339}"))
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
    fn empty_and_dot_segments_are_marked_so_the_request_is_never_sent() {
        for (route, arguments) in [
            ("users/{}", &[".."][..]),
            ("users/{}", &["."]),
            ("users/{}", &[""]),
            ("{}/me", &[".."]),
            ("me/messages/{}/attachments", &[""]),
            ("me/drive/root:/{/}:/children", &["Documents/../.."]),
            ("me/drive/root:/{/}:/children", &["./x"]),
        ] {
            assert!(
                GraphRequest::get(route, arguments, &["id"]).has_invalid_segment(),
                "{route} {arguments:?}"
            );
        }
        for (route, arguments) in [
            ("users/{}", &["..."][..]),
            ("users/{}", &[".hidden"]),
            ("users/{}", &["a..b"]),
            ("users/{}", &["../me"]),
            ("me", &[]),
            ("me/drive/root:/{/}:/children", &["/Documents//Q3/"]),
        ] {
            assert!(
                !GraphRequest::get(route, arguments, &["id"]).has_invalid_segment(),
                "{route} {arguments:?}"
            );
        }
        // Why they cannot be encoded instead: URL resolution reads `%2E` as `.` too.
        let root = url::Url::parse("https://graph.microsoft.com/v1.0/").unwrap();
        assert_eq!(
            root.join("users/%2E%2E").unwrap().path(),
            "/v1.0/",
            "encoded dots still climb"
        );
    }

    #[test]
    fn a_path_argument_keeps_its_slashes_and_encodes_each_segment() {
        let request = GraphRequest::get(
            "me/drive/root:/{/}:/children",
            &["/Documents/Q3 plan?/x#y/"],
            &["id"],
        );
        assert_eq!(
            request.path,
            "me/drive/root:/Documents/Q3%20plan%3F/x%23y:/children"
        );
    }

    #[test]
    #[should_panic(expected = "takes more arguments")]
    fn a_route_gets_all_its_arguments() {
        GraphRequest::get("users/{}", &[], &["id"]);
    }

    #[test]
    #[should_panic(expected = "takes fewer arguments")]
    fn a_route_gets_no_more_than_its_arguments() {
        GraphRequest::get("users", &["x"], &["id"]);
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
