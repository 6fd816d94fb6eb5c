//! Scale-out: three handler processes behind a round-robin proxy, as Flex Consumption spreads
//! requests over instances. The proxy sends each connection to the next instance, and the
//! client opens a connection per request, so consecutive requests land on different instances
//! (each answer's request id is found in exactly one instance's request log). What one instance
//! hands out, another takes back: a paging cursor, a write confirmation. A rotation of the
//! issuer's signing key and of the Key Vault secret that signs cursors reaches all of them.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use devstack::{Devstack, DevstackOptions, tenant};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::*;

const INSTANCES: usize = 3;

struct Cluster {
    devstack: Devstack,
    instances: Vec<Handler>,
    /// The settings every instance starts with.
    env: Vec<(String, String)>,
    /// The proxy's `/mcp`, the public URL of every instance.
    mcp_url: String,
    /// One connection per request: the proxy picks the instance per connection.
    client: reqwest::Client,
}

impl Cluster {
    /// The devstack, three handlers sharing it (the same tenant, the same Key Vault) with
    /// `extra` settings, and the proxy in front of them.
    async fn start(extra: &[(&str, &str)]) -> Cluster {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = listener.local_addr().unwrap();
        let mcp_url = format!("http://{proxy}/mcp");
        let devstack = Devstack::start_with(DevstackOptions {
            identifier_uri: Some(mcp_url.clone()),
            ..DevstackOptions::default()
        })
        .expect("devstack starts");
        let mut env = handler_env(&devstack);
        env.push((MCP_PUBLIC_URL.name.into(), mcp_url.clone()));
        env.push((MCP_GATEWAY_PROOF_REQUIRED.name.into(), "false".into()));
        env.push((MCP_TOOLSETS.name.into(), "profile,mail,write".into()));
        for (name, value) in extra {
            env.retain(|(existing, _)| existing != name);
            env.push((name.to_string(), value.to_string()));
        }
        let instances: Vec<Handler> = (0..INSTANCES)
            .map(|_| start_instance(&env, free_port()))
            .collect();
        let targets = instances
            .iter()
            .map(|handler| SocketAddr::from(([127, 0, 0, 1], handler.port)))
            .collect();
        listener.set_nonblocking(true).unwrap();
        tokio::spawn(round_robin(
            TcpListener::from_std(listener).unwrap(),
            targets,
        ));
        Cluster {
            devstack,
            instances,
            env,
            mcp_url,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    /// Replaces instance `index` with a new process on the same port, as when the platform
    /// recycles an instance or adds one.
    fn restart(&mut self, index: usize) {
        let port = self.instances[index].port;
        self.instances[index] = start_instance(&self.env, port);
    }

    fn token(&self, user: &str) -> String {
        self.devstack
            .user_token(user, &[tenant::USER_IMPERSONATION])
    }

    /// Calls `tool` through the proxy; which instance answered, and the JSON-RPC answer.
    async fn call(&self, token: &str, tool: &str, arguments: Value) -> (usize, Value) {
        let response = mcp_post(&self.client, &self.mcp_url)
            .bearer_auth(token)
            .json(&tool_call(tool, arguments))
            .send()
            .await
            .unwrap();
        let instance = self.served_by(&response);
        assert_eq!(response.status(), StatusCode::OK, "{tool}");
        (instance, response.json().await.unwrap())
    }

    /// The instance whose request log has the request that got `response`.
    fn served_by(&self, response: &reqwest::Response) -> usize {
        let request_id = response.headers()["x-request-id"].to_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logged: Vec<usize> = (0..INSTANCES)
                .filter(|&index| {
                    self.instances[index].output.events().iter().any(|event| {
                        event["message"] == "request" && event["request_id"] == request_id
                    })
                })
                .collect();
            match logged[..] {
                [instance] => return instance,
                [] => assert!(Instant::now() < deadline, "no instance logged {request_id}"),
                _ => panic!("{request_id} logged by instances {logged:?}"),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn start_instance(env: &[(String, String)], port: u16) -> Handler {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut handler = Handler::start(&env, Some(port));
    handler.wait_ready();
    handler
}

/// Each connection to `listener` goes to the next of `targets`, bytes copied both ways.
async fn round_robin(listener: TcpListener, targets: Vec<SocketAddr>) {
    for next in 0.. {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let target = targets[next % targets.len()];
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

fn structured(body: &Value) -> &Value {
    assert_eq!(body["result"]["isError"], false, "{body:#}");
    &body["result"]["structuredContent"]
}

/// The first page of Adele's inbox, one message long, and the next page with its cursor;
/// which instance served each.
async fn two_pages(cluster: &Cluster, token: &str) -> ((usize, Value), (usize, Value)) {
    let (first_at, first) = cluster
        .call(
            token,
            "search_mail",
            json!({ "folder": "inbox", "max_results": 1 }),
        )
        .await;
    let first = structured(&first).clone();
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let (second_at, second) = cluster
        .call(
            token,
            "search_mail",
            json!({ "folder": "inbox", "cursor": cursor }),
        )
        .await;
    let second = structured(&second).clone();
    assert_ne!(
        first["messages"][0], second["messages"][0],
        "the next page, not the first"
    );
    ((first_at, first), (second_at, second))
}

#[tokio::test]
async fn a_cursor_and_a_confirmation_from_one_instance_are_taken_by_another() {
    let cluster = Cluster::start(&[]).await;
    let adele = cluster.token("adele");
    let ((first_at, _), (second_at, _)) = two_pages(&cluster, &adele).await;
    assert_ne!(first_at, second_at, "the cursor went to another instance");

    // Megan (MCP.Writer) previews a mail on one instance and confirms it on another.
    let megan = cluster.token("megan");
    let mail = json!({
        "to": ["alex@contoso.example"],
        "subject": "Scale-out",
        "body": "Sent through another instance.",
    });
    let (preview_at, preview) = cluster.call(&megan, "send_mail", mail.clone()).await;
    let mut confirmed = mail;
    confirmed["confirmation"] = structured(&preview)["confirmation"].clone();
    let (sent_at, sent) = cluster.call(&megan, "send_mail", confirmed).await;
    assert_ne!(
        preview_at, sent_at,
        "the confirmation went to another instance"
    );
    assert_eq!(structured(&sent)["status"], "sent");
    assert_eq!(cluster.devstack.sent_mail("megan").len(), 1);
}

#[tokio::test]
async fn an_issuer_key_rotation_reaches_every_instance() {
    // An instance fetches the keys again for an unknown key id at most once per cooldown
    // (default five minutes), counted from the last such fetch: the first unknown key id after
    // start-up is looked up at once (docs/RELIABILITY.md#scale-out).
    let cluster = Cluster::start(&[]).await;
    // Every instance caches the current keys.
    let before = cluster.token("adele");
    let mut served = Vec::new();
    for _ in 0..INSTANCES {
        served.push(cluster.call(&before, "server_info", json!({})).await.0);
    }
    served.sort();
    assert_eq!(served, [0, 1, 2]);

    // An emergency rotation: tokens signed with a new key, which no instance has cached.
    cluster.devstack.rotate_signing_key();
    let after = cluster.token("adele");
    let mut served = Vec::new();
    for _ in 0..INSTANCES {
        let (instance, answer) = cluster.call(&after, "get_my_profile", json!({})).await;
        structured(&answer);
        served.push(instance);
    }
    served.sort();
    assert_eq!(served, [0, 1, 2], "each instance accepted the new key");
}

#[tokio::test]
async fn a_key_vault_rotation_of_the_signing_key_reaches_every_instance() {
    let mut cluster = Cluster::start(&[]).await;
    let adele = cluster.token("adele");
    // Every instance reads the signing key: each hands out and takes back cursors.
    for _ in 0..INSTANCES {
        two_pages(&cluster, &adele).await;
    }

    // The secret is rotated. Two seconds first: Key Vault stamps versions in whole seconds (the
    // new one must be younger than the seeded one), and an instance reads a secret again at
    // most once per `MIN_REREAD` (2 s).
    std::thread::sleep(Duration::from_millis(2100));
    let secret = cluster.devstack.handler_settings().signing_key_secret;
    cluster.devstack.set_secret(
        &secret,
        "rotated-signing-key-5f0c2a9e7d4b4e31a8c6f1d3b5e7a902",
    );
    // Instance 2 is replaced: the new process reads the new version and seals with it, while
    // the others still hold the old one, cached for another five minutes.
    cluster.restart(2);
    let mut pairs = Vec::new();
    for _ in 0..INSTANCES {
        let ((first_at, _), (second_at, _)) = two_pages(&cluster, &adele).await;
        pairs.push((first_at, second_at));
    }
    assert!(
        pairs
            .iter()
            .any(|&(first, second)| first == 2 && second != 2),
        "a cursor of the new instance went to an old one: {pairs:?}"
    );
    assert!(
        pairs
            .iter()
            .any(|&(first, second)| first != 2 && second == 2),
        "a cursor of an old instance went to the new one: {pairs:?}"
    );
}
