//! People: `GET /me/people`, the people most relevant to the signed-in user, best first.
//!
//! Relevance comes from what the user's mailbox and calendar show: mail from someone, meetings
//! with them, and the organisation (manager, reports, teammates). The list holds colleagues
//! (`personType: Person / OrganizationUser`) and the user's teams as groups
//! (`Group / UnifiedGroup`); people outside the organisation are not in it. Each person
//! carries the profile fields the directory hides from `User.ReadBasic.All` (job title,
//! department, office), because `People.Read` may read them.
//!
//! - `$search="…"` is fuzzy: a term matches a name or address word it starts, or one a typo
//!   away (`megn` finds Megan); it works only for the signed-in user, returns up to 250 people,
//!   and refuses `$skip`, as Graph does.
//! - `$top` (default 10) and `$skip` page it (next links with `$skip`); `$select` picks
//!   properties; `$filter` supports `personType/class eq '…'` and
//!   `personType/subclass eq '…'`.
//!
//! Needs `People.Read` (or `People.Read.All`); it is an Outlook resource, so the mailbox's
//! concurrency limit applies.

use std::sync::Arc;

use axum::{
    Json,
    extract::{RawQuery, State},
    http::Uri,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    ids,
    odata::{Collection, EntityType, Paging, Query, context, string_literal},
};
use crate::tenant::{TENANT_DOMAIN, USERS, User};

const PERSON: EntityType = EntityType {
    name: "microsoft.graph.person",
    workload: Workload::Outlook,
    properties: &[
        "displayName",
        "givenName",
        "surname",
        "birthday",
        "personNotes",
        "isFavorite",
        "jobTitle",
        "companyName",
        "yomiCompany",
        "department",
        "officeLocation",
        "profession",
        "userPrincipalName",
        "imAddress",
        "scoredEmailAddresses",
        "phones",
        "postalAddresses",
        "websites",
        "personType",
    ],
    always: &["id"],
};

const READ: &[&str] = &["People.Read", "People.Read.All"];
/// The most people a search returns.
const MAX_SEARCH: usize = 250;

/// A person (or group) with how relevant they are to the caller.
struct Ranked {
    json: Value,
    /// The words a search matches: names and address parts, lower case.
    words: Vec<String>,
    score: f64,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn person(user: &User, score: f64) -> Ranked {
    let mut phones: Vec<Value> = user
        .business_phones
        .iter()
        .map(|number| json!({ "type": "business", "number": number }))
        .collect();
    if let Some(mobile) = user.mobile_phone {
        phones.push(json!({ "type": "mobile", "number": mobile }));
    }
    Ranked {
        json: json!({
            "id": user.object_id,
            "displayName": user.display_name,
            "givenName": user.given_name,
            "surname": user.surname,
            "birthday": "",
            "personNotes": "",
            "isFavorite": false,
            "jobTitle": user.job_title,
            "companyName": "Contoso",
            "yomiCompany": "",
            "department": user.department,
            "officeLocation": user.office_location,
            "profession": "",
            "userPrincipalName": user.user_principal_name,
            "imAddress": format!("sip:{}", user.user_principal_name),
            "scoredEmailAddresses": [{
                "address": user.user_principal_name,
                "relevanceScore": score,
                "selectionLikelihood": "notSpecified",
            }],
            "phones": phones,
            "postalAddresses": [],
            "websites": [],
            "personType": { "class": "Person", "subclass": "OrganizationUser" },
        }),
        words: [user.display_name, user.user_principal_name]
            .iter()
            .flat_map(|text| words(text))
            .collect(),
        score,
    }
}

/// The Microsoft 365 group of `manager`'s team.
fn team_group(manager: &User, score: f64) -> Ranked {
    let name = format!("{} Team", manager.department);
    let address = format!("{}team@{TENANT_DOMAIN}", words(manager.department).concat());
    Ranked {
        json: json!({
            "id": ids::guid(&["group", manager.key]),
            "displayName": name,
            "givenName": null,
            "surname": null,
            "birthday": "",
            "personNotes": "",
            "isFavorite": false,
            "jobTitle": null,
            "companyName": null,
            "yomiCompany": "",
            "department": null,
            "officeLocation": null,
            "profession": "",
            "userPrincipalName": "",
            "imAddress": null,
            "scoredEmailAddresses": [{
                "address": address,
                "relevanceScore": score,
                "selectionLikelihood": "notSpecified",
            }],
            "phones": [],
            "postalAddresses": [],
            "websites": [],
            "personType": { "class": "Group", "subclass": "UnifiedGroup" },
        }),
        words: [name.as_str(), address.as_str()]
            .iter()
            .flat_map(|text| words(text))
            .collect(),
        score,
    }
}

/// Everyone relevant to `user`, best first.
fn ranked(graph: &Graph, user: &User) -> Vec<Ranked> {
    let mail = graph.mailboxes.senders(user);
    let meetings = graph.calendars.of(user);
    let mut people: Vec<Ranked> = USERS
        .iter()
        .filter(|other| other.key != user.key)
        .map(|other| {
            let mails = mail
                .iter()
                .filter(|address| address.eq_ignore_ascii_case(other.user_principal_name))
                .count();
            let shared = meetings.iter().filter(|m| m.involves(other)).count();
            let organisation = if user.manager == Some(other.key) {
                8.0
            } else if other.manager == Some(user.key) {
                6.0
            } else if other.manager.is_some() && other.manager == user.manager {
                4.0
            } else {
                0.0
            };
            #[allow(clippy::cast_precision_loss)]
            let score = 3.0 * mails as f64 + 2.0 * shared as f64 + organisation;
            person(other, score)
        })
        .collect();
    if let Some(manager) = user.manager() {
        people.push(team_group(manager, 5.0));
    }
    people.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| {
            a.json["displayName"]
                .as_str()
                .cmp(&b.json["displayName"].as_str())
        })
    });
    people
}

