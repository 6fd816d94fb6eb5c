//! Signing in over stdio: the device code flow through every answer Entra gives (pending,
//! slow down, declined, expired), the instructions a tool call gives while nobody has signed in,
//! incremental consent, the account a sign-in may not switch to, and `--browser`.

use std::time::Duration;

use devstack::DeviceAnswer;
use serde_json::json;

use super::{LocalTenant, TempDir, prompt_of, text_of};
use crate::harness::*;

/// The answers the stand-in gave to the handler's polls, in order.
fn answers(tenant: &LocalTenant) -> Vec<&'static str> {
    tenant
        .devstack
        .device_code_answers()
        .iter()
        .map(|(_, answer)| *answer)
        .collect()
}

#[test]
fn pending_then_approved_signs_in_at_start_and_the_tools_act_for_that_user() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[]);
    let init = handler.initialize();
    assert_eq!(init["serverInfo"]["name"], "m365-mcp-handler");
    // The prompt is there before any tool is called.
    let prompt = handler.wait_for_stderr("enter the code");
    let (url, code) = prompt_of(&prompt);
    assert_eq!(url, format!("{}/devicelogin", tenant.devstack.base_url()));
    assert_eq!(code.len(), 8, "{prompt}");
    assert!(
        prompt.contains("User.Read"),
        "it names what it asks for: {prompt}"
    );
    handler.wait_for_stderr("signed in as adele@contoso.example");
    assert_eq!(answers(&tenant), ["authorization_pending", "approved"]);

    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(profile["structuredContent"]["displayName"], "Adele Vance");

    // What the sign-in asked for: the enabled toolsets' required permissions, no optional
    // one, plus an ID token and a refresh token.
    let device_code_request = tenant
        .devstack
        .requests()
        .into_iter()
        .find(|request| request.path.ends_with("/oauth2/v2.0/devicecode"))
        .unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(device_code_request.body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        form["client_id"],
        tenant.devstack.handler_settings().public_client_id
    );
    let scopes: Vec<&str> = form["scope"].split(' ').collect();
    for needed in [
        "User.Read",
        "Mail.Read",
        "Calendars.ReadBasic",
        "Tasks.Read",
    ] {
        assert!(
            scopes.contains(&format!("{}/{needed}", tenant.devstack.graph_base_url()).as_str()),
            "{needed} in {scopes:?}"
        );
    }
    assert!(
        !form["scope"].contains("User.Read.All"),
        "optional for get_user"
    );
    for oidc in ["openid", "profile", "offline_access"] {
        assert!(scopes.contains(&oidc), "{oidc}");
    }

    // A public client: Entra and Graph only (no managed identity, no Key Vault), no secret or
    // assertion, and Graph tokens from the user's own grant, never on-behalf-of.
    for request in tenant.devstack.requests() {
        assert!(
            ["issuer", "token", "graph"].contains(&request.service),
            "{} {}",
            request.service,
            request.path
        );
        for never in ["client_secret", "client_assertion", "jwt-bearer"] {
            assert!(!request.body.contains(never), "{never}: {}", request.body);
        }
    }
}

#[test]
fn slow_down_adds_five_seconds_and_the_sign_in_still_completes() {
    let tenant = LocalTenant::new();
    tenant.devstack.script_device_sign_in(vec![
        DeviceAnswer::Pending,
        DeviceAnswer::SlowDown,
        DeviceAnswer::Approve("adele"),
    ]);
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("signed in as adele@contoso.example");
    // The stand-in answers slow_down again to any poll sooner than the interval it asked for
    // (one second, then six): had the handler not slowed down, there would be more.
    assert_eq!(
        answers(&tenant),
        ["authorization_pending", "slow_down", "approved"]
    );
    let events = handler.call_tool("list_events", json!({}));
    assert_eq!(events["isError"], false, "{events}");
}

#[test]
fn a_declined_sign_in_is_reported_and_the_next_tool_call_asks_again() {
    let tenant = LocalTenant::new();
    tenant
        .devstack
        .script_device_sign_in(vec![DeviceAnswer::Decline]);
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("The sign-in to Microsoft 365 was declined.");
    assert_eq!(answers(&tenant), ["authorization_declined"]);
    assert!(handler.running(), "a refusal is no crash");

    // The next sign-in is unscripted: the sample user approves it.
    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(tenant.device_sign_ins(), 2);
}

#[test]
fn an_expired_code_is_reported_and_the_next_tool_call_asks_again() {
    let tenant = LocalTenant::new();
    tenant
        .devstack
        .script_device_sign_in(vec![DeviceAnswer::Pending, DeviceAnswer::Expire]);
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("was not finished in time");
    assert_eq!(answers(&tenant), ["authorization_pending", "expired_token"]);

    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(tenant.device_sign_ins(), 2);
}

#[test]
fn while_nobody_signs_in_a_tool_says_where_and_with_which_code_then_works_once_they_do() {
    let tenant = LocalTenant::new();
    tenant
        .devstack
        .script_device_sign_in(vec![DeviceAnswer::Wait]);
    // A short deadline keeps the call's wait for the sign-in short.
    let mut handler = tenant.start(&[], &[(MCP_TOOL_DEADLINE_SECONDS.name, "4")]);
    handler.initialize();
    let (url, code) = prompt_of(&handler.wait_for_stderr("enter the code"));

    let pending = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(pending["isError"], true, "{pending}");
    let text = text_of(&pending);
    assert!(text.contains(&url) && text.contains(&code), "{text}");
    assert!(text.contains("then call the tool again"), "{text}");
    assert_eq!(
        tenant.device_sign_ins(),
        1,
        "the call joined the sign-in under way"
    );

    assert!(tenant.devstack.approve_device_sign_in(&code, "adele"));
    handler.wait_for_stderr("signed in as adele@contoso.example");
    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
}

