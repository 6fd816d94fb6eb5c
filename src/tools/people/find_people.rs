//! `find_people`: people whose name or address matches, most relevant to the user first.
//!
//! The People API (`GET /me/people?$search=`, `People.Read`) ranks the people the user works
//! with; the directory (`GET /users?$search="displayName:…" OR "mail:…"`, `User.ReadBasic.All`)
//! finds everyone else. Both are asked at once; the directory's matches follow the relevant
//! ones, without repeats, and a cursor continues through the directory.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    caller::Access,
    config::Toolset,
    graph::{GraphRequest, paging::Limits},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::Session,
        shapes::{Colleague, GraphUser, USER_FIELDS, cleaned},
        untrusted::Rendering,
    },
};

pub struct FindPeople;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// A name, part of a name, or an e-mail address.
    pub query: String,
    /// Default 10.
    #[schemars(range(min = 1, max = 25))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub people: Vec<Colleague>,
    /// Pass it as `cursor` to see more matches from the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A person as the People API returns them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphPerson {
    id: Option<String>,
    display_name: Option<String>,
    #[serde(default)]
    scored_email_addresses: Vec<ScoredAddress>,
    user_principal_name: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    office_location: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ScoredAddress {
    address: Option<String>,
}

impl From<GraphPerson> for Colleague {
    fn from(person: GraphPerson) -> Self {
        let address = person
            .scored_email_addresses
            .into_iter()
            .find_map(|scored| scored.address)
            .or(person.user_principal_name);
        Colleague {
            id: person.id,
            name: cleaned(person.display_name),
            address: cleaned(address),
            job_title: cleaned(person.job_title),
            department: cleaned(person.department),
            office: cleaned(person.office_location),
        }
    }
}

const PERSON_FIELDS: &[&str] = &[
    "id",
    "displayName",
    "scoredEmailAddresses",
    "userPrincipalName",
    "jobTitle",
    "department",
    "officeLocation",
];

impl GraphTool for FindPeople {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "find_people",
        title: "Find people",
        description: "Finds colleagues by name or address, people the user works with first: \
                      address, title, department, office. Use it to turn a name into an address.",
        toolset: Toolset::People,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(&["People.Read", "User.ReadBasic.All"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let query = arguments::text("query", &input.query, 120)?;
        let max = arguments::max_results(input.max_results, 10, 25);
        let directory = GraphRequest::get("users", &[], USER_FIELDS)
            .search_any(&[("displayName", query), ("mail", query)])
            .top(max);
        let limits = Limits {
            max_pages: 1,
            max_items: max as usize,
        };
        if let Some(cursor) = input.cursor.as_deref() {
            let page = session
                .list::<GraphUser>(&directory, Some(cursor), limits)
                .await?;
            return Ok(Output {
                people: page.items.into_iter().map(Colleague::from).collect(),
                next_cursor: page.next_cursor,
            });
        }
        let relevant = GraphRequest::get("me/people", &[], PERSON_FIELDS)
            .search_term(query)
            .top(max);
        let (relevant, found) = tokio::join!(
            session.list::<GraphPerson>(&relevant, None, limits),
            session.list::<GraphUser>(&directory, None, limits)
        );
        let (relevant, found) = (relevant?, found?);
        let mut seen = HashSet::new();
        let people: Vec<Colleague> = relevant
            .items
            .into_iter()
            .map(Colleague::from)
            .chain(found.items.into_iter().map(Colleague::from))
            .filter(|person| {
                let key = person
                    .address
                    .clone()
                    .or_else(|| person.id.clone())
                    .map(|key| key.to_lowercase());
                key.is_none_or(|key| seen.insert(key))
            })
            .take(max as usize)
            .collect();
        Ok(Output {
            people,
            next_cursor: found.next_cursor,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if output.people.is_empty() {
            rendering.line("No one matches.");
        }
        for person in &output.people {
            person.render(&mut rendering, "person");
        }
        if output.next_cursor.is_some() {
            rendering.line("More matches: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}
