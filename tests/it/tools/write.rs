//! The write tools: off unless the operator enables `write` and the user holds `MCP.Writer`;
//! a first call changes nothing and returns a preview and a confirmation; only the same
//! arguments, from the same user, with that confirmation, write, exactly once, exactly what was
//! previewed. A changed argument, another user, another tool, a forged value: refused, nothing
//! sent.

use serde_json::{Value, json};

use super::*;

fn mail() -> Value {
    json!({
        "to": ["alex@contoso.example"],
        "cc": ["Isaiah@Contoso.example"],
        "subject": "Offsite: agenda draft",
        "body": "Hi Alex,\nthe draft is in the shared folder.\nMegan",
    })
}

fn with(arguments: &Value, name: &str, value: Value) -> Value {
    let mut arguments = arguments.clone();
    arguments[name] = value;
    arguments
}

fn posts(server: &TestServer) -> usize {
    graph_requests(server)
        .iter()
        .filter(|request| request.method == "POST")
        .count()
}

#[tokio::test]
async fn send_mail_previews_then_sends_exactly_once_exactly_what_was_previewed() {
    let server = server();
    let preview = call_as(&server, "megan", "send_mail", mail()).await;
    let preview = structured(&preview).clone();
    assert_eq!(preview["status"], "preview");
    assert_eq!(preview["message"]["cc"], json!(["isaiah@contoso.example"]));
    assert!(string(&preview, "note").contains("Nothing was sent"));
    assert_eq!(posts(&server), 0, "a preview sends nothing");
    assert!(server.devstack.sent_mail("megan").is_empty());

    let confirmation = string(&preview, "confirmation").to_owned();
    let sent = call_as(
        &server,
        "megan",
        "send_mail",
        with(&mail(), "confirmation", json!(confirmation)),
    )
    .await;
    assert_eq!(structured(&sent)["status"], "sent");
    assert_eq!(server.devstack.sent_mail("megan").len(), 1);
    let post = graph_requests(&server)
        .into_iter()
        .find(|request| request.method == "POST" && request.path == "/v1.0/me/sendMail")
        .unwrap();
    let sent: Value = serde_json::from_str(&post.body).unwrap();
    let message = &sent["message"];
    assert_eq!(message["subject"], preview["message"]["subject"]);
    assert_eq!(message["body"]["content"], preview["message"]["body"]);
    assert_eq!(message["body"]["contentType"], "Text");
    assert_eq!(
        message["toRecipients"][0]["emailAddress"]["address"],
        "alex@contoso.example"
    );
    assert_eq!(
        message["ccRecipients"][0]["emailAddress"]["address"],
        "isaiah@contoso.example"
    );
    assert_eq!(posts(&server), 1);
}

#[tokio::test]
async fn a_confirmation_for_other_arguments_another_user_or_another_tool_sends_nothing() {
    let server = server();
    let preview = call_as(&server, "megan", "send_mail", mail()).await;
    let confirmation = string(structured(&preview), "confirmation").to_owned();
    let mut forged = confirmation.clone().into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();

    // Adele is made a writer for this test, so only the confirmation stands in the way.
    let mut claims = server
        .devstack
        .user_claims("adele", &[devstack::tenant::USER_IMPERSONATION]);
    claims["roles"] = json!([m365_mcp::tools::WRITER_ROLE]);
    let adele = server
        .devstack
        .sign(&server.devstack.token_header(), &claims);

    let refusals = [
        (
            token_of(&server, "megan"),
            with(&mail(), "subject", json!("Offsite: agenda final")),
        ),
        (
            token_of(&server, "megan"),
            with(&mail(), "to", json!(["attacker@evil.example"])),
        ),
        (
            token_of(&server, "megan"),
            with(&mail(), "body", json!("Something else entirely")),
        ),
        (adele, mail()),
        (token_of(&server, "megan"), mail()),
    ];
    for (index, (token, arguments)) in refusals.into_iter().enumerate() {
        let presented = if index == 4 {
            forged.clone()
        } else {
            confirmation.clone()
        };
        let response = call_tool(
            &server.mcp_url(),
            &token,
            "send_mail",
            with(&arguments, "confirmation", json!(presented)),
        )
        .await;
        let body: Value = response.json().await.unwrap();
        let error = tool_error(&body);
        assert!(error.contains("Nothing was sent"), "{index}: {error}");
    }
    // A confirmation of send_mail does not create an event either.
    let event = call_as(
        &server,
        "megan",
        "create_event",
        json!({
            "subject": "Offsite: agenda draft",
            "start": "2026-12-15T10:00",
            "end": "2026-12-15T10:30",
            "confirmation": confirmation,
        }),
    )
    .await;
    assert!(tool_error(&event).contains("Nothing was sent"));
    assert_eq!(posts(&server), 0);
    assert!(server.devstack.sent_mail("megan").is_empty());
    assert!(server.devstack.created_events("megan").is_empty());
}