/// Whether `term` matches one of `words`: a prefix, or (for longer terms) one typo away.
fn fuzzy(words: &[String], term: &str) -> bool {
    words.iter().any(|word| {
        word.starts_with(term)
            || (term.chars().count() >= 4 && {
                let prefix: String = word.chars().take(term.chars().count()).collect();
                edits(&prefix, term) <= 1 || edits(word, term) <= 1
            })
    })
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// `personType/class eq 'Person'` or `personType/subclass eq 'OrganizationUser'`.
fn filter(text: &str) -> Result<(&'static str, String), GraphError> {
    let invalid = || {
        GraphError::bad_request(
            "ErrorInvalidUrlQueryFilter",
            format!(
                "The devstack's Graph filters people on personType/class or personType/subclass \
                 eq a string only, not '{text}'."
            ),
        )
    };
    let (property, literal) = text.trim().split_once(" eq ").ok_or_else(invalid)?;
    let property = match property.trim() {
        "personType/class" => "class",
        "personType/subclass" => "subclass",
        _ => return Err(invalid()),
    };
    Ok((
        property,
        string_literal(literal.trim()).ok_or_else(invalid)?,
    ))
}

pub async fn list(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(READ, Workload::Outlook)?;
    let selection = PERSON.selection(&query)?;
    let user = caller.0.user;
    let mut people = ranked(&graph, user);
    if let Some(text) = &query.filter {
        let (property, value) = filter(text)?;
        people.retain(|person| person.json["personType"][property] == value.as_str());
    }
    let searching = query.search.is_some();
    if let Some(search) = &query.search {
        if query.skip > 0 {
            return Err(GraphError::bad_request(
                "ErrorInvalidUrlQuery",
                "The query parameter '$skip' is not supported with '$search'.",
            ));
        }
        let terms = words(search.trim().trim_matches('"').trim_start_matches("topic:"));
        people.retain(|person| terms.iter().all(|term| fuzzy(&person.words, term)));
        people.truncate(MAX_SEARCH);
    }
    let items: Vec<Value> = people
        .iter()
        .map(|person| PERSON.project(&person.json, selection.as_deref()))
        .collect();
    let collection = Collection {
        base_url: &graph.base_url,
        path: uri.path(),
        context: context(
            &graph.base_url,
            &format!("users('{}')/people", user.object_id),
            selection.as_deref(),
            false,
        ),
        default_page: 10,
        max_page: 1000,
        paging: Paging::Skip,
    };
    let mut page = collection.page(items, &query)?;
    if searching {
        // A search cannot be paged: Graph refuses $skip with $search.
        page.as_object_mut()
            .expect("an object")
            .remove("@odata.nextLink");
    }
    Ok(Json(page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_terms_match_prefixes_and_typos() {
        let megan = words("Megan Bowen megan@contoso.example");
        assert!(fuzzy(&megan, "meg"));
        assert!(fuzzy(&megan, "megn"), "a typo");
        assert!(fuzzy(&megan, "bowem"));
        assert!(!fuzzy(&megan, "mxgxn"));
        assert!(!fuzzy(&megan, "gan"), "not a prefix");
        assert_eq!(edits("kitten", "sitting"), 3);
    }

    #[test]
    fn filters_name_the_person_type() {
        assert_eq!(
            filter("personType/class eq 'Person'").unwrap(),
            ("class", "Person".to_owned())
        );
        assert!(filter("personType/class ne 'Person'").is_err());
        assert!(filter("displayName eq 'x'").is_err());
    }
}
