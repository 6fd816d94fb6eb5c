//! `get_user`: one colleague, with their manager and direct reports.
//!
//! `GET /users/{id or address}` and `/directReports` need `User.ReadBasic.All` (and `User.Read`);
//! `/manager` needs `User.Read.All`, which only an administrator can grant. Without it the tool
//! still answers, without the manager, and says why. The three calls run at once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    caller::Access,
    config::Toolset,
    graph::{GraphError, GraphRequest, paging::Limits},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::{Failure, Session},
        shapes::{Colleague, GraphUser, USER_FIELDS},
        untrusted::Rendering,
    },
};

pub struct GetUser;

const MANAGER_PERMISSION: &str = "User.Read.All";
/// Reports listed at most; a manager of hundreds gets the first ones and a note.
const MAX_REPORTS: usize = 50;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The colleague's e-mail address, user principal name, or id (from `find_people`).
    pub user: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub user: Colleague,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<Colleague>,
    pub direct_reports: Vec<Colleague>,
    /// Why something is missing, when it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl GraphTool for GetUser {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "get_user",
        title: "Get a colleague",
        description: "A colleague by address or id, with their manager and direct reports: \
                      who someone is and who they work with.",
        toolset: Toolset::People,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions {
            required: &["User.Read", "User.ReadBasic.All"],
            optional: &[MANAGER_PERMISSION],
        },
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let user = arguments::id("user", &input.user)?;
        let profile = GraphRequest::get("users/{}", &[user], USER_FIELDS);
        let reports = GraphRequest::get("users/{}/directReports", &[user], USER_FIELDS)
            .top(MAX_REPORTS as u32);
        let reports_limits = Limits {
            max_pages: 1,
            max_items: MAX_REPORTS,
        };
        let manager = async {
            if !session.has(MANAGER_PERMISSION) {
                return Ok(None);
            }
            let manager = GraphRequest::get("users/{}/manager", &[user], USER_FIELDS);
            match session.attempt::<GraphUser>(&manager).await {
                Ok(manager) => Ok(Some(manager)),
                // No manager: the top of the organization.
                Err(Failure::Graph(GraphError::Status { status: 404, .. })) => Ok(None),
                Err(failure) => Err(session.explain(failure)),
            }
        };
        let (profile, manager, reports) = tokio::join!(
            session.get::<GraphUser>(&profile),
            manager,
            session.list::<GraphUser>(&reports, None, reports_limits)
        );
        let (profile, manager, reports) = (profile?, manager?, reports?);
        let mut notes = Vec::new();
        if !session.has(MANAGER_PERMISSION) {
            notes.push(
                "The manager needs the Graph permission User.Read.All, which an administrator \
                 has not granted this server; job titles and offices may be missing for the \
                 same reason."
                    .to_owned(),
            );
        }
        if reports.next_cursor.is_some() {
            notes.push(format!(
                "Only the first {MAX_REPORTS} direct reports are listed."
            ));
        }
        Ok(Output {
            user: profile.into(),
            manager: manager.map(Colleague::from),
            direct_reports: reports.items.into_iter().map(Colleague::from).collect(),
            notes,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        output.user.render(&mut rendering, "user");
        if let Some(manager) = &output.manager {
            manager.render(&mut rendering, "manager");
        }
        if output.direct_reports.is_empty() {
            rendering.line("Direct reports: none");
        }
        for report in &output.direct_reports {
            report.render(&mut rendering, "direct report");
        }
        for note in &output.notes {
            rendering.line(format!("Note: {note}"));
        }
        Some(rendering.finish())
    }
}
