//! The OData query options Graph honours, and how its responses describe themselves.
//!
//! - `$select=a,b` returns only those properties (names are case-insensitive; an unknown one is
//!   400). Outlook items keep `id` and `@odata.etag` regardless. The response's
//!   `@odata.context` names the selection: `…/$metadata#users(displayName,mail)/$entity`.
//! - `$top=n` sets the page size. A collection longer than a page ends with `@odata.nextLink`:
//!   the absolute URL of the next page, the same query plus where to continue. How it says
//!   where differs by workload ([`Paging`]): Outlook (mail, calendar, To Do, people) writes
//!   `$skip=20`, the directory and OneDrive an opaque `$skiptoken`. Either way a client must
//!   follow the link as given, never build one.
//! - `$filter`, `$search`, `$orderby`, `$expand` and `$count` are read here and interpreted by
//!   the endpoints that support them.
//!
//! Graph parses the query string strictly, and so does the devstack: a system query option
//! given twice is 400 (a value that smuggled in `&$filter=…` shows up that way), and so is a
//! `$`-option Graph does not know.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use url::form_urlencoded;

use super::error::{GraphError, Workload};
use crate::keys::base64url;

/// A request's query string, parsed.
#[derive(Debug, Default)]
pub struct Query {
    /// Every parameter, decoded, in order.
    pairs: Vec<(String, String)>,
    pub top: Option<usize>,
    /// Where the requested page starts.
    pub skip: usize,
    pub filter: Option<String>,
    pub search: Option<String>,
    pub orderby: Option<String>,
    /// `$expand`, as sent.
    pub expand: Option<String>,
    pub count: bool,
    select: Option<String>,
}

/// Where a next link says to continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `$skip=<offset>`, readable and also accepted from clients (Outlook).
    Skip,
    /// An opaque `$skiptoken` (directory, OneDrive).
    SkipToken,
}

/// The system query options Graph knows; any other `$`-name is refused.
const SYSTEM_OPTIONS: &[&str] = &[
    "$top",
    "$skip",
    "$skiptoken",
    "$filter",
    "$search",
    "$orderby",
    "$select",
    "$expand",
    "$count",
    "$format",
];

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, GraphError> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let mut query = Self {
            pairs,
            ..Self::default()
        };
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in &query.pairs {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with('$') {
                if !SYSTEM_OPTIONS.contains(&lower.as_str()) {
                    return Err(GraphError::bad_request(
                        "BadRequest",
                        format!("The query parameter '{name}' is not supported."),
                    ));
                }
                if seen.contains(&lower) {
                    return Err(GraphError::bad_request(
                        "BadRequest",
                        format!(
                            "Query option '{name}' was specified more than once, but it must be \
                             specified at most once."
                        ),
                    ));
                }
                seen.push(lower.clone());
            }
            match lower.as_str() {
                "$top" => {
                    query.top = Some(value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        GraphError::bad_request(
                            "BadRequest",
                            format!("Invalid value '{value}' for query option $top."),
                        )
                    })?);
                }
                "$skip" => {
                    query.skip = value.parse().map_err(|_| {
                        GraphError::bad_request(
                            "BadRequest",
                            format!("Invalid value '{value}' for query option $skip."),
                        )
                    })?;
                }
                "$skiptoken" => {
                    query.skip = skip_offset(value).ok_or_else(|| {
                        GraphError::bad_request("BadRequest", "The $skiptoken is not valid.")
                    })?;
                }
                "$filter" => query.filter = Some(value.clone()),
                "$search" => query.search = Some(value.clone()),
                "$orderby" => query.orderby = Some(value.clone()),
                "$select" => query.select = Some(value.clone()),
                "$expand" => query.expand = Some(value.clone()),
                "$count" => query.count = value.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        Ok(query)
    }

    /// A non-OData parameter (`startDateTime`); names compare case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(param, _)| param.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The absolute URL of the page starting at `skip`: this query, continuing there.
    fn link(&self, base_url: &str, path: &str, skip: usize, paging: Paging) -> String {
        let mut query: Vec<String> = self
            .pairs
            .iter()
            .filter(|(name, _)| {
                !name.eq_ignore_ascii_case("$skiptoken") && !name.eq_ignore_ascii_case("$skip")
            })
            .map(|(name, value)| {
                format!(
                    "{name}={}",
                    form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                )
            })
            .collect();
        query.push(match paging {
            Paging::Skip => format!("$skip={skip}"),
            Paging::SkipToken => format!("$skiptoken={}", skip_token(skip)),
        });
        format!("{base_url}{path}?{}", query.join("&"))
    }
}

