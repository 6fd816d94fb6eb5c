//! Users: `/me`, `/users/{id | userPrincipalName}`, `/users`, managers and direct reports.
//!
//! A user's *default* properties are the eleven Graph returns without `$select`; everything
//! else (here `department`, `companyName`, `accountEnabled`, `mailNickname`, `usageLocation`)
//! comes only when selected. `/me` needs `User.Read`; other people need `User.ReadBasic.All`
//! or more; the manager needs `User.Read.All`; someone's direct reports need `User.Read` and
//! `User.ReadBasic.All`, or `User.Read.All`. Managers and reports are directory objects, so
//! they carry `@odata.type`; with only `User.Read`, direct reports come back as in Graph's
//! "limited information" mode: type and id, every other property null.
//!
//! `User.ReadBasic.All` reads other people's *basic* profile only: id, names, `mail` and
//! `userPrincipalName`. Everything else (`jobTitle`, `department`, `officeLocation`,
//! `mobilePhone`, …) comes back null, and `businessPhones` empty, even when selected; reading
//! them needs `User.Read.All`. (The People API, `/me/people`, returns job titles and offices
//! with `People.Read`.)
//!
//! `$search` on users is an *advanced query*: Graph refuses it without the header
//! `ConsistencyLevel: eventual`, as it does `$count=true`. Its value is one or more quoted
//! `"property:text"` clauses joined by `OR` or `AND`; a clause matches when a word of the
//! property starts with the text. `$filter` supports `startswith(property,'text')` and
//! `property eq 'text'` on the string properties.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    odata::{Collection, EntityType, Paging, Query, context, string_literal},
};
use crate::tenant::{USERS, User};

const USER: EntityType = EntityType {
    name: "microsoft.graph.user",
    workload: Workload::Directory,
    properties: &[
        "id",
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "department",
        "companyName",
        "accountEnabled",
        "mailNickname",
        "usageLocation",
    ],
    always: &[],
};

/// A directory object: what the manager and direct-report relationships return.
const DIRECTORY_OBJECT: EntityType = EntityType {
    always: &["@odata.type"],
    ..USER
};

/// What Graph returns without `$select`.
const DEFAULT_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// What `User.ReadBasic.All` reveals of other people.
const BASIC_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
];

const SELF: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
];
const OTHERS: &[&str] = &["User.ReadBasic.All", "User.Read.All", "Directory.Read.All"];
const MANAGER: &[&str] = &["User.Read.All", "Directory.Read.All"];
/// Reading everything of other people.
const FULL_PROFILES: &[&str] = &["User.Read.All", "Directory.Read.All"];

/// Every property of `user`, as the directory stores it.
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.object_id,
        "businessPhones": user.business_phones,
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.user_principal_name,
        "mobilePhone": user.mobile_phone,
        "officeLocation": user.office_location,
        "preferredLanguage": user.preferred_language,
        "surname": user.surname,
        "userPrincipalName": user.user_principal_name,
        "department": user.department,
        "companyName": "Contoso",
        "accountEnabled": true,
        "mailNickname": user.key,
        "usageLocation": "US",
    })
}

/// How much of someone else's profile the caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Full,
    /// `User.ReadBasic.All`: the basic profile, everything else null.
    Basic,
}

impl Profile {
    /// What `caller` may read of `user`: everything of themselves, and of others everything
    /// only with `User.Read.All` or more.
    fn of(caller: &Caller, user: &User) -> Self {
        if user.key == caller.0.user.key || caller.holds(FULL_PROFILES) {
            Self::Full
        } else {
            Self::Basic
        }
    }
}

/// `user` with only the basic profile left, as `User.ReadBasic.All` reads it.
fn basic(mut fields: Value) -> Value {
    for (name, value) in fields.as_object_mut().expect("an object").iter_mut() {
        if !BASIC_PROPERTIES.contains(&name.as_str()) {
            *value = if value.is_array() {
                json!([])
            } else {
                Value::Null
            };
        }
    }
    fields
}

