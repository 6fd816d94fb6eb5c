//! What `handler stdio` keeps between runs, and where: one file readable by the user alone,
//! holding the refresh token (rotated on every use, the newest always stored), who signed in,
//! and the tenant and app it belongs to. A revoked or expired refresh token means a new sign-in
//! prompt, not a crash; `handler logout` removes the file.

use std::process::Command;

use serde_json::json;

use super::{LocalTenant, mode};
use crate::harness::*;

#[test]
fn the_sign_in_is_stored_owner_only_with_the_newest_refresh_token_and_nothing_else() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("signed in as adele@contoso.example");
    handler.wait_for_startup_sign_in();
    let profile = handler.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
    let (status, _) = handler.close();
    assert!(status.success(), "stdin closed: a clean exit");

    #[cfg(unix)]
    {
        assert_eq!(mode(&tenant.store_dir()), 0o700);
        assert_eq!(mode(&tenant.sign_in_file()), 0o600);
    }
    let stored = tenant.stored();
    let issued = tenant.devstack.refresh_tokens_of("local", "adele");
    assert!(
        issued.len() >= 3,
        "the sign-in's, then a rotation per refresh: {issued:?}"
    );
    assert_eq!(
        stored["refresh_token"],
        issued.last().unwrap().as_str(),
        "the newest rotation is the one stored"
    );
    let settings = tenant.devstack.handler_settings();
    assert_eq!(
        stored,
        json!({
            "version": 1,
            "authority": settings.authority_host,
            "tenant_id": settings.tenant_id,
            "client_id": settings.public_client_id,
            "account": {
                "tenant_id": settings.tenant_id,
                "object_id": devstack::tenant::user("adele").unwrap().object_id,
                "username": "adele@contoso.example",
            },
            "refresh_token": issued.last().unwrap(),
        }),
        "exactly this: no access token, no ID token"
    );
    let entries: Vec<String> = std::fs::read_dir(tenant.store_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["sign-in.json"], "no temporary file left behind");
}

#[test]
fn the_next_run_uses_the_stored_refresh_token_and_stores_its_rotation() {
    let tenant = LocalTenant::new();
    let mut first = tenant.start(&[], &[]);
    first.initialize();
    first.wait_for_stderr("signed in as adele@contoso.example");
    first.close();
    let stored = tenant.stored()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    tenant.devstack.clear_requests();

    let mut second = tenant.start(&[], &[]);
    second.initialize();
    second.wait_for_stderr("using the stored sign-in of adele@contoso.example");
    second.wait_for_startup_sign_in();
    let events = second.call_tool("list_events", json!({}));
    assert_eq!(events["isError"], false, "{events}");
    second.close();

    assert_eq!(
        tenant.device_sign_ins(),
        0,
        "no prompt: the stored sign-in worked"
    );
    let refreshes: Vec<_> = tenant
        .devstack
        .requests()
        .into_iter()
        .filter(|request| request.body.contains("grant_type=refresh_token"))
        .collect();
    assert!(
        refreshes[0]
            .body
            .contains(&format!("refresh_token={stored}")),
        "the first refresh presents the stored token"
    );
    let rotated = tenant.stored()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, stored);
    assert_eq!(
        &rotated,
        tenant
            .devstack
            .refresh_tokens_of("local", "adele")
            .last()
            .unwrap()
    );
}

/// The next run after the stored refresh token stopped working (`end`): it says why (Entra's
/// `code`), prompts for a new sign-in on stderr, keeps running, and serves once it is done.
fn a_dead_refresh_token_leads_to_a_new_sign_in(end: impl FnOnce(&devstack::Devstack), code: &str) {
    let tenant = LocalTenant::new();
    let mut first = tenant.start(&[], &[]);
    first.initialize();
    first.wait_for_stderr("signed in as adele@contoso.example");
    first.close();
    let dead = tenant.stored()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    end(&tenant.devstack);
    let mut second = tenant.start(&[], &[]);
    second.initialize();
    let notice = second.wait_for_stderr("the stored sign-in no longer works");
    assert!(notice.contains(code), "{notice}");
    second.wait_for_stderr("enter the code");
    second.wait_for_stderr("signed in as adele@contoso.example");
    assert!(second.running());
    let profile = second.call_tool("get_my_profile", json!({}));
    assert_eq!(profile["isError"], false, "{profile}");
    assert_eq!(tenant.device_sign_ins(), 2);
    assert_ne!(tenant.stored()["refresh_token"], dead.as_str());
    for line in second.output.stderr() {
        assert!(
            !line.contains(&dead),
            "a refresh token reached the log: {line}"
        );
    }
}

#[test]
fn a_revoked_refresh_token_leads_to_a_new_sign_in_prompt_not_a_crash() {
    a_dead_refresh_token_leads_to_a_new_sign_in(
        |devstack| devstack.revoke_sessions("adele"),
        "AADSTS50173",
    );
}

#[test]
fn an_expired_refresh_token_leads_to_a_new_sign_in_prompt_not_a_crash() {
    a_dead_refresh_token_leads_to_a_new_sign_in(
        |devstack| devstack.expire_refresh_tokens("adele"),
        "AADSTS700082",
    );
}

#[test]
fn logout_removes_the_stored_sign_in_and_says_what_it_removed() {
    let tenant = LocalTenant::new();
    let mut handler = tenant.start(&[], &[]);
    handler.initialize();
    handler.wait_for_stderr("signed in as adele@contoso.example");
    handler.close();
    assert!(tenant.sign_in_file().exists());

    let logout = || {
        Command::new(HANDLER)
            .arg("logout")
            .env_clear()
            .env(MCP_TOKEN_STORE_DIR.name, tenant.store_dir())
            .output()
            .unwrap()
    };
    let output = logout();
    assert!(output.status.success());
    let said = String::from_utf8(output.stdout).unwrap();
    assert!(
        said.contains(&tenant.sign_in_file().display().to_string())
            && said.contains("the sign-in of adele@contoso.example"),
        "{said}"
    );
    assert!(!tenant.sign_in_file().exists());
    let again = String::from_utf8(logout().stdout).unwrap();
    assert!(again.contains("No sign-in is stored"), "{again}");

    // The next run asks the user to sign in.
    let mut next = tenant.start(&[], &[]);
    next.initialize();
    next.wait_for_stderr("enter the code");
}

#[cfg(unix)]
#[test]
fn a_stored_file_others_can_read_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let tenant = LocalTenant::new();
    let mut first = tenant.start(&[], &[]);
    first.initialize();
    first.wait_for_stderr("signed in as adele@contoso.example");
    first.close();
    std::fs::set_permissions(
        tenant.sign_in_file(),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let mut second = tenant.start(&[], &[]);
    second.initialize();
    second.wait_for_stderr("can be read by other users");
    second.wait_for_stderr("signed in as adele@contoso.example");
    assert_eq!(tenant.device_sign_ins(), 2);
    assert_eq!(mode(&tenant.sign_in_file()), 0o600, "replaced, owner-only");
}
