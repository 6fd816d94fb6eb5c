//! `get_my_profile`: who the signed-in user is in Microsoft 365, and their mailbox time zone.
//!
//! `GET /me` with a `$select` of the useful profile fields (Graph `User.Read`), and
//! `GET /me/mailboxSettings?$select=timeZone` (Graph `MailboxSettings.Read`) when that permission
//! was consented: other tools need the time zone to talk about "today" and "9 am" correctly.
//! Both calls share one Graph token. If only `User.Read` was consented, the profile comes back
//! without the time zone and says why.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    caller::Access,
    config::Toolset,
    graph::{GraphError, GraphRequest},
    tools::{
        Effect, GraphPermissions, GraphTool, NoArguments, ToolError, ToolSpec,
        delegated::{Failure, Session},
    },
};

const TIME_ZONE_PERMISSION: &str = "MailboxSettings.Read";
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

pub struct GetMyProfile;

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

impl GraphTool for GetMyProfile {
    type Input = NoArguments;
    type Output = Profile;

    const SPEC: ToolSpec = ToolSpec {
        name: "get_my_profile",
        title: "My Microsoft 365 profile",
        description: "The signed-in user's profile and mailbox time zone: who \"me\" is and \
                      how to read dates for them.",
        toolset: Toolset::Profile,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        // Without the time zone the profile is still worth returning.
        graph: GraphPermissions {
            required: &["User.Read"],
            optional: &[TIME_ZONE_PERMISSION],
        },
    };

    async fn call(&self, session: &Session<'_>, _input: NoArguments) -> Result<Profile, ToolError> {
        let me = GraphRequest::get("me", &[], FIELDS);
        if !session.has(TIME_ZONE_PERMISSION) {
            let user = session.get::<GraphUser>(&me).await?;
            return Ok(profile(
                user,
                None,
                Some(
                    "The mailbox time zone needs the Graph permission MailboxSettings.Read, \
                     which has not been consented for this server.",
                ),
            ));
        }
        let settings = GraphRequest::get("me/mailboxSettings", &[], &["timeZone"]);
        let (user, settings) = tokio::join!(
            session.get::<GraphUser>(&me),
            session.attempt::<MailboxSettings>(&settings)
        );
        let (time_zone, note) = match settings {
            Ok(settings) => (settings.time_zone, None),
            Err(Failure::Graph(error)) if error.is_forbidden() => (
                None,
                Some("The mailbox settings are not readable for this user."),
            ),
            Err(Failure::Graph(GraphError::Status { status: 404, .. })) => {
                (None, Some("This user has no mailbox."))
            }
            Err(failure) => return Err(session.explain(failure)),
        };
        Ok(profile(user?, time_zone, note))
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
