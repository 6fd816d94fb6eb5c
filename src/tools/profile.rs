//! `get_my_profile`: who the signed-in user is in Microsoft 365, and their mailbox time zone.
//!
//! `GET /me` with a `$select` of the useful profile fields (Graph `User.Read`), and
//! `GET /me/mailboxSettings?$select=timeZone` (Graph `MailboxSettings.Read`) when that permission
//! was consented: other tools need the time zone to talk about "today" and "9 am" correctly.
//! Both calls share one Graph token. If only `User.Read` was consented, the profile comes back
//! without the time zone and says why.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    Effect, NoArguments, Tool, ToolContext, ToolError, ToolSpec,
    delegated::{Failure, SharedGraph},
};
use crate::{caller::Access, graph::GraphRequest, identity::obo::ExchangeError};

const PROFILE: &[&str] = &["User.Read"];
const PROFILE_AND_TIME_ZONE: &[&str] = &["User.Read", "MailboxSettings.Read"];
const FIELDS: &[&str] = &[
    "id",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "officeLocation",
    "mail",
    "userPrincipalName",
    "businessPhones",
    "mobilePhone",
    "preferredLanguage",
];

pub struct GetMyProfile {
    graph: SharedGraph,
}

impl GetMyProfile {
    pub fn new(graph: SharedGraph) -> Self {
        Self { graph }
    }
}

/// The user as Graph returns it (`$select` of [`FIELDS`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    id: String,
    display_name: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    office_location: Option<String>,
    mail: Option<String>,
    user_principal_name: Option<String>,
    #[serde(default)]
    business_phones: Vec<String>,
    mobile_phone: Option<String>,
    preferred_language: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MailboxSettings {
    time_zone: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The user's object id in the tenant.
    pub id: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    /// Primary SMTP address.
    pub mail: Option<String>,
    pub user_principal_name: Option<String>,
    pub business_phones: Vec<String>,
    pub mobile_phone: Option<String>,
    /// e.g. `en-US`.
    pub preferred_language: Option<String>,
    /// The mailbox time zone as Outlook names it (e.g. `Pacific Standard Time`), when readable.
    pub time_zone: Option<String>,
    /// Why `timeZone` is missing, when it is.
    pub time_zone_note: Option<String>,
}

impl Tool for GetMyProfile {
    type Input = NoArguments;
    type Output = Profile;

    const SPEC: ToolSpec = ToolSpec {
        name: "get_my_profile",
        title: "My Microsoft 365 profile",
        description: "Returns the signed-in user's Microsoft 365 profile: name, job title, \
                      department, office, e-mail, phones, preferred language, and the mailbox \
                      time zone (use it to interpret dates and times for this user).",
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph_scopes: PROFILE_AND_TIME_ZONE,
    };

    async fn call(&self, ctx: &ToolContext, _input: NoArguments) -> Result<Profile, ToolError> {
        let me = GraphRequest::get(&["me"], FIELDS);
        let settings = GraphRequest::get(&["me", "mailboxSettings"], &["timeZone"]);
        match self.graph.session(ctx, PROFILE_AND_TIME_ZONE).await {
            Ok(session) => {
                let (user, settings) = tokio::join!(
                    session.get::<GraphUser>(&me),
                    session.get::<MailboxSettings>(&settings)
                );
                let user = user.map_err(|failure| session.explain(failure))?;
                let (time_zone, note) = match settings {
                    Ok(settings) => (settings.time_zone, None),
                    Err(Failure::Graph(error)) if error.is_forbidden() => (
                        None,
                        Some("The mailbox settings are not readable for this user."),
                    ),
                    Err(Failure::Graph(crate::graph::GraphError::Status {
                        status: 404, ..
                    })) => (None, Some("This user has no mailbox.")),
                    Err(failure) => return Err(session.explain(failure)),
                };
                Ok(profile(user, time_zone, note))
            }
            // Without consent for the time zone, the profile alone is still worth returning.
            Err(Failure::Exchange(ExchangeError::ConsentRequired)) => {
                let session = self
                    .graph
                    .session(ctx, PROFILE)
                    .await
                    .map_err(|failure| self.graph.explain(ctx, PROFILE, failure))?;
                let user = session
                    .get::<GraphUser>(&me)
                    .await
                    .map_err(|failure| session.explain(failure))?;
                Ok(profile(
                    user,
                    None,
                    Some(
                        "The mailbox time zone needs the Graph permission MailboxSettings.Read, \
                         which has not been consented for this server.",
                    ),
                ))
            }
            Err(failure) => Err(self.graph.explain(ctx, PROFILE_AND_TIME_ZONE, failure)),
        }
    }
}

fn profile(user: GraphUser, time_zone: Option<String>, note: Option<&str>) -> Profile {
    Profile {
        id: user.id,
        display_name: user.display_name,
        given_name: user.given_name,
        surname: user.surname,
        job_title: user.job_title,
        department: user.department,
        office_location: user.office_location,
        mail: user.mail,
        user_principal_name: user.user_principal_name,
        business_phones: user.business_phones,
        mobile_phone: user.mobile_phone,
        preferred_language: user.preferred_language,
        time_zone,
        time_zone_note: note.map(str::to_owned),
    }
}
