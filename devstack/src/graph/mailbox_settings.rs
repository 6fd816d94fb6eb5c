//! `GET /me/mailboxSettings`: the signed-in user's Outlook settings, the product's source for
//! the user's time zone and working hours (`$select=timeZone,workingHours`).
//!
//! The zone is what was set on the mailbox: usually a Windows name (`Pacific Standard Time`),
//! sometimes an IANA one (`America/New_York`); `Prefer: outlook.timezone` accepts either.
//! Date and time formats follow the mailbox language.

use std::sync::Arc;

use axum::{
    Json,
    extract::{RawQuery, State},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    odata::{EntityType, Query, context},
};
use crate::tenant::User;

const MAILBOX_SETTINGS: EntityType = EntityType {
    name: "microsoft.graph.mailboxSettings",
    workload: Workload::Outlook,
    properties: &[
        "archiveFolder",
        "timeZone",
        "automaticRepliesSetting",
        "language",
        "workingHours",
        "dateFormat",
        "timeFormat",
        "delegateMeetingMessageDeliveryOptions",
        "userPurpose",
    ],
    always: &[],
};

const READ: &[&str] = &["MailboxSettings.Read", "MailboxSettings.ReadWrite"];

pub async fn get(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(READ, Workload::Outlook)?;
    let user = caller.0.user;
    let selection = MAILBOX_SETTINGS.selection(&query)?;
    let mut settings = MAILBOX_SETTINGS.project(&settings(user), selection.as_deref());
    settings["@odata.context"] = json!(context(
        &graph.base_url,
        &format!("users('{}')/mailboxSettings", user.object_id),
        selection.as_deref(),
        false,
    ));
    Ok(Json(settings).into_response())
}

pub fn settings(user: &User) -> Value {
    let (language, date_format, time_format) = match user.preferred_language {
        "de-DE" => ("German (Germany)", "dd.MM.yyyy", "HH:mm"),
        "es-ES" => ("Spanish (Spain)", "dd/MM/yyyy", "H:mm"),
        "en-IN" => ("English (India)", "dd-MM-yyyy", "HH:mm"),
        "ja-JP" => ("Japanese (Japan)", "yyyy/MM/dd", "H:mm"),
        _ => ("English (United States)", "M/d/yyyy", "h:mm tt"),
    };
    json!({
        "archiveFolder": format!("AQMkAD{}AAAA", &user.object_id.replace('-', "")[..24]),
        "timeZone": user.mailbox_time_zone,
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": date_format,
        "timeFormat": time_format,
        "userPurpose": "user",
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": { "dateTime": "2025-01-01T00:00:00.0000000", "timeZone": "UTC" },
            "scheduledEndDateTime": { "dateTime": "2025-01-02T00:00:00.0000000", "timeZone": "UTC" },
        },
        "language": { "locale": user.preferred_language, "displayName": language },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": { "name": user.mailbox_time_zone },
        },
    })
}