/// What `$select` may name on one Graph type.
#[derive(Debug)]
pub struct EntityType {
    /// `microsoft.graph.user`, as errors name it.
    pub name: &'static str,
    pub workload: Workload,
    pub properties: &'static [&'static str],
    /// Returned whatever `$select` says.
    pub always: &'static [&'static str],
}

impl EntityType {
    /// The canonical names `$select` asks for, or `None` for the default set.
    pub fn selection(&self, query: &Query) -> Result<Option<Vec<&'static str>>, GraphError> {
        let Some(select) = &query.select else {
            return Ok(None);
        };
        let mut selected = Vec::new();
        for name in select
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            // What is always returned may be selected too (`$select=id,subject` is valid).
            let property = self
                .properties
                .iter()
                .chain(self.always)
                .copied()
                .find(|property| property.eq_ignore_ascii_case(name))
                .ok_or_else(|| GraphError::unknown_property(self.workload, name, self.name))?;
            if !selected.contains(&property) {
                selected.push(property);
            }
        }
        Ok(Some(selected))
    }

    /// `entity` cut down to the selection (plus what is always returned).
    pub fn project(&self, entity: &Value, selection: Option<&[&str]>) -> Value {
        let Some(selection) = selection else {
            return entity.clone();
        };
        let mut projected = Map::new();
        for name in self.always.iter().chain(selection) {
            projected.insert(
                (*name).to_owned(),
                entity.get(*name).cloned().unwrap_or(Value::Null),
            );
        }
        Value::Object(projected)
    }
}

/// `{base}/v1.0/$metadata#{set}{(selection)}{/$entity}`.
pub fn context(base_url: &str, set: &str, selection: Option<&[&str]>, entity: bool) -> String {
    let selection = selection.map_or(String::new(), |names| format!("({})", names.join(",")));
    let entity = if entity { "/$entity" } else { "" };
    format!("{base_url}/v1.0/$metadata#{set}{selection}{entity}")
}

/// One page of `items` as Graph returns a collection: `@odata.context`, `value`, and
/// `@odata.nextLink` when more remain (`@odata.count` with `$count=true`).
pub struct Collection<'a> {
    pub base_url: &'a str,
    /// The request path, for the next link.
    pub path: &'a str,
    pub context: String,
    pub default_page: usize,
    pub max_page: usize,
    pub paging: Paging,
}

impl Collection<'_> {
    pub fn page(&self, items: Vec<Value>, query: &Query) -> Result<Value, GraphError> {
        let size = query.top.unwrap_or(self.default_page);
        if size > self.max_page {
            return Err(GraphError::bad_request(
                "BadRequest",
                format!(
                    "Invalid page size specified: '{size}'. Must be between 1 and {} inclusive.",
                    self.max_page
                ),
            ));
        }
        let total = items.len();
        let next = query.skip + size;
        let mut body = json!({ "@odata.context": self.context });
        if query.count {
            body["@odata.count"] = json!(total);
        }
        body["value"] = Value::Array(items.into_iter().skip(query.skip).take(size).collect());
        if next < total {
            body["@odata.nextLink"] =
                json!(query.link(self.base_url, self.path, next, self.paging));
        }
        Ok(body)
    }
}

/// Graph's skip tokens are opaque; the devstack's encode an offset.
fn skip_token(offset: usize) -> String {
    base64url(format!("devstack-skip:{offset}"))
}

fn skip_offset(token: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    text.strip_prefix("devstack-skip:")?.parse().ok()
}