#[tokio::test]
async fn create_event_writes_the_users_wall_clock_and_zone_once() {
    let server = server();
    let arguments = json!({
        "subject": "Offsite follow-up",
        "start": "2026-12-15T10:00",
        "end": "2026-12-15T10:30",
        "attendees": ["alex@contoso.example"],
        "location": "Conf Room Rainier",
        "body": "Decisions and owners.",
    });
    let preview = call_as(&server, "megan", "create_event", arguments.clone()).await;
    let preview = structured(&preview).clone();
    assert_eq!(preview["status"], "preview");
    assert_eq!(preview["event"]["start"], "2026-12-15T10:00:00-05:00");
    assert!(server.devstack.created_events("megan").is_empty());

    let confirmed = with(&arguments, "confirmation", preview["confirmation"].clone());
    let created = call_as(&server, "megan", "create_event", confirmed.clone()).await;
    let created = structured(&created).clone();
    assert_eq!(created["status"], "created");
    let id = string(&created, "event_id").to_owned();
    let shown = call_as(&server, "megan", "get_event", json!({ "event_id": id })).await;
    assert_eq!(structured(&shown)["start"], "2026-12-15T10:00:00-05:00");
    let post = graph_requests(&server)
        .into_iter()
        .find(|request| request.method == "POST" && request.path == "/v1.0/me/events")
        .unwrap();
    let sent: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(
        sent["start"],
        json!({ "dateTime": "2026-12-15T10:00:00", "timeZone": "America/New_York" }),
        "an explicit wall clock and zone, never bare UTC"
    );
    assert_eq!(
        sent["attendees"][0]["emailAddress"]["address"],
        "alex@contoso.example"
    );

    // The same confirmed call again creates nothing new: Graph sees the same transaction id.
    call_as(&server, "megan", "create_event", confirmed).await;
    assert_eq!(server.devstack.created_events("megan").len(), 1);
}

#[tokio::test]
async fn write_tools_need_the_toolset_and_the_writer_role() {
    // Enabled, but Adele holds no MCP.Writer: not listed, and a call is refused with a 403
    // saying an administrator must assign the role.
    let server = server();
    let listed = tool_names(&server.mcp_url(), &token_of(&server, "adele")).await;
    assert!(
        !listed
            .iter()
            .any(|name| name == "send_mail" || name == "create_event")
    );
    let refused = call_tool(
        &server.mcp_url(),
        &token_of(&server, "adele"),
        "send_mail",
        mail(),
    )
    .await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(m365_mcp::tools::WRITER_ROLE),
        "{body}"
    );
    let listed = tool_names(&server.mcp_url(), &token_of(&server, "megan")).await;
    assert!(listed.iter().any(|name| name == "send_mail"));
    assert!(listed.iter().any(|name| name == "create_event"));

    // Not enabled: even a writer sees neither, and a call is an unknown tool.
    let default = TestServer::start();
    let listed = tool_names(&default.mcp_url(), &token_of(&default, "megan")).await;
    assert!(
        !listed
            .iter()
            .any(|name| name == "send_mail" || name == "create_event")
    );
    let body: Value = call_tool(
        &default.mcp_url(),
        &token_of(&default, "megan"),
        "send_mail",
        mail(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert!(default.devstack.sent_mail("megan").is_empty());
}

fn refused_once(status: u16) -> Vec<devstack::GraphFault> {
    vec![devstack::GraphFault::Status {
        status,
        retry_after: None,
    }]
}

#[tokio::test]
async fn a_confirmation_sends_once_however_often_it_is_replayed_unless_graph_refused_it() {
    let server = server();
    let preview = call_as(&server, "megan", "send_mail", mail()).await;
    let confirmed = with(
        &mail(),
        "confirmation",
        json!(string(structured(&preview), "confirmation")),
    );

    // A 400 means Graph sent nothing, so the confirmation is still good for one send.
    server
        .devstack
        .inject_graph_faults("/v1.0/me/sendMail", refused_once(400));
    tool_error(&call_as(&server, "megan", "send_mail", confirmed.clone()).await);
    assert!(server.devstack.sent_mail("megan").is_empty());

    let sent = call_as(&server, "megan", "send_mail", confirmed.clone()).await;
    assert_eq!(structured(&sent)["status"], "sent");
    for _ in 0..3 {
        let replayed = call_as(&server, "megan", "send_mail", confirmed.clone()).await;
        assert!(tool_error(&replayed).contains("already used"));
    }
    assert_eq!(server.devstack.sent_mail("megan").len(), 1);
}

#[tokio::test]
async fn a_send_graph_may_have_carried_out_is_not_repeated_with_the_same_confirmation() {
    let server = server();
    let preview = call_as(&server, "megan", "send_mail", mail()).await;
    let confirmed = with(
        &mail(),
        "confirmation",
        json!(string(structured(&preview), "confirmation")),
    );

    // A 503 to a send does not say whether the message went out: the retry must not risk a
    // second copy, and tells the model where to look instead.
    server
        .devstack
        .inject_graph_faults("/v1.0/me/sendMail", refused_once(503));
    tool_error(&call_as(&server, "megan", "send_mail", confirmed.clone()).await);
    let retried = tool_error(&call_as(&server, "megan", "send_mail", confirmed).await);
    assert!(retried.contains("already used"), "{retried}");
    assert!(retried.contains("Sent Items"), "{retried}");
    let sends = graph_requests(&server)
        .into_iter()
        .filter(|request| request.path == "/v1.0/me/sendMail")
        .count();
    assert_eq!(sends, 1, "only the first attempt reached Graph");
}
