//! The broker's flows as clients use them: discovery, registration or a metadata document,
//! sign-in with consent, tokens, refresh, revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::harness::{call_tool, tool_names};

#[tokio::test]
async fn a_registered_client_signs_in_consents_and_calls_get_my_profile() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Test Client").await;
    let tokens = stack.tokens_for(&client_id, "adele").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_u64().unwrap() > 60);
    assert_eq!(tokens["scope"], stack.scope());
    let access_token = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert!(
        refresh_token.starts_with("mrt1."),
        "the refresh token is ours"
    );

    let mcp = stack.url("/mcp");
    assert!(
        tool_names(&mcp, access_token)
            .await
            .contains(&"get_my_profile".to_owned())
    );
    let response = call_tool(&mcp, access_token, "get_my_profile", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["displayName"], "Adele Vance",
        "{body}"
    );

    // The state is in Blob Storage (Azurite), where every instance finds it.
    let families = stack.azurite.blobs(&stack.devstack, "families/").await;
    assert_eq!(families.len(), 1, "{families:?}");
    let consents = stack.azurite.blobs(&stack.devstack, "consents/").await;
    assert_eq!(consents.len(), 1, "{consents:?}");
    assert!(
        stack
            .azurite
            .blobs(&stack.devstack, "codes/")
            .await
            .is_empty(),
        "the code is spent"
    );

    // No token, code or cookie value reaches the log.
    let log = stack.handler.output.all();
    for secret in [access_token, refresh_token] {
        assert!(!log.contains(secret), "a token was logged");
    }
    assert!(!log.contains("mrt1."), "a refresh token was logged");
}

