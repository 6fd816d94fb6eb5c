//! Over stdio, `MCP_TOOLSETS` decides both the tools listed and the permissions the sign-in asks
//! for. The user is the server's only user and its operator, so the write tools need only the
//! `write` toolset (no app role: there is no server app); each write still previews first and
//! writes only with its confirmation.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::LocalTenant;
use crate::harness::*;

#[test]
fn the_toolsets_decide_the_tools_and_the_permissions_and_write_needs_only_its_toolset() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[(MCP_TOOLSETS.name, "profile,write")]);
    handler.initialize();
    handler.wait_for_stderr("signed in as adele@contoso.example");

    let listed = handler.request("tools/list", json!({}));
    let tools: BTreeSet<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        BTreeSet::from([
            "server_info",
            "server_status",
            "get_my_profile",
            "send_mail",
            "create_event"
        ])
    );

    let request = tenant
        .devstack
        .requests()
        .into_iter()
        .find(|request| request.path.ends_with("/oauth2/v2.0/devicecode"))
        .unwrap();
    let form: HashMap<String, String> = url::form_urlencoded::parse(request.body.as_bytes())
        .into_owned()
        .collect();
    let graph = tenant.devstack.graph_base_url();
    let asked: BTreeSet<&str> = form["scope"].split(' ').collect();
    let expected: Vec<String> = ["User.Read", "Mail.Send", "Calendars.ReadWrite"]
        .iter()
        .map(|permission| format!("{graph}/{permission}"))
        .collect();
    for permission in &expected {
        assert!(
            asked.contains(permission.as_str()),
            "{permission} in {asked:?}"
        );
    }
    for not_enabled in ["Mail.Read", "Files.Read.All", "Tasks.Read", "People.Read"] {
        assert!(
            !asked.contains(format!("{graph}/{not_enabled}").as_str()),
            "{not_enabled} asked for, its toolset is off: {asked:?}"
        );
    }

    let mail = json!({
        "to": ["alex@contoso.example"],
        "subject": "Offsite: agenda draft",
        "body": "Hi Alex,\nthe draft is in the shared folder.\nAdele",
    });
    let preview = handler.call_tool("send_mail", mail.clone());
    assert_eq!(preview["isError"], false, "{preview}");
    assert_eq!(preview["structuredContent"]["status"], "preview");
    assert!(tenant.devstack.sent_mail("adele").is_empty());
    let mut confirmed = mail;
    confirmed["confirmation"] = preview["structuredContent"]["confirmation"].clone();
    let sent = handler.call_tool("send_mail", confirmed);
    assert_eq!(sent["structuredContent"]["status"], "sent", "{sent}");
    assert_eq!(tenant.devstack.sent_mail("adele").len(), 1);
}