#[test]
fn a_tool_that_needs_consent_no_longer_given_asks_for_it_incrementally() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("signed in as adele@contoso.example");
    let first = handler.call_tool("list_tasks", json!({}));
    assert_eq!(first["isError"], false, "{first}");

    tenant
        .devstack
        .withdraw_client_consent("local", "adele", "Mail.Read");
    // A cached token would still serve the tool: a new set of permissions needs a refresh.
    let mail = handler.call_tool("search_mail", json!({ "query": "budget" }));
    assert_eq!(mail["isError"], false, "{mail}");
    handler.wait_for_stderr("needs your consent before a tool can use Mail.Read");
    assert_eq!(
        tenant.device_sign_ins(),
        2,
        "a second sign-in, for the consent"
    );
    assert!(
        tenant
            .devstack
            .client_consented_graph_permissions("local", "adele")
            .contains(&"Mail.Read"),
        "consented again"
    );
}

#[test]
fn a_sign_in_completed_by_another_account_is_refused() {
    let tenant = LocalTenant::new();
    let mut first = tenant.start(&[], &[]);
    first.initialize();
    first.wait_for_stderr("signed in as adele@contoso.example");
    first.close();

    // Adele's sessions are revoked; the code of the new sign-in is entered by Megan.
    tenant.devstack.revoke_sessions("adele");
    tenant
        .devstack
        .script_device_sign_in(vec![DeviceAnswer::Approve("megan")]);
    let mut second = tenant.start(&[], &[]);
    second.initialize();
    second.wait_for_stderr(
        "completed as megan@contoso.example, but this server is signed in as \
         adele@contoso.example",
    );
    // Nothing was stored for Megan (the revoked token is gone too), and no tool reads her
    // mailbox: the next sign-in (unscripted: Adele) is Adele's again.
    assert!(!tenant.sign_in_file().exists());
    let profile = second.call_tool("get_my_profile", json!({}));
    assert_eq!(
        profile["structuredContent"]["displayName"], "Adele Vance",
        "{profile}"
    );
    assert_eq!(
        tenant.stored()["account"]["username"],
        "adele@contoso.example"
    );
}

/// A stand-in for the platform's browser opener: a script named `xdg-open` that fetches the
/// authorization URL, follows Entra's redirect to the loopback listener, and writes to its own
/// stdout (which must never reach the MCP stream).
fn fake_browser(dir: &TempDir) {
    let python = installed_tool(".venv/bin/python");
    let browser = dir.0.join("browser.py");
    std::fs::write(
        &browser,
        "import sys, urllib.request\n\
         class NoRedirect(urllib.request.HTTPRedirectHandler):\n    \
             def redirect_request(self, *args): return None\n\
         opener = urllib.request.build_opener(NoRedirect)\n\
         print('a browser writing to its stdout')\n\
         try:\n    opener.open(sys.argv[1])\n\
         except urllib.error.HTTPError as redirect:\n    \
             back = redirect.headers['Location']\n    \
             print(urllib.request.urlopen(back).read().decode())\n",
    )
    .unwrap();
    let opener = dir.0.join("xdg-open");
    std::fs::write(
        &opener,
        format!(
            "#!/bin/sh\nexec {} {} \"$@\"\n",
            python.display(),
            browser.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn with_browser_it_signs_in_with_pkce_through_a_loopback_redirect() {
    let tenant = LocalTenant::new();
    let bin = TempDir::new("browser");
    fake_browser(&bin);
    let path = bin.0.display().to_string();
    let mut handler = tenant.start(&["--browser"], &[("PATH", path.as_str())]);
    handler.initialize();
    let prompt = handler.wait_for_stderr("open this address in a browser on this machine");
    handler.wait_for_stderr("signed in as adele@contoso.example");
    assert_eq!(tenant.device_sign_ins(), 0, "no device code");

    let authorize = tenant
        .devstack
        .requests()
        .into_iter()
        .find(|request| request.path.ends_with("/oauth2/v2.0/authorize"))
        .expect("the browser went to the authorization endpoint");
    let query: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(authorize.query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["redirect_uri"].starts_with("http://localhost:"));
    assert!(
        prompt.contains(&query["state"]),
        "the URL on stderr is the one opened"
    );
    let redemption = tenant
        .devstack
        .requests()
        .into_iter()
        .find(|request| request.body.contains("grant_type=authorization_code"))
        .expect("the code was redeemed");
    assert!(redemption.body.contains("code_verifier="));
    let redeemed: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(redemption.body.as_bytes())
            .into_owned()
            .collect();
    for line in handler.output.stderr() {
        assert!(
            !line.contains(&redeemed["code"]) && !line.contains(&redeemed["code_verifier"]),
            "the authorization code or its verifier reached the log: {line}"
        );
    }

    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
    // The listener is gone with the sign-in (see wire.rs for the server itself).
    let port: u16 = query["redirect_uri"]
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sign-in's listener on {port} still accepts connections"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, output) = handler.close();
    for line in output.stdout() {
        assert!(!line.contains("a browser writing"), "{line}");
    }
}
