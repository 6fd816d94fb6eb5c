//! Building Graph requests so that no tool argument can change a request's meaning.
//!
//! - Path segments are percent-encoded one by one: an id like `../../users` or `a/b?x` stays
//!   one segment of the path it was meant for. A segment that is empty, `.` or `..` cannot be
//!   encoded into anything URL resolution and Graph leave alone (`%2E%2E` is `..` to both), so
//!   such a request is refused: [`GraphClient`](super::GraphClient) never sends it.
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
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// A segment was empty, `.` or `..`.
    invalid_segment: bool,
}

impl GraphRequest {
    /// A GET of the path made of `segments` (each one encoded), selecting `fields`.
    pub fn get(segments: &[&str], fields: &[&str]) -> Self {
        let invalid_segment = segments
            .iter()
            .any(|segment| matches!(*segment, "" | "." | ".."));
        let path = segments
            .iter()
            .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/");
        Self {
            method: Method::GET,
            path,
            query: vec![("$select", fields.join(","))],
            headers: Vec::new(),
            invalid_segment,
        }
    }

    /// Whether a path segment was empty, `.` or `..`: the request must not be sent.
    pub fn has_invalid_segment(&self) -> bool {
        self.invalid_segment
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

/// An OData `$filter` expression whose literals are escaped.
#[derive(Debug, Clone)]
pub struct Filter(String);

impl Filter {
    /// `property eq 'value'`. `property` is chosen by the tool, never by its caller.
    pub fn eq(property: &'static str, value: &str) -> Self {
        Self(format!("{property} eq {}", string_literal(value)))
    }

    /// `property ge value` for a timestamp already formatted by the tool.
    pub fn ge_datetime(property: &'static str, rfc3339: &str) -> Self {
        Self(format!("{property} ge {rfc3339}"))
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
    fn path_segments_are_encoded_one_by_one() {
        let request = GraphRequest::get(&["users", "../../me/messages?x=1#y"], &["id"]);
        assert_eq!(request.path, "users/..%2F..%2Fme%2Fmessages%3Fx%3D1%23y");
        let request = GraphRequest::get(&["users", "adele@contoso.example"], &["id"]);
        assert_eq!(request.path, "users/adele%40contoso.example");
    }

    #[test]
    fn empty_and_dot_segments_are_marked_so_the_request_is_never_sent() {
        for segments in [
            &["users", ".."][..],
            &["users", "."],
            &["users", ""],
            &["..", "me"],
            &["me", "messages", "", "attachments"],
        ] {
            assert!(
                GraphRequest::get(segments, &["id"]).has_invalid_segment(),
                "{segments:?}"
            );
        }
        for segments in [
            &["users", "..."][..],
            &["users", ".hidden"],
            &["users", "a..b"],
            &["users", "../me"],
            &["me"],
        ] {
            assert!(
                !GraphRequest::get(segments, &["id"]).has_invalid_segment(),
                "{segments:?}"
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
    fn every_read_selects() {
        let request = GraphRequest::get(&["me"], &["id", "displayName"]);
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
        let request = GraphRequest::get(&["users"], &["id"])
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
        assert!(GraphRequest::get(&["me"], &["id"]).idempotent());
        let mut send = GraphRequest::get(&["me", "sendMail"], &[]);
        send.method = Method::POST;
        assert!(!send.idempotent());
    }
}
