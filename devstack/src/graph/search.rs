//! The Microsoft Search API: `POST /search/query`, one query across the caller's mail, their
//! calendar, or the files and SharePoint content they can read.
//!
//! ```json
//! { "requests": [{ "entityTypes": ["driveItem", "listItem"],
//!                  "query": { "queryString": "campaign filetype:docx" },
//!                  "from": 0, "size": 25, "fields": ["name", "webUrl"] }] }
//! ```
//!
//! Graph's rules, enforced here:
//!
//! - **Combinations**: `message` only alone, `event` only alone; `driveItem`, `listItem`,
//!   `list`, `site` and `drive` together as you like. Several requests in one call only for
//!   those SharePoint types. Anything else is 400.
//! - **Paging**: `from` (0-based) and `size` (default 25; at most 25 for `message` and
//!   `event`, 1000 otherwise); each container says `total` and `moreResultsAvailable`.
//! - **Permissions** per entity type: `message` needs `Mail.Read`, `event` `Calendars.Read`,
//!   `driveItem` and `drive` `Files.Read.All` or `Sites.Read.All`, `listItem`, `list` and
//!   `site` `Sites.Read.All` (or the ReadWrite variants); results are trimmed to what the
//!   caller may read.
//!
//! The answer is `{ value: [{ searchTerms, hitsContainers: [{ hits, total,
//! moreResultsAvailable }] }] }`; a container without hits has no `hits` property. Each hit
//! has `hitId`, `rank`, a `summary` with the matches marked `<c0>…</c0>` and cuts marked
//! `<ddd/>`, and the `resource` with its `@odata.type`. Mail and events come newest first,
//! the rest by relevance. A driveItem hit carries its `id` and `parentReference.driveId`
//! (and `siteId`), which `/drives/{drive-id}/items/{item-id}` opens; its `hitId` is the item
//! id too. Real Graph documents neither: its driveItem `hitId` is opaque.
//!
//! The query string is words that must all occur (as word prefixes) in what is searched: the
//! subject, sender and body of mail; the subject, body and location of events; the name and
//! text of files; the title and description of list items. `filetype:docx` keeps files of that
//! extension; other `property:value` terms match their value as a word.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    odata::context,
};

const MAIL: &[&str] = &["Mail.Read", "Mail.ReadWrite"];
const CALENDARS: &[&str] = &["Calendars.Read", "Calendars.ReadWrite"];
const FILES: &[&str] = &[
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
];
const SITES: &[&str] = &["Sites.Read.All", "Sites.ReadWrite.All"];

/// Entity types that may be combined with each other (in one request or several).
const SHAREPOINT: &[&str] = &["driveItem", "listItem", "list", "site", "drive"];
/// Entity types Graph knows that the devstack does not serve.
const NOT_SERVED: &[&str] = &[
    "externalItem",
    "chatMessage",
    "person",
    "acronym",
    "bookmark",
];

/// What one searchable thing offers a query.
#[derive(Debug)]
pub struct Hit {
    pub hit_id: String,
    /// Newest first for mail and events (Unix seconds); otherwise higher is more relevant.
    pub order: i64,
    /// What the query's words are looked for in; the summary quotes it.
    pub text: String,
    /// The file extension, for `filetype:`.
    pub extension: Option<String>,
    pub resource: Value,
}

