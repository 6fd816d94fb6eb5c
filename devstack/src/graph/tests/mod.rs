//! Graph over HTTP, driven with reqwest as the handler drives it: the helpers, what every
//! endpoint shares (tokens, request ids, faults, throttling), and a module per workload.

mod calendar;
mod directory;
mod drive;
mod mail;
mod search;
mod todo;

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::GraphFault;
use crate::{
    Devstack,
    datetime::{iso8601, now_seconds, parse_iso8601},
    tenant,
    tests::{http, start},
};

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn get(
    devstack: &Devstack,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = http().get(format!("{}{path}", devstack.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

async fn post(
    devstack: &Devstack,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = http()
        .post(format!("{}{path}", devstack.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        headers,
        body,
    }
}

/// An id as a path segment.
fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// `user`'s local day `offset` days after the sample time, as UTC instants [start, end).
fn local_day(devstack: &Devstack, user: &str, offset: i64) -> (i64, i64) {
    let zone = super::time_zone::find(tenant::user(user).unwrap().mailbox_time_zone).unwrap();
    let now = devstack.graph.sample_time();
    let day = zone.to_local(now).div_euclid(86_400) + offset;
    (zone.to_utc(day * 86_400), zone.to_utc((day + 1) * 86_400))
}

/// Follows `@odata.nextLink` from `path` to the end; returns every item and the page count.
async fn all_pages(
    devstack: &Devstack,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = path.to_owned();
    loop {
        let reply = get(devstack, &next, Some(token), headers).await;
        assert_eq!(reply.status, 200, "{next}: {}", reply.body);
        pages += 1;
        items.extend(reply.body["value"].as_array().unwrap().iter().cloned());
        match reply.body["@odata.nextLink"].as_str() {
            Some(link) => {
                assert!(
                    link.contains("$skiptoken=") || link.contains("$skip="),
                    "{link}"
                );
                next = link
                    .strip_prefix(devstack.base_url())
                    .expect("next links are absolute URLs on Graph's host")
                    .to_owned();
            }
            None => return (items, pages),
        }
    }
}

fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let error = &reply.body["error"];
    assert_eq!(error["code"], code, "{}", reply.body);
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    let inner = &error["innerError"];
    assert_eq!(
        inner["request-id"].as_str(),
        reply.headers["request-id"].to_str().ok()
    );
    assert_eq!(
        inner["client-request-id"].as_str(),
        reply.headers["client-request-id"].to_str().ok()
    );
    let date = inner["date"].as_str().unwrap();
    assert!(
        parse_iso8601(date).is_some_and(|at| (at - now_seconds()).abs() < 60),
        "{date}"
    );
}

fn adele() -> &'static tenant::User {
    tenant::user("adele").unwrap()
}

#[tokio::test]
async fn tokens_are_checked_and_every_response_carries_its_ids() {
    let devstack = start();
    let no_token = get(&devstack, "/v1.0/me", None, &[]).await;
    assert_error(&no_token, 401, "InvalidAuthenticationToken");
    assert_eq!(no_token.body["error"]["message"], "Access token is empty.");
    assert!(
        no_token.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"\"")
    );

    let unknown = get(
        &devstack,
        "/v1.0/me",
        Some("made-up"),
        &[("client-request-id", "abc-123")],
    )
    .await;
    assert_error(&unknown, 401, "InvalidAuthenticationToken");
    assert_eq!(unknown.headers["client-request-id"], "abc-123");

    let callers_own = devstack.user_token("adele", &["user_impersonation"]);
    let reply = get(&devstack, "/v1.0/me", Some(&callers_own), &[]).await;
    assert_error(&reply, 401, "InvalidAuthenticationToken");

    devstack.set_graph_token_lifetime(Duration::ZERO);
    let expired = devstack.graph_token("adele", &["User.Read"]);
    let reply = get(&devstack, "/v1.0/me", Some(&expired), &[]).await;
    assert_error(&reply, 401, "InvalidAuthenticationToken");
    assert_eq!(
        reply.body["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
    devstack.set_graph_token_lifetime(Duration::from_secs(3600));

    let token = devstack.graph_token("adele", &["User.Read"]);
    let first = get(&devstack, "/v1.0/me", Some(&token), &[]).await;
    let second = get(&devstack, "/v1.0/me", Some(&token), &[]).await;
    assert_eq!(first.status, 200);
    let id = first.headers["request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_ne!(first.headers["request-id"], second.headers["request-id"]);
    assert_eq!(
        first.headers["client-request-id"], first.headers["request-id"],
        "repeated when none was sent"
    );
}

#[tokio::test]
async fn unknown_paths_are_graphs_400() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["User.Read"]);
    let reply = get(&devstack, "/v1.0/me/chats", Some(&token), &[]).await;
    assert_error(&reply, 400, "BadRequest");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Resource not found for the segment 'chats'.")
    );
    let post = http()
        .post(format!("{}/v1.0/me/messages", devstack.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    let body: Value = post.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    assert!(devstack.requests().iter().all(|r| r.service == "graph"));
}

#[tokio::test]
async fn injected_status_faults_come_first_then_service_resumes() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Mail.Read", "User.Read"]);
    devstack.inject_graph_faults(
        "/v1.0/me/messages",
        vec![
            GraphFault::Status {
                status: 429,
                retry_after: Some("7".to_owned()),
            },
            GraphFault::Status {
                status: 503,
                retry_after: Some("Wed, 21 Oct 2037 07:28:00 GMT".to_owned()),
            },
            GraphFault::Status {
                status: 504,
                retry_after: None,
            },
        ],
    );
    let throttled = get(&devstack, "/v1.0/me/messages", None, &[]).await;
    assert_error(&throttled, 429, "TooManyRequests");
    assert_eq!(throttled.headers["retry-after"], "7");
    let unavailable = get(&devstack, "/v1.0/me/messages", Some(&token), &[]).await;
    assert_error(&unavailable, 503, "ServiceNotAvailable");
    assert_eq!(
        unavailable.headers["retry-after"],
        "Wed, 21 Oct 2037 07:28:00 GMT"
    );
    assert_eq!(
        get(&devstack, "/v1.0/me", Some(&token), &[]).await.status,
        200,
        "other paths are unaffected"
    );
    let timeout = get(&devstack, "/v1.0/me/messages", Some(&token), &[]).await;
    assert_error(&timeout, 504, "GatewayTimeout");
    assert!(timeout.headers.get("retry-after").is_none());
    assert_eq!(
        get(&devstack, "/v1.0/me/messages", Some(&token), &[])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_delay_answers_late_and_a_reset_answers_never() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["User.Read"]);
    devstack.inject_graph_faults(
        "/v1.0/me",
        vec![
            GraphFault::Delay(Duration::from_millis(300)),
            GraphFault::Reset,
        ],
    );

    let started = Instant::now();
    let late = get(&devstack, "/v1.0/me", Some(&token), &[]).await;
    assert_eq!(late.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let error = http()
        .get(format!("{}/v1.0/me", devstack.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("the connection dies without a response");
    assert!(error.status().is_none(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");

    let after = get(&devstack, "/v1.0/me", Some(&token), &[]).await;
    assert_eq!(after.status, 200, "normal service resumes");
    let recorded = devstack.requests();
    assert_eq!(
        recorded.len(),
        3,
        "the reset request was received and recorded"
    );
}

#[tokio::test]
async fn a_mid_body_reset_cuts_a_good_answer_short() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["User.Read"]);
    devstack.inject_graph_faults("/v1.0/me", vec![GraphFault::ResetMidBody]);
    let response = http()
        .get(format!("{}/v1.0/me", devstack.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(response.status(), 200);
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 100, "the full length is announced");
    let error = response.bytes().await.expect_err("the body is cut");
    assert!(
        error.is_body() || error.is_decode() || error.is_request(),
        "{error:?}"
    );
    assert_eq!(
        get(&devstack, "/v1.0/me", Some(&token), &[]).await.status,
        200,
        "normal service resumes"
    );
}

#[tokio::test]
async fn outlook_runs_four_requests_per_mailbox_at_once_and_refuses_the_fifth() {
    let devstack = start();
    let adele = devstack.graph_token("adele", &["MailboxSettings.Read", "User.Read"]);
    let alex = devstack.graph_token("alex", &["MailboxSettings.Read"]);
    devstack.set_graph_latency("/v1.0/me", Duration::from_millis(400));
    let settings = |token: String| {
        let url = format!("{}/v1.0/me/mailboxSettings", devstack.base_url());
        async move {
            let response = http().get(url).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap();
            (status, retry_after, body)
        }
    };
    let mut requests: Vec<_> = (0..5).map(|_| settings(adele.clone())).collect();
    requests.push(settings(alex.clone()));
    let answers = futures::future::join_all(requests).await;
    let throttled: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == 429)
        .collect();
    assert_eq!(throttled.len(), 1, "{answers:?}");
    let (_, retry_after, body) = throttled[0];
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body["error"]["code"], "ApplicationThrottled");
    assert_eq!(
        body["error"]["message"],
        "Application is over its MailboxConcurrency limit."
    );
    assert_eq!(
        answers.iter().filter(|(status, ..)| *status == 200).count(),
        5
    );
    assert_eq!(devstack.max_concurrent_graph_requests("adele"), 5);
    assert_eq!(devstack.max_concurrent_graph_requests("alex"), 1);

    // The directory is not Outlook: no mailbox limit.
    let profiles = (0..6).map(|_| get(&devstack, "/v1.0/me", Some(&adele), &[]));
    let statuses: Vec<u16> = futures::future::join_all(profiles)
        .await
        .iter()
        .map(|reply| reply.status)
        .collect();
    assert_eq!(statuses, [200; 6]);
    devstack.set_graph_latency("/v1.0/me", Duration::ZERO);
    let started = Instant::now();
    assert_eq!(
        get(&devstack, "/v1.0/me/mailboxSettings", Some(&adele), &[])
            .await
            .status,
        200
    );
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "latency cleared"
    );
}

#[tokio::test]
async fn faults_apply_to_every_endpoint_including_posts_and_drives() {
    let devstack = start();
    let token = devstack.graph_token(
        "adele",
        &["Calendars.Read.Shared", "Mail.Read", "Files.Read.All"],
    );
    let throttled = |retry_after: &str| GraphFault::Status {
        status: 429,
        retry_after: Some(retry_after.to_owned()),
    };
    devstack.inject_graph_faults("/v1.0/search/query", vec![throttled("3")]);
    devstack.inject_graph_faults(
        "/v1.0/me/findMeetingTimes",
        vec![throttled("Wed, 21 Oct 2037 07:28:00 GMT")],
    );
    devstack.inject_graph_faults("/v1.0/drives/", vec![throttled("1")]);
    devstack.inject_graph_faults("/v1.0/me/messages", vec![GraphFault::ResetMidBody]);

    let body =
        json!({ "requests": [{ "entityTypes": ["message"], "query": { "queryString": "x" } }] });
    let search = post(
        &devstack,
        "/v1.0/search/query",
        Some(&token),
        &[],
        &body.to_string(),
    )
    .await;
    assert_error(&search, 429, "TooManyRequests");
    assert_eq!(search.headers["retry-after"], "3");
    let find = post(
        &devstack,
        "/v1.0/me/findMeetingTimes",
        Some(&token),
        &[],
        "{}",
    )
    .await;
    assert_error(&find, 429, "TooManyRequests");
    assert_eq!(find.headers["retry-after"], "Wed, 21 Oct 2037 07:28:00 GMT");
    let (drive, item) = devstack.drive_item_id("adele", "Logo.png").unwrap();
    let drive_path = format!("/v1.0/drives/{drive}/items/{item}");
    assert_error(
        &get(&devstack, &drive_path, Some(&token), &[]).await,
        429,
        "TooManyRequests",
    );
    let cut = http()
        .get(format!("{}/v1.0/me/messages?$top=50", devstack.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status(), 200);
    assert!(cut.bytes().await.is_err(), "the body is cut");

    // Each fault was used once; service is normal again.
    assert_eq!(
        post(
            &devstack,
            "/v1.0/search/query",
            Some(&token),
            &[],
            &body.to_string()
        )
        .await
        .status,
        200
    );
    assert_eq!(
        post(
            &devstack,
            "/v1.0/me/findMeetingTimes",
            Some(&token),
            &[],
            "{}"
        )
        .await
        .status,
        200
    );
    assert_eq!(
        get(&devstack, &drive_path, Some(&token), &[]).await.status,
        200
    );
    assert_eq!(
        get(&devstack, "/v1.0/me/messages", Some(&token), &[])
            .await
            .status,
        200
    );
}
