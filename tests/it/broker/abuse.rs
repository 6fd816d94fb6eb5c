//! Confused deputy and abuse: every request here is refused with a clear OAuth error (or, when
//! the redirect URI cannot be trusted, an error page that sends nothing anywhere), and changes
//! nothing: no code, no consent, no token.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{tls::Answer, *};

/// Asserts `outcome` is an error page (no redirect) saying `words`.
fn assert_error_page(outcome: &Outcome, status: StatusCode, words: &str) {
    let (actual, page) = outcome.page();
    assert_eq!(actual, status, "{page}");
    assert!(page.contains(words), "expected `{words}` in:\n{page}");
    assert!(!page.contains("name=\"decision\""), "no consent form");
}

/// Asserts `outcome` went back to the client with `error` (and its state).
fn assert_client_error(outcome: &Outcome, error: &str) {
    let query = outcome.query();
    assert_eq!(
        query.get("error").map(String::as_str),
        Some(error),
        "{query:?}"
    );
    assert_eq!(query["state"], "client-state-123");
    assert!(!query.contains_key("code"));
}

async fn no_codes_or_consents(stack: &BrokerStack) {
    assert!(
        stack
            .azurite
            .blobs(&stack.devstack, "codes/")
            .await
            .is_empty()
    );
    assert!(
        stack
            .azurite
            .blobs(&stack.devstack, "consents/")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn redirect_uri_mismatches_and_open_redirects_are_refused_without_redirecting() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Victim").await;
    let base = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    for redirect in [
        "https://evil.example/callback",
        "http://127.0.0.1:33418/callback/../evil",
        "http://127.0.0.1:33418/callback?next=https://evil.example",
        "http://127.0.0.1:33418/other",
        "http://localhost:33418/callback",
        "javascript:alert(1)",
    ] {
        let mut browser = Browser::new(&stack);
        let outcome = browser
            .open(&stack.authorize_url(&base.clone().with("redirect_uri", redirect)))
            .await;
        assert_error_page(&outcome, StatusCode::BAD_REQUEST, "redirect_uri");
    }
    let mut browser = Browser::new(&stack);
    let outcome = browser
        .open(&stack.authorize_url(&base.clone().without("redirect_uri")))
        .await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "redirect_uri is missing");
    let outcome = browser
        .open(&stack.authorize_url(&base.clone().with("client_id", "made-up")))
        .await;
    assert_error_page(
        &outcome,
        StatusCode::BAD_REQUEST,
        "cannot identify the application",
    );
    // A client id this server did not seal is not ours ("AA": not the version byte of a sealed
    // value; one naming a key this server does not know is answered without waiting, see
    // src/authorization/seal.rs).
    let forged = format!("dcr.AA{}", random(200));
    let outcome = browser
        .open(&stack.authorize_url(&base.clone().with("client_id", &forged)))
        .await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "was not registered here");

    // Registration refuses redirect URIs outside the policy.
    for redirect in [
        "https://evil.example/callback",
        "http://evil.example/callback",
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "https://vscode.dev/redirect/../evil",
        "https://vscode.dev.evil.example/redirect",
    ] {
        let (status, body) = stack
            .register(json!({ "client_name": "x", "redirect_uris": [redirect] }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect}");
        assert_eq!(body["error"], "invalid_redirect_uri", "{redirect}: {body}");
    }
    for (body, error) in [
        (json!({ "client_name": "x" }), "invalid_redirect_uri"),
        (
            json!({ "redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "client_secret_basic" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [CLIENT_REDIRECT], "grant_types": ["client_credentials"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [CLIENT_REDIRECT], "response_types": ["token"] }),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let (status, answer) = stack.register(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"], error, "{body}: {answer}");
    }
    no_codes_or_consents(&stack).await;
}

#[tokio::test]
async fn a_registration_is_held_to_the_redirect_policy_of_today() {
    let stack = BrokerStack::start().await;
    // Registered while the policy admitted loopback, and a sign-in started then.
    let client_id = stack.registered_client("Admitted Once").await;
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let to_entra = http
        .get(stack.authorize_url(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(to_entra.status(), StatusCode::FOUND);
    let cookie = to_entra.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let from_entra = http
        .get(to_entra.headers()[LOCATION].to_str().unwrap())
        .send()
        .await
        .unwrap();
    let callback = Url::parse(from_entra.headers()[LOCATION].to_str().unwrap()).unwrap();

    // The operator admits VS Code's web callback only now: the sealed registration still lists
    // loopback, and is refused at /authorize and at the callback of the sign-in under way.
    let narrowed =
        stack.another_instance_with(&[("MCP_BROKER_REDIRECT_URIS", "https://vscode.dev/redirect")]);
    let authorize = stack
        .authorize_url(&request)
        .replace(&stack.issuer(), &narrowed.url(""));
    let mut browser = Browser::following(&[&narrowed.url(""), stack.devstack.base_url()]);
    let outcome = browser.open(&authorize).await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "no longer allowed");
    let page = http
        .get(format!(
            "{}?{}",
            narrowed.url("/callback"),
            callback.query().unwrap()
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let page = page.text().await.unwrap();
    assert!(page.contains("no longer allowed"), "{page}");
    no_codes_or_consents(&stack).await;
    assert!(
        stack
            .azurite
            .blobs(&stack.devstack, "pending/")
            .await
            .is_empty(),
        "no consent page either"
    );
}

#[tokio::test]
async fn pkce_resource_scope_and_response_type_errors_go_back_to_the_client() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Careless").await;
    let base = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let mut browser = Browser::new(&stack);
    for (request, error) in [
        (base.clone().without("code_challenge"), "invalid_request"),
        (
            base.clone().with("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            base.clone().without("code_challenge_method"),
            "invalid_request",
        ),
        (
            base.clone().with("code_challenge", "short"),
            "invalid_request",
        ),
        (
            base.clone().with("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            base.clone().with("resource", "https://evil.example/mcp"),
            "invalid_target",
        ),
        (
            base.clone()
                .with("resource", &format!("{}/", stack.public_url)),
            "invalid_target",
        ),
        (
            base.clone()
                .with("scope", "https://graph.microsoft.com/User.Read"),
            "invalid_scope",
        ),
        (base.clone().with("scope", "User.Read"), "invalid_scope"),
    ] {
        let outcome = browser.open(&stack.authorize_url(&request)).await;
        assert_client_error(&outcome, error);
    }
    // A parameter given twice is refused outright.
    let doubled = format!("{}&state=again", stack.authorize_url(&base));
    let outcome = browser.open(&doubled).await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "more than once");
    no_codes_or_consents(&stack).await;
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_redirect_and_verifier_and_redeemed_once_across_instances() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Bound").await;
    let other_client = stack.registered_client("Interloper").await;
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let code = stack.sign_in(&mut browser, &request).await;

    let wrong_verifier = random(32);
    for form in [
        vec![
            ("client_id", other_client.as_str()),
            ("code_verifier", request.verifier.as_str()),
            ("redirect_uri", CLIENT_REDIRECT),
        ],
        vec![
            ("client_id", client_id.as_str()),
            ("code_verifier", wrong_verifier.as_str()),
            ("redirect_uri", CLIENT_REDIRECT),
        ],
        vec![
            ("client_id", client_id.as_str()),
            ("code_verifier", request.verifier.as_str()),
            ("redirect_uri", "http://127.0.0.1:33418/other"),
        ],
    ] {
        let mut full = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        full.extend(form);
        let (status, body) = stack.token(&full).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{body}"
        );
    }
    let (status, body) = stack
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", &request.verifier),
            ("resource", "https://evil.example/mcp"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );

    // Failed attempts did not burn the code for its rightful holder.
    let (status, tokens) = stack.redeem(&client_id, &code, &request.verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // Replayed at another instance: refused, and what the code gave is revoked.
    let second = stack.another_instance();
    let (status, replay) = token_at(
        &second.url("/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", CLIENT_REDIRECT),
            ("code_verifier", &request.verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(
        replay["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{replay}"
    );
    let (status, _) = stack.refresh(&client_id, refresh_token).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the replay revoked the family"
    );

    // Client credentials of any kind are refused: there are none.
    let response = reqwest::Client::new()
        .post(stack.url("/token"))
        .basic_auth(&client_id, Some("guess"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = stack
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn a_tampered_or_foreign_sign_in_state_is_refused() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Stateful").await;
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let to_entra = http
        .get(stack.authorize_url(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(to_entra.status(), StatusCode::FOUND);
    let cookie = to_entra.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let entra = Url::parse(to_entra.headers()[LOCATION].to_str().unwrap()).unwrap();
    let query: HashMap<String, String> = entra.query_pairs().into_owned().collect();
    assert_eq!(
        query["client_id"],
        stack.devstack.server_client_id(),
        "signs in as itself"
    );
    assert!(
        !query.contains_key("resource"),
        "Entra never sees the client's resource"
    );
    let state = query["state"].clone();
    let back = http.get(entra.as_str()).send().await.unwrap();
    let callback = Url::parse(back.headers()[LOCATION].to_str().unwrap()).unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    let callback_url = |state: &str| {
        let mut url = Url::parse(&stack.url("/callback")).unwrap();
        url.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", state);
        url.to_string()
    };
    let mut tampered = state.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    for state in [
        String::from_utf8(tampered).unwrap(),
        random(120),
        String::new(),
    ] {
        let page = http
            .get(callback_url(&state))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        assert!(page.text().await.unwrap().contains("state"));
    }
    // The right state from another browser (no flow cookie): refused (login CSRF).
    let page = http.get(callback_url(&state)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("another browser"));
    no_codes_or_consents(&stack).await;
}

#[tokio::test]
async fn consent_cannot_be_skipped_forged_or_replayed() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Sneaky").await;
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let mut browser = Browser::new(&stack);
    let outcome = browser.open(&stack.authorize_url(&request)).await;
    let (_, page) = outcome.page();
    let pending = hidden(page, "request");
    let csrf = hidden(page, "csrf");
    let consent = stack.url("/consent");

    // Without the CSRF token, with a wrong one: refused.
    for form in [
        vec![("request", pending.as_str()), ("decision", "approve")],
        vec![
            ("request", pending.as_str()),
            ("csrf", "forged"),
            ("decision", "approve"),
        ],
    ] {
        let outcome = browser.post_form(&consent, &form).await;
        assert_error_page(&outcome, StatusCode::FORBIDDEN, "CSRF");
    }
    // The right form from another browser (no flow cookie): refused.
    let mut other = Browser::new(&stack);
    let form = [
        ("request", pending.as_str()),
        ("csrf", csrf.as_str()),
        ("decision", "approve"),
    ];
    let outcome = other.post_form(&consent, &form).await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "another browser");
    // Made-up requests; GET cannot approve.
    let outcome = browser
        .post_form(
            &consent,
            &[
                ("request", "made-up"),
                ("csrf", csrf.as_str()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "expired");
    no_codes_or_consents(&stack).await;

    // Deny: the client hears access_denied, nothing is remembered.
    let outcome = browser
        .post_form(
            &consent,
            &[
                ("request", pending.as_str()),
                ("csrf", csrf.as_str()),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_client_error(&outcome, "access_denied");
    no_codes_or_consents(&stack).await;
    // The page cannot be used again.
    let outcome = browser.post_form(&consent, &form).await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "expired");
    no_codes_or_consents(&stack).await;
}

#[tokio::test]
async fn client_chosen_text_never_reaches_the_log() {
    let stack = BrokerStack::start().await;
    let client_id = stack.registered_client("Logged").await;
    stack.tokens_for(&client_id, "adele").await;

    // The callback's `error` is anyone's to write: only a code OAuth defines is logged.
    let canary_error = "canary-error-6d1f3b";
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
    let to_entra = http
        .get(stack.authorize_url(&request))
        .send()
        .await
        .unwrap();
    let cookie = to_entra.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let entra = Url::parse(to_entra.headers()[LOCATION].to_str().unwrap()).unwrap();
    let state = entra
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap()
        .1
        .into_owned();
    let mut callback = Url::parse(&stack.url("/callback")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("error", canary_error)
        .append_pair("state", &state);
    let back = http
        .get(callback.as_str())
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let to_client = Url::parse(back.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(
        to_client.as_str().starts_with(CLIENT_REDIRECT),
        "{to_client}"
    );
    assert!(
        to_client
            .query_pairs()
            .any(|(name, value)| name == "error" && value == "server_error")
    );
    let event = stack
        .handler
        .output
        .wait_for_event(|event| event["message"] == "Entra sign-in ended without a code");
    assert_eq!(event["entra_error"], "other", "{event}");

    // The revoke form's `client` is logged only as a key the store had, and only once deleted.
    let canary_client = "canary-client-2e8a4c";
    let mut browser = Browser::new(&stack);
    let outcome = browser.open(&stack.url("/consents")).await;
    let (_, page) = outcome.page();
    let (session, csrf, client) = (
        hidden(page, "session"),
        hidden(page, "csrf"),
        hidden(page, "client"),
    );
    for revoked in [canary_client, &client, &client] {
        let outcome = browser
            .post_form(
                &stack.url("/consents/revoke"),
                &[
                    ("session", session.as_str()),
                    ("csrf", csrf.as_str()),
                    ("client", revoked),
                ],
            )
            .await;
        assert_eq!(outcome.page().0, StatusCode::OK);
    }
    let revoked: Vec<Value> = stack
        .handler
        .output
        .events()
        .into_iter()
        .filter(|event| event["message"] == "consent revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "only a delete that happened: {revoked:?}");
    assert_eq!(revoked[0]["client"], client.as_str());

    let logs = stack.handler.output.all();
    for canary in [canary_error, canary_client] {
        assert!(
            !logs.contains(canary),
            "{canary} leaked into the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn metadata_documents_cannot_point_the_server_at_private_addresses() {
    let stack = BrokerStack::start().await;
    let documents = &stack.documents;
    let port = documents.port;
    documents.set(
        "/to-loopback",
        Answer::Redirect(format!("https://127.0.0.1:{port}/doc.json")),
    );
    documents.set(
        "/to-localhost",
        Answer::Redirect(format!("https://localhost:{port}/doc.json")),
    );
    documents.set(
        "/to-http",
        Answer::Redirect(format!("http://{}:{port}/doc.json", tls::CIMD_HOST)),
    );
    documents.set(
        "/to-metadata-service",
        Answer::Redirect("https://169.254.169.254/metadata".into()),
    );
    documents.set("/huge.json", Answer::Huge(1024 * 1024));
    documents.set("/slow.json", Answer::Slow(Duration::from_secs(20)));
    documents.set(
        "/liar.json",
        Answer::Json(json!({
            "client_id": "https://someone-else.example/client.json",
            "client_name": "Liar",
            "redirect_uris": [CLIENT_REDIRECT],
        })),
    );
    let cases = [
        (format!("https://127.0.0.1:{port}/doc.json"), "not public"),
        ("https://10.0.0.1/doc.json".to_owned(), "not public"),
        ("https://[::1]/doc.json".to_owned(), "not public"),
        (
            "https://169.254.169.254/metadata/instance".to_owned(),
            "not public",
        ),
        (format!("https://localhost:{port}/doc.json"), "not public"),
        (documents.url("/to-loopback"), "not public"),
        (documents.url("/to-localhost"), "not public"),
        (documents.url("/to-metadata-service"), "not public"),
        (documents.url("/to-http"), "must use https"),
        (documents.url("/huge.json"), "larger than"),
        (documents.url("/liar.json"), "not exactly its own URL"),
        (
            format!("http://{}:{port}/doc.json", tls::CIMD_HOST),
            "neither",
        ),
    ];
    for (client_id, why) in cases {
        let mut browser = Browser::new(&stack);
        let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
        let outcome = browser.open(&stack.authorize_url(&request)).await;
        let (_, page) = outcome.page();
        assert!(page.contains(why), "{client_id}: expected `{why}`:\n{page}");
        assert_error_page(&outcome, StatusCode::BAD_REQUEST, why);
    }
    // Slow: cut off at the time limit, not waited out.
    let started = Instant::now();
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(
        &documents.url("/slow.json"),
        &stack.scope(),
        &stack.public_url,
    );
    let outcome = browser.open(&stack.authorize_url(&request)).await;
    assert_error_page(&outcome, StatusCode::BAD_REQUEST, "did not arrive within");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // A failure is cached briefly: asking again does not fetch again.
    let before = documents.hits("/huge.json");
    let mut browser = Browser::new(&stack);
    let request = AuthorizationRequest::new(
        &documents.url("/huge.json"),
        &stack.scope(),
        &stack.public_url,
    );
    browser.open(&stack.authorize_url(&request)).await;
    assert_eq!(documents.hits("/huge.json"), before);
    no_codes_or_consents(&stack).await;
}

#[tokio::test]
async fn metadata_document_fetches_are_limited_per_instance() {
    let stack = BrokerStack::start().await;
    let documents = &stack.documents;
    let authorize = |path: String| {
        let stack = &stack;
        async move {
            let client_id = stack.documents.url(&path);
            let request = AuthorizationRequest::new(&client_id, &stack.scope(), &stack.public_url);
            let outcome = Browser::new(stack)
                .open(&stack.authorize_url(&request))
                .await;
            let (status, page) = outcome.page();
            (status, page.to_owned())
        }
    };

    // Four slow documents hold every fetch this instance may make at once: a fifth is refused
    // at once, and fetched nowhere.
    for n in 0..4 {
        documents.set(
            &format!("/slow-{n}.json"),
            Answer::Slow(Duration::from_secs(3)),
        );
    }
    let slow = futures::future::join_all((0..4).map(|n| authorize(format!("/slow-{n}.json"))));
    let fifth = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let started = Instant::now();
        let answer = authorize("/fifth.json".into()).await;
        (answer, started.elapsed())
    };
    let (slow, ((status, page), waited)) = tokio::join!(slow, fifth);
    for (status, page) in slow {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    }
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("temporarily_unavailable"), "{page}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert_eq!(documents.hits("/fifth.json"), 0);

    // A flood of made-up documents, one after another: a burst is fetched, then refused.
    let (mut fetched, mut refused) = (0, 0);
    for n in 0..40 {
        let path = format!("/made-up-{n}.json");
        let (status, page) = authorize(path.clone()).await;
        match status {
            StatusCode::BAD_REQUEST => {
                assert!(page.contains("HTTP 404"), "{page}");
                fetched += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(documents.hits(&path), 0, "refused: not fetched");
                refused += 1;
            }
            other => panic!("{other}: {page}"),
        }
    }
    assert!(
        (10..=30).contains(&fetched) && refused >= 10,
        "fetched {fetched}, refused {refused}"
    );
    no_codes_or_consents(&stack).await;
}

#[tokio::test]
async fn registration_floods_are_rate_limited() {
    let stack = BrokerStack::start().await;
    let mut limited = 0;
    let mut created = 0;
    for n in 0..40 {
        let (status, body) = stack
            .register(
                json!({ "client_name": format!("flood {n}"), "redirect_uris": [CLIENT_REDIRECT] }),
            )
            .await;
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(body["error"], "temporarily_unavailable");
                limited += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(
        created >= 15 && limited >= 10,
        "created {created}, limited {limited}"
    );
    // Registrations are sealed into the client id: the flood stored nothing.
    assert!(stack.azurite.blobs(&stack.devstack, "").await.is_empty());
}

#[tokio::test]
async fn with_a_gateway_proof_the_broker_routes_are_behind_it_too() {
    let proof = "0123456789abcdef-gateway-proof-value";
    let stack = BrokerStack::start_with(&[
        ("MCP_GATEWAY_PROOF_HEADER", "x-mcp-gateway-proof"),
        ("MCP_GATEWAY_PROOF", proof),
    ])
    .await;
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/authorize"),
        ("POST", "/register"),
        ("POST", "/token"),
    ] {
        let request = |with_proof: bool| {
            let builder = match method {
                "GET" => http.get(stack.url(path)),
                _ => http.post(stack.url(path)).json(&json!({})),
            };
            if with_proof {
                builder.header("x-mcp-gateway-proof", proof)
            } else {
                builder
            }
        };
        let refused = request(false).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let admitted = request(true).send().await.unwrap();
        assert_ne!(admitted.status(), StatusCode::FORBIDDEN, "{path}");
    }
}