/// `user` as `type_` projects it for `query`; the selection for the context.
fn project(
    user: &User,
    type_: &EntityType,
    query: &Query,
    profile: Profile,
) -> Result<(Value, Option<Vec<&'static str>>), GraphError> {
    let selection = type_.selection(query)?;
    let fields = match profile {
        Profile::Full => user_json(user),
        Profile::Basic => basic(user_json(user)),
    };
    let mut object = type_.project(
        &fields,
        Some(selection.as_deref().unwrap_or(DEFAULT_PROPERTIES)),
    );
    if type_.always.contains(&"@odata.type") {
        object["@odata.type"] = json!("#microsoft.graph.user");
    }
    Ok((object, selection))
}

fn entity(
    graph: &Graph,
    user: &User,
    type_: &EntityType,
    set: &str,
    query: &Query,
    profile: Profile,
) -> Result<Response, GraphError> {
    let (mut object, selection) = project(user, type_, query, profile)?;
    object["@odata.context"] = json!(context(&graph.base_url, set, selection.as_deref(), true));
    Ok(Json(object).into_response())
}

pub async fn me(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    caller.require(SELF, Workload::Directory)?;
    entity(
        &graph,
        caller.0.user,
        &USER,
        "users",
        &Query::parse(query.as_deref())?,
        Profile::Full,
    )
}

pub async fn user(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    let user = find(&id)?;
    let permissions = if user.key == caller.0.user.key {
        SELF
    } else {
        OTHERS
    };
    caller.require(permissions, Workload::Directory)?;
    entity(
        &graph,
        user,
        &USER,
        "users",
        &query,
        Profile::of(&caller, user),
    )
}

pub async fn my_manager(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    manager_of(&graph, &caller, caller.0.user, query.as_deref())
}

pub async fn manager(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let user = find(&id)?;
    manager_of(&graph, &caller, user, query.as_deref())
}

fn manager_of(
    graph: &Graph,
    caller: &Caller,
    user: &User,
    query: Option<&str>,
) -> Result<Response, GraphError> {
    let query = Query::parse(query)?;
    caller.require(MANAGER, Workload::Directory)?;
    let manager = user.manager().ok_or_else(|| not_found("manager"))?;
    entity(
        graph,
        manager,
        &DIRECTORY_OBJECT,
        "directoryObjects",
        &query,
        Profile::Full,
    )
}

pub async fn my_direct_reports(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(SELF, Workload::Directory)?;
    reports_of(&graph, &caller, caller.0.user, &uri, &query)
}

/// `/users/{id}/directReports`: `User.Read` and `User.ReadBasic.All` together, or
/// `User.Read.All` (or `Directory.Read.All`).
pub async fn direct_reports(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    let user = find(&id)?;
    let both = caller.holds(&["User.Read"]) && caller.holds(&["User.ReadBasic.All"]);
    if !both && !caller.holds(FULL_PROFILES) {
        return Err(GraphError::denied(Workload::Directory));
    }
    reports_of(&graph, &caller, user, &uri, &query)
}

fn reports_of(
    graph: &Graph,
    caller: &Caller,
    manager: &User,
    uri: &Uri,
    query: &Query,
) -> Result<Response, GraphError> {
    // Reading other users' names needs more than User.Read: Graph returns them as bare ids.
    let limited = !caller.holds(OTHERS);
    let mut items = Vec::new();
    for report in USERS.iter().filter(|u| u.manager == Some(manager.key)) {
        let (mut object, _) = project(
            report,
            &DIRECTORY_OBJECT,
            query,
            Profile::of(caller, report),
        )?;
        if limited {
            for (name, value) in object.as_object_mut().expect("an object").iter_mut() {
                if name != "@odata.type" && name != "id" {
                    *value = Value::Null;
                }
            }
            object["id"] = json!(report.object_id);
        }
        items.push(object);
    }
    let selection = DIRECTORY_OBJECT.selection(query)?;
    let collection = Collection {
        base_url: &graph.base_url,
        path: uri.path(),
        context: context(
            &graph.base_url,
            "directoryObjects",
            selection.as_deref(),
            false,
        ),
        default_page: 100,
        max_page: 999,
        paging: Paging::SkipToken,
    };
    Ok(Json(collection.page(items, query)?).into_response())
}