/// The inside of an OData string literal (`'it''s'` → `it's`), or `None` if `text` is not one.
pub fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut value = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside the literal a quote only appears doubled.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        value.push(c);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: EntityType = EntityType {
        name: "microsoft.graph.user",
        workload: Workload::Directory,
        properties: &["id", "displayName", "mail"],
        always: &[],
    };

    #[test]
    fn select_is_case_insensitive_canonical_and_checked() {
        let query = Query::parse(Some("$select=DISPLAYNAME,%20mail,displayName")).unwrap();
        let selection = USER.selection(&query).unwrap().unwrap();
        assert_eq!(selection, ["displayName", "mail"]);
        let user = json!({ "id": "1", "displayName": "Adele", "mail": null });
        assert_eq!(
            USER.project(&user, Some(&selection)),
            json!({ "displayName": "Adele", "mail": null })
        );
        assert_eq!(USER.project(&user, None), user);

        let bad = USER
            .selection(&Query::parse(Some("$select=displayName,shoeSize")).unwrap())
            .unwrap_err();
        assert_eq!(bad.code, "Request_BadRequest");
        assert!(
            bad.message
                .contains("'shoeSize' on type 'microsoft.graph.user'")
        );
    }

    #[test]
    fn contexts_name_the_selection() {
        assert_eq!(
            context("http://x", "users", Some(&["displayName", "mail"]), true),
            "http://x/v1.0/$metadata#users(displayName,mail)/$entity"
        );
        assert_eq!(
            context("http://x", "users('1')/messages", None, false),
            "http://x/v1.0/$metadata#users('1')/messages"
        );
    }

    #[test]
    fn pages_link_to_the_next_with_the_same_query() {
        let items: Vec<Value> = (0..7).map(|n| json!(n)).collect();
        let collection = Collection {
            base_url: "http://127.0.0.1:1",
            path: "/v1.0/me/messages",
            context: "ctx".to_owned(),
            default_page: 3,
            max_page: 1000,
            paging: Paging::SkipToken,
        };
        let query = Query::parse(Some("$select=subject&$search=%22a%20b%22")).unwrap();
        let first = collection.page(items.clone(), &query).unwrap();
        assert_eq!(first["value"], json!([0, 1, 2]));
        let next = first["@odata.nextLink"].as_str().unwrap();
        assert!(
            next.starts_with(
                "http://127.0.0.1:1/v1.0/me/messages?$select=subject&$search=%22a+b%22&$skiptoken="
            ),
            "{next}"
        );

        let second_query = Query::parse(Some(next.split_once('?').unwrap().1)).unwrap();
        assert_eq!(second_query.search.as_deref(), Some("\"a b\""));
        let second = collection.page(items.clone(), &second_query).unwrap();
        assert_eq!(second["value"], json!([3, 4, 5]));
        let third_query = Query::parse(Some(
            second["@odata.nextLink"]
                .as_str()
                .unwrap()
                .split_once('?')
                .unwrap()
                .1,
        ))
        .unwrap();
        let third = collection.page(items.clone(), &third_query).unwrap();
        assert_eq!(third["value"], json!([6]));
        assert!(third.get("@odata.nextLink").is_none());

        let counted = collection
            .page(items, &Query::parse(Some("$top=10&$count=true")).unwrap())
            .unwrap();
        assert_eq!(counted["@odata.count"], 7);
        assert!(counted.get("@odata.nextLink").is_none());
    }

    #[test]
    fn outlook_links_skip_in_the_open() {
        let items: Vec<Value> = (0..5).map(|n| json!(n)).collect();
        let collection = Collection {
            base_url: "http://x",
            path: "/v1.0/me/messages",
            context: String::new(),
            default_page: 2,
            max_page: 1000,
            paging: Paging::Skip,
        };
        let first = collection
            .page(
                items.clone(),
                &Query::parse(Some("$top=2&$select=id")).unwrap(),
            )
            .unwrap();
        let next = first["@odata.nextLink"].as_str().unwrap();
        assert_eq!(next, "http://x/v1.0/me/messages?$top=2&$select=id&$skip=2");
        let second = collection
            .page(
                items,
                &Query::parse(Some(next.split_once('?').unwrap().1)).unwrap(),
            )
            .unwrap();
        assert_eq!(second["value"], json!([2, 3]));
        assert!(
            second["@odata.nextLink"]
                .as_str()
                .unwrap()
                .ends_with("&$skip=4")
        );
    }

    #[test]
    fn repeated_and_unknown_system_options_are_refused() {
        let twice = Query::parse(Some("$filter=a&$FILTER=b")).unwrap_err();
        assert!(
            twice.message.contains("more than once"),
            "{}",
            twice.message
        );
        let unknown = Query::parse(Some("$where=1")).unwrap_err();
        assert!(unknown.message.contains("'$where'"), "{}", unknown.message);
        assert!(Query::parse(Some("$skip=-1")).is_err());
        let fine = Query::parse(Some("startDateTime=x&$expand=attachments&$skip=3")).unwrap();
        assert_eq!(
            (fine.skip, fine.expand.as_deref()),
            (3, Some("attachments"))
        );
    }

    #[test]
    fn bad_paging_is_400() {
        assert!(Query::parse(Some("$top=0")).is_err());
        assert!(Query::parse(Some("$top=ten")).is_err());
        assert!(Query::parse(Some("$skiptoken=forged")).is_err());
        let collection = Collection {
            base_url: "",
            path: "",
            context: String::new(),
            default_page: 10,
            max_page: 999,
            paging: Paging::SkipToken,
        };
        let error = collection
            .page(vec![], &Query::parse(Some("$top=1000")).unwrap())
            .unwrap_err();
        assert!(error.message.contains("between 1 and 999"));
    }

    #[test]
    fn string_literals_unescape_doubled_quotes() {
        assert_eq!(string_literal("'budget'").as_deref(), Some("budget"));
        assert_eq!(string_literal("'it''s'").as_deref(), Some("it's"));
        assert_eq!(string_literal("''").as_deref(), Some(""));
        assert_eq!(string_literal("'it's'"), None);
        assert_eq!(string_literal("budget"), None);
    }
}