/// The parsed query string.
#[derive(Debug, Default)]
pub struct Terms {
    /// Lower-case words that must all occur.
    pub words: Vec<String>,
    filetype: Option<String>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Terms {
    fn parse(query: &str) -> Self {
        let mut terms = Self::default();
        for token in query.split_whitespace() {
            match token.split_once(':') {
                Some((property, value)) if property.eq_ignore_ascii_case("filetype") => {
                    terms.filetype = Some(value.trim_start_matches('.').to_lowercase());
                }
                Some((_, value)) => terms.words.extend(words(value)),
                None => {
                    if !["AND", "OR", "NOT"].contains(&token) {
                        terms.words.extend(words(token));
                    }
                }
            }
        }
        terms
    }

    fn matches(&self, hit: &Hit) -> bool {
        let have = words(&hit.text);
        let filetype = self
            .filetype
            .as_ref()
            .is_none_or(|wanted| hit.extension.as_ref() == Some(wanted));
        filetype
            && (!self.words.is_empty() || self.filetype.is_some())
            && self
                .words
                .iter()
                .all(|word| have.iter().any(|have| have.starts_with(word.as_str())))
    }

    /// How often the words occur: a file's relevance.
    pub fn score(&self, text: &str) -> i64 {
        let have = words(text);
        let count = self
            .words
            .iter()
            .map(|word| {
                have.iter()
                    .filter(|have| have.starts_with(word.as_str()))
                    .count()
            })
            .sum::<usize>();
        i64::try_from(count).unwrap_or(i64::MAX)
    }
}

/// About 200 characters of `text` around the first match, matches marked `<c0>…</c0>` and cuts
/// marked `<ddd/>`, as Microsoft Search writes summaries.
fn summary(text: &str, terms: &Terms) -> String {
    let flat: Vec<&str> = text.split_whitespace().collect();
    let matches = |word: &str| {
        let lower = words(word);
        terms
            .words
            .iter()
            .any(|term| lower.iter().any(|w| w.starts_with(term.as_str())))
    };
    let first = flat.iter().position(|word| matches(word)).unwrap_or(0);
    let start = first.saturating_sub(8);
    let end = (start + 30).min(flat.len());
    let mut summary = String::new();
    if start > 0 {
        summary.push_str("<ddd/>");
    }
    let body: Vec<String> = flat[start..end]
        .iter()
        .map(|word| {
            if matches(word) {
                format!("<c0>{word}</c0>")
            } else {
                (*word).to_owned()
            }
        })
        .collect();
    summary.push_str(&body.join(" "));
    if end < flat.len() {
        summary.push_str("<ddd/>");
    }
    summary
}

fn bad_request(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("BadRequest", message)
}

/// One request of the body, validated.
struct Request {
    entity_types: Vec<String>,
    query: String,
    from: usize,
    size: usize,
    fields: Option<Vec<String>>,
}

fn parse_request(value: &Value) -> Result<Request, GraphError> {
    let entity_types: Vec<String> = value["entityTypes"]
        .as_array()
        .filter(|types| !types.is_empty())
        .ok_or_else(|| bad_request("SearchRequest Invalid (entityTypes is required)."))?
        .iter()
        .map(|kind| {
            kind.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad_request("SearchRequest Invalid (entityTypes are strings)."))
        })
        .collect::<Result<_, _>>()?;
    for kind in &entity_types {
        if NOT_SERVED.contains(&kind.as_str()) {
            return Err(bad_request(format!(
                "SearchRequest Invalid (the devstack's Graph does not search '{kind}')."
            )));
        }
        if !SHAREPOINT.contains(&kind.as_str()) && kind != "message" && kind != "event" {
            return Err(bad_request(format!(
                "SearchRequest Invalid (Requested entity type '{kind}' is not supported)."
            )));
        }
    }
    let alone = entity_types
        .iter()
        .any(|kind| kind == "message" || kind == "event");
    if alone && entity_types.len() > 1 {
        return Err(bad_request(format!(
            "SearchRequest Invalid (The entity types {} cannot be combined: message and event \
             are each searched alone).",
            entity_types.join(", ")
        )));
    }
    let query = value["query"]["queryString"]
        .as_str()
        .filter(|query| !query.trim().is_empty())
        .ok_or_else(|| bad_request("SearchRequest Invalid (query.queryString is required)."))?
        .to_owned();
    let number = |name: &str, default: u64| -> Result<usize, GraphError> {
        match &value[name] {
            Value::Null => Ok(usize::try_from(default).expect("small")),
            number => number
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    bad_request(format!(
                        "SearchRequest Invalid ({name} must be a non-negative integer)."
                    ))
                }),
        }
    };
    let from = number("from", 0)?;
    let size = number("size", 25)?;
    let most = if alone { 25 } else { 1000 };
    if size == 0 || size > most {
        return Err(bad_request(format!(
            "SearchRequest Invalid (size must be between 1 and {most} for {}).",
            entity_types.join(", ")
        )));
    }
    let fields = match &value["fields"] {
        Value::Null => None,
        Value::Array(fields) => Some(
            fields
                .iter()
                .filter_map(|field| field.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => {
            return Err(bad_request(
                "SearchRequest Invalid (fields is a list of names).",
            ));
        }
    };
    Ok(Request {
        entity_types,
        query,
        from,
        size,
        fields,
    })
}

pub async fn query(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, GraphError> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|_| bad_request("Unable to read JSON request payload."))?;
    let requests = body["requests"]
        .as_array()
        .filter(|requests| !requests.is_empty())
        .ok_or_else(|| bad_request("SearchRequest Invalid (requests is required)."))?
        .iter()
        .map(parse_request)
        .collect::<Result<Vec<_>, _>>()?;
    if requests.len() > 1
        && requests.iter().any(|r| {
            r.entity_types
                .iter()
                .any(|kind| !SHAREPOINT.contains(&kind.as_str()))
        })
    {
        return Err(bad_request(
            "SearchRequest Invalid (Several requests in one call are only supported for \
             SharePoint and OneDrive entity types).",
        ));
    }
    for request in &requests {
        for kind in &request.entity_types {
            let needed = match kind.as_str() {
                "message" => MAIL,
                "event" => CALENDARS,
                "driveItem" | "drive" => FILES,
                _ => SITES,
            };
            caller.require(needed, Workload::Search)?;
        }
    }
    let user = caller.0.user;
    let mut responses = Vec::new();
    for request in &requests {
        let terms = Terms::parse(&request.query);
        let mut hits: Vec<Hit> = Vec::new();
        for kind in &request.entity_types {
            hits.extend(match kind.as_str() {
                "message" => graph.mailboxes.search_hits(user),
                "event" => graph.calendars.search_hits(user),
                other => graph.drives.search_hits(user, other, &terms),
            });
        }
        hits.retain(|hit| terms.matches(hit));
        hits.sort_by(|a, b| b.order.cmp(&a.order).then_with(|| a.hit_id.cmp(&b.hit_id)));
        let total = hits.len();
        let page: Vec<Value> = hits
            .iter()
            .enumerate()
            .skip(request.from)
            .take(request.size)
            .map(|(index, hit)| {
                let mut resource = hit.resource.clone();
                if let Some(fields) = &request.fields {
                    let object = resource.as_object_mut().expect("an object");
                    object.retain(|name, _| {
                        name.starts_with('@')
                            || name == "id"
                            || fields.iter().any(|field| field.eq_ignore_ascii_case(name))
                    });
                }
                json!({
                    "hitId": hit.hit_id,
                    "rank": index + 1,
                    "summary": summary(&hit.text, &terms),
                    "resource": resource,
                })
            })
            .collect();
        let mut container = json!({
            "total": total,
            "moreResultsAvailable": request.from + page.len() < total,
        });
        if !page.is_empty() {
            container["hits"] = Value::Array(page);
        }
        responses.push(json!({
            "searchTerms": terms.words,
            "hitsContainers": [container],
        }));
    }
    Ok(Json(json!({
        "@odata.context": context(&graph.base_url, "Collection(microsoft.graph.searchResponse)", None, false),
        "value": responses,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_summaries() {
        let terms = Terms::parse("Quarterly filetype:docx NUMBERS");
        assert_eq!(terms.words, ["quarterly", "numbers"]);
        assert_eq!(terms.filetype.as_deref(), Some("docx"));
        let text = "one two three four five six seven eight nine ten the quarterly numbers are in";
        assert_eq!(
            summary(text, &terms),
            "<ddd/>four five six seven eight nine ten the <c0>quarterly</c0> <c0>numbers</c0> are in"
        );
        let hit = |extension: &str| Hit {
            hit_id: String::new(),
            order: 0,
            text: text.to_owned(),
            extension: Some(extension.to_owned()),
            resource: Value::Null,
        };
        assert!(terms.matches(&hit("docx")));
        assert!(!terms.matches(&hit("pdf")));
        assert_eq!(terms.score(text), 2);
    }

    #[test]
    fn requests_follow_graphs_combination_and_size_rules() {
        let request = |value: Value| parse_request(&value).map(|r| r.entity_types);
        assert!(request(json!({ "entityTypes": ["driveItem", "listItem", "site"], "query": { "queryString": "x" } })).is_ok());
        for bad in [
            json!({ "entityTypes": ["message", "event"], "query": { "queryString": "x" } }),
            json!({ "entityTypes": ["message", "driveItem"], "query": { "queryString": "x" } }),
            json!({ "entityTypes": ["message"], "query": { "queryString": "x" }, "size": 26 }),
            json!({ "entityTypes": ["driveItem"], "query": { "queryString": "x" }, "size": 1001 }),
            json!({ "entityTypes": ["message"], "query": { "queryString": " " } }),
            json!({ "entityTypes": [], "query": { "queryString": "x" } }),
            json!({ "entityTypes": ["unicorn"], "query": { "queryString": "x" } }),
            json!({ "entityTypes": ["message"], "query": { "queryString": "x" }, "from": -1 }),
        ] {
            assert!(request(bad.clone()).is_err(), "{bad}");
        }
    }
}