pub async fn list(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(OTHERS, Workload::Directory)?;
    let eventual = headers
        .get("consistencylevel")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("eventual"));
    if query.search.is_some() && !eventual {
        return Err(GraphError::bad_request(
            "Request_UnsupportedQuery",
            "Request with $search query parameter only works through MSGraph with a special \
             request header: 'ConsistencyLevel: eventual'",
        ));
    }
    if query.count && !eventual {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            "$count is not currently supported without the request header \
             'ConsistencyLevel: eventual'.",
        ));
    }
    let search = query.search.as_deref().map(Search::parse).transpose()?;
    let filter = query.filter.as_deref().map(Filter::parse).transpose()?;
    let selection = USER.selection(&query)?;
    let mut items = Vec::new();
    for user in USERS {
        // The directory matches on everything it stores, then shows what the caller may read.
        let fields = user_json(user);
        if search
            .as_ref()
            .is_some_and(|search| !search.matches(&fields))
            || filter
                .as_ref()
                .is_some_and(|filter| !filter.matches(&fields))
        {
            continue;
        }
        let shown = match Profile::of(&caller, user) {
            Profile::Full => fields,
            Profile::Basic => basic(fields),
        };
        items.push(USER.project(
            &shown,
            Some(selection.as_deref().unwrap_or(DEFAULT_PROPERTIES)),
        ));
    }
    let collection = Collection {
        base_url: &graph.base_url,
        path: uri.path(),
        context: context(&graph.base_url, "users", selection.as_deref(), false),
        default_page: 100,
        max_page: 999,
        paging: Paging::SkipToken,
    };
    Ok(Json(collection.page(items, &query)?).into_response())
}

/// A user by object id or user principal name.
fn find(id: &str) -> Result<&'static User, GraphError> {
    USERS
        .iter()
        .find(|user| {
            user.object_id.eq_ignore_ascii_case(id)
                || user.user_principal_name.eq_ignore_ascii_case(id)
        })
        .ok_or_else(|| not_found(id))
}

fn not_found(resource: &str) -> GraphError {
    GraphError::new(
        axum::http::StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!(
            "Resource '{resource}' does not exist or one of its queried reference-property \
             objects are not present."
        ),
    )
}

/// The string value of `property` in `fields`, matched case-insensitively.
fn text_property<'a>(fields: &'a Value, property: &str) -> Result<Option<&'a str>, GraphError> {
    let name = USER
        .properties
        .iter()
        .find(|name| name.eq_ignore_ascii_case(property))
        .ok_or_else(|| {
            GraphError::bad_request(
                "Request_UnsupportedQuery",
                format!("Unsupported or invalid query filter clause specified for property '{property}' of resource 'User'."),
            )
        })?;
    Ok(fields[*name].as_str())
}

/// An advanced-query `$search`: `"property:text"` clauses joined by `OR` or `AND`.
#[derive(Debug)]
struct Search {
    clauses: Vec<(String, String)>,
    all: bool,
}

impl Search {
    fn parse(search: &str) -> Result<Self, GraphError> {
        let invalid = || {
            GraphError::bad_request(
                "Request_UnsupportedQuery",
                format!(
                    "Invalid $search value '{search}': write quoted \"property:text\" clauses, \
                     joined by OR or AND."
                ),
            )
        };
        let mut clauses = Vec::new();
        let mut joiners = Vec::new();
        let mut rest = search.trim();
        loop {
            let inner = rest.strip_prefix('"').ok_or_else(invalid)?;
            let end = inner.find('"').ok_or_else(invalid)?;
            let (property, text) = inner[..end].split_once(':').ok_or_else(invalid)?;
            clauses.push((property.trim().to_owned(), text.trim().to_lowercase()));
            rest = inner[end + 1..].trim_start();
            if rest.is_empty() {
                break;
            }
            let (joiner, after) = rest.split_once(' ').ok_or_else(invalid)?;
            if joiner != "OR" && joiner != "AND" {
                return Err(invalid());
            }
            joiners.push(joiner);
            rest = after.trim_start();
        }
        if joiners.windows(2).any(|pair| pair[0] != pair[1]) {
            return Err(invalid());
        }
        for (property, _) in &clauses {
            text_property(&Value::Null, property)?;
        }
        Ok(Self {
            clauses,
            all: joiners.first() == Some(&"AND"),
        })
    }