#[tokio::test]
async fn the_metadata_names_this_server_as_the_authorization_server() {
    let stack = BrokerStack::start().await;
    let http = reqwest::Client::new();
    let prm: Value = http
        .get(stack.url("/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], stack.public_url);
    assert_eq!(prm["authorization_servers"], json!([stack.issuer()]));
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let response = http.get(stack.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let document: Value = response.json().await.unwrap();
        assert_eq!(document["issuer"], stack.issuer(), "{path}");
        assert_eq!(document["authorization_endpoint"], stack.url("/authorize"));
        assert_eq!(document["token_endpoint"], stack.url("/token"));
        assert_eq!(document["registration_endpoint"], stack.url("/register"));
        assert_eq!(
            document["code_challenge_methods_supported"],
            json!(["S256"])
        );
        assert_eq!(
            document["token_endpoint_auth_methods_supported"],
            json!(["none"])
        );
        assert_eq!(document["client_id_metadata_document_supported"], true);
        assert_eq!(document["response_types_supported"], json!(["code"]));
        assert_eq!(
            document["grant_types_supported"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(document["scopes_supported"], json!([stack.scope()]));
    }
}

#[tokio::test]
async fn a_client_id_metadata_document_identifies_the_client() {
    let stack = BrokerStack::start().await;
    let client_id =
        stack.metadata_document("/clients/app.json", "Document Client", &[CLIENT_REDIRECT]);
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let outcome = browser.open(&stack.authorize_url(&request)).await;
    let (status, page) = outcome.page();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Document Client"), "{page}");
    let Outcome::Page { headers, .. } = &outcome else {
        unreachable!()
    };
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:33418"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "no script at all: {csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        page.contains(&format!("<span class=\"host\">{}</span>", tls::CIMD_HOST)),
        "{page}"
    );
    assert!(page.contains("Adele Vance"), "the signed-in user is named");
    let code = browser
        .submit_consent(&stack.issuer(), page, "approve")
        .await
        .code();
    let (status, tokens) = stack.redeem(&client_id, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let mcp = stack.url("/mcp");
    let names = tool_names(&mcp, tokens["access_token"].as_str().unwrap()).await;
    assert!(names.contains(&"get_my_profile".to_owned()));
    // Fetched once at /authorize and once at the callback at most, then served from the cache.
    let fetched = stack.documents.hits("/clients/app.json");
    assert_eq!(fetched, 1, "the document is cached");
}

#[tokio::test]
async fn vs_code_registers_its_redirect_shape_and_comes_back_on_any_loopback_port() {
    let stack = BrokerStack::start().await;
    // What VS Code sends (src/vs/base/common/oauth.ts, fetchDynamicRegistration).
    let (status, registration) = stack
        .register(json!({
            "client_name": "Visual Studio Code",
            "client_uri": "https://code.visualstudio.com",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [
                "https://insiders.vscode.dev/redirect",
                "https://vscode.dev/redirect",
                "http://127.0.0.1/",
                "http://127.0.0.1:33418/"
            ],
            "scope": stack.scope(),
            "token_endpoint_auth_method": "none",
            "application_type": "native"
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registration}");
    assert_eq!(registration["token_endpoint_auth_method"], "none");
    assert!(registration.get("client_secret").is_none());
    let client_id = registration["client_id"].as_str().unwrap();

    for (redirect, expected_origin) in [
        ("http://127.0.0.1:54321/", "http://127.0.0.1:54321"),
        ("https://vscode.dev/redirect", "https://vscode.dev"),
    ] {
        let mut browser = Browser::new(&stack);
        let request = AuthorizationRequest::new(client_id, &stack.scope(), &stack.public_url)
            .with("redirect_uri", redirect);
        let outcome = browser.open(&stack.authorize_url(&request)).await;
        let (_, page) = outcome.page();
        assert!(page.contains("Allow"), "{page}");
        let outcome = browser
            .submit_consent(&stack.issuer(), page, "approve")
            .await;
        let Outcome::Redirected(url) = &outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(url.origin().ascii_serialization(), expected_origin);
        let query = outcome.query();
        assert_eq!(query["state"], "client-state-123");
        assert_eq!(query["iss"], stack.issuer());
        let (status, tokens) = stack
            .token(&[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", &query["code"]),
                ("redirect_uri", redirect),
                ("code_verifier", &request.verifier),
                ("resource", &stack.public_url),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
    }
}

#[tokio::test]
async fn consent_is_remembered_per_user_and_client() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Remembered").await;
    stack.tokens_for(&client_id, "adele").await;

    // Adele again: no page, the code comes at once.
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url)
        .with("login_hint", "adele");
    let outcome = browser.open(&stack.authorize_url(&request)).await;
    assert!(outcome.query().contains_key("code"), "{outcome:?}");

    // Another user, or another client, sees the page.
    let mut browser = Browser::new(&stack);
    let megan = request.clone().with("login_hint", "megan");
    let (status, page) = browser
        .open(&stack.authorize_url(&megan))
        .await
        .page()
        .to_owned_pair();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Megan Bowen"), "{page}");
    let other = stack.registered_client("Other").await;
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&other, &stack.scope(), &stack.public_url);
    let (status, page) = browser
        .open(&stack.authorize_url(&request))
        .await
        .page()
        .to_owned_pair();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Other"), "{page}");
}

#[tokio::test]
async fn approving_more_keeps_earlier_sign_ins_and_a_loopback_port_change_asks_nothing() {
    let stack = BrokerStack::start().await;
    let (status, registration) = stack
        .register(json!({
            "client_name": "Native And Web",
            "redirect_uris": ["http://127.0.0.1/", "https://vscode.dev/redirect"],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{registration}");
    let client_id = registration["client_id"].as_str().unwrap();
    let request = |redirect: &str| {
        AuthorizationRequest::new(client_id, &stack.scope(), &stack.public_url)
            .with("redirect_uri", redirect)
            .with("login_hint", "adele")
    };
    let redeem = |code: String, request: AuthorizationRequest, redirect: &'static str| {
        let stack = &stack;
        async move {
            let (status, tokens) = stack
                .token(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &request.verifier),
                ])
                .await;
            assert_eq!(status, StatusCode::OK, "{tokens}");
            tokens
        }
    };

    // The app's first run listens on one port: the consent page, approved.
    let first = request("http://127.0.0.1:54321/");
    let code = stack.sign_in(&mut Browser::new(&stack), &first).await;
    let tokens = redeem(code, first, "http://127.0.0.1:54321/").await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Its next run listens on another: the same redirect URI (RFC 8252 §7.3), nothing asked.
    let next = request("http://127.0.0.1:60123/");
    let outcome = Browser::new(&stack).open(&stack.authorize_url(&next)).await;
    assert!(outcome.query().contains_key("code"), "{outcome:?}");

    // A redirect URI not approved yet: the page again, and approving it extends the consent.
    let web = request("https://vscode.dev/redirect");
    let mut browser = Browser::new(&stack);
    let outcome = browser.open(&stack.authorize_url(&web)).await;
    let (status, page) = outcome.page();
    assert_eq!(status, StatusCode::OK, "{page}");
    let code = browser
        .submit_consent(&stack.issuer(), page, "approve")
        .await
        .code();
    redeem(code, web, "https://vscode.dev/redirect").await;

    // The first sign-in was not revoked by the second approval.
    let (status, refreshed) = stack.refresh(client_id, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Refresher").await;
    let tokens = stack.tokens_for(&client_id, "adele").await;
    let first = tokens["refresh_token"].as_str().unwrap();

    let (status, refreshed) = stack.refresh(&client_id, first).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let second = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(first, second, "rotated");
    let access_token = refreshed["access_token"].as_str().unwrap();
    assert_ne!(access_token, tokens["access_token"].as_str().unwrap());
    let names = tool_names(&stack.url("/mcp"), access_token).await;
    assert!(names.contains(&"get_my_profile".to_owned()));

    let (status, third) = stack.refresh(&client_id, second).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let third = third["refresh_token"].as_str().unwrap().to_owned();

    // The first token again: reuse. The whole family dies, the newest token with it.
    let (status, reused) = stack.refresh(&client_id, first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
    assert!(
        reused["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    let (status, after) = stack.refresh(&client_id, &third).await;
    assert_eq!(
        (status, after["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Another client cannot use a token it was not issued.
    let tokens = stack.tokens_for(&client_id, "megan").await;
    let other = stack.registered_client("Thief").await;
    let (status, stolen) = stack
        .refresh(&other, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, stolen["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn revoking_consent_ends_refresh_and_brings_the_page_back() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Revocable").await;
    let tokens = stack.tokens_for(&client_id, "adele").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // The user's list: sign in, see the client, revoke it.
    let mut browser = Browser::new(&stack);
    let outcome = browser.open(&stack.url("/consents")).await;
    let (status, page) = outcome.page();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Revocable"), "{page}");
    let form = [
        ("session", hidden(page, "session")),
        ("csrf", hidden(page, "csrf")),
        ("client", hidden(page, "client")),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let outcome = browser
        .post_form(&stack.url("/consents/revoke"), &form)
        .await;
    let (status, page) = outcome.page();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("You have not allowed any application"),
        "{page}"
    );

    let (status, refused) = stack.refresh(&client_id, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "invalid_grant");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{refused}"
    );

    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let (status, page) = browser
        .open(&stack.authorize_url(&request))
        .await
        .page()
        .to_owned_pair();
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Allow"), "consent is asked again: {page}");
}

#[tokio::test]
async fn the_client_can_revoke_its_refresh_token_and_entra_can_end_the_session() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Revoker").await;
    let tokens = stack.tokens_for(&client_id, "adele").await;
    let response = reqwest::Client::new()
        .post(stack.url("/revoke"))
        .form(&[
            ("token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = stack
        .refresh(&client_id, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An administrator revokes the user's sessions at Entra: the next refresh fails and the
    // family is revoked.
    let tokens = stack.tokens_for(&client_id, "megan").await;
    stack.devstack.revoke_sessions("megan");
    let (status, refused) = stack
        .refresh(&client_id, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

trait OwnedPair {
    fn to_owned_pair(&self) -> (StatusCode, String);
}

impl OwnedPair for (StatusCode, &str) {
    fn to_owned_pair(&self) -> (StatusCode, String) {
        (self.0, self.1.to_owned())
    }
}