    fn matches(&self, fields: &Value) -> bool {
        let clause = |(property, text): &(String, String)| {
            text_property(fields, property)
                .ok()
                .flatten()
                .is_some_and(|value| {
                    let value = value.to_lowercase();
                    value.starts_with(text.as_str())
                        || value
                            .split(|c: char| !c.is_alphanumeric())
                            .any(|word| word.starts_with(text.as_str()))
                })
        };
        if self.all {
            self.clauses.iter().all(clause)
        } else {
            self.clauses.iter().any(clause)
        }
    }
}

/// `startswith(property,'text')` or `property eq 'text'`.
#[derive(Debug)]
enum Filter {
    StartsWith(String, String),
    Equals(String, String),
}

impl Filter {
    fn parse(filter: &str) -> Result<Self, GraphError> {
        let invalid = || {
            GraphError::bad_request(
                "Request_UnsupportedQuery",
                format!(
                    "Unsupported or invalid query filter clause: '{filter}'. The devstack supports startswith(property,'text') and property eq 'text'."
                ),
            )
        };
        let filter = filter.trim();
        let parsed = if let Some(arguments) = filter
            .strip_prefix("startswith(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            let (property, literal) = arguments.split_once(',').ok_or_else(invalid)?;
            Self::StartsWith(
                property.trim().to_owned(),
                string_literal(literal.trim()).ok_or_else(invalid)?,
            )
        } else {
            let (property, literal) = filter.split_once(" eq ").ok_or_else(invalid)?;
            Self::Equals(
                property.trim().to_owned(),
                string_literal(literal.trim()).ok_or_else(invalid)?,
            )
        };
        let (Self::StartsWith(property, _) | Self::Equals(property, _)) = &parsed;
        text_property(&Value::Null, property)?;
        Ok(parsed)
    }

    fn matches(&self, fields: &Value) -> bool {
        match self {
            Self::StartsWith(property, text) => text_property(fields, property)
                .ok()
                .flatten()
                .is_some_and(|value| value.to_lowercase().starts_with(&text.to_lowercase())),
            Self::Equals(property, text) => text_property(fields, property)
                .ok()
                .flatten()
                .is_some_and(|value| value.eq_ignore_ascii_case(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant;

    fn fields(key: &str) -> Value {
        user_json(tenant::user(key).unwrap())
    }

    #[test]
    fn search_clauses_match_word_prefixes() {
        let search = Search::parse("\"displayName:ad\"").unwrap();
        assert!(search.matches(&fields("adele")));
        assert!(!search.matches(&fields("alex")));
        let either = Search::parse("\"displayName:wil\" OR \"jobTitle:president\"").unwrap();
        assert!(either.matches(&fields("alex")), "Alex Wilber");
        assert!(either.matches(&fields("nestor")), "Nestor Wilke");
        assert!(either.matches(&fields("patti")));
        assert!(!either.matches(&fields("adele")));
        let both = Search::parse("\"department:marketing\" AND \"jobTitle:manager\"").unwrap();
        assert!(both.matches(&fields("megan")));
        assert!(!both.matches(&fields("alex")));
    }

    #[test]
    fn malformed_searches_are_refused() {
        for bad in [
            "displayName:ad",
            "\"displayName\"",
            "\"displayName:a\" XOR \"mail:b\"",
            "\"displayName:a\" OR \"mail:b\" AND \"surname:c\"",
            "\"shoeSize:42\"",
        ] {
            assert!(Search::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        let starts = Filter::parse("startswith(displayName,'meg')").unwrap();
        assert!(starts.matches(&fields("megan")));
        assert!(!starts.matches(&fields("adele")));
        let equals = Filter::parse("department eq 'Sales & Marketing'").unwrap();
        assert!(equals.matches(&fields("miriam")));
        let quoted = Filter::parse("surname eq 'O''Neil'").unwrap();
        assert!(!quoted.matches(&fields("adele")));
        assert!(Filter::parse("shoeSize eq '42'").is_err());
        assert!(Filter::parse("displayName ne 'x'").is_err());
    }

    #[test]
    fn users_are_found_by_id_or_upn_only() {
        let adele = tenant::user("adele").unwrap();
        assert_eq!(find(adele.object_id).unwrap().key, "adele");
        assert_eq!(find("ADELE@contoso.example").unwrap().key, "adele");
        assert_eq!(find("adele").unwrap_err().code, "Request_ResourceNotFound");
    }
}
