//! Soak: a long mixed load through the real binary. Valid tool calls (with and without Graph),
//! `tools/list`, malformed, expired, forged and missing tokens, malformed and non-JSON-RPC
//! bodies, bodies over the limit, and Graph misbehaving for some of the Graph tools (throttling
//! with and without `Retry-After`, outages, resets, a reset mid-body, slow and oversized
//! answers), interleaved. What must hold: no 5xx but the 503s of load shedding (checked against
//! the request log), and a resident set that does not keep growing.
//!
//! [`the_handler_holds_steady_under_a_mixed_load`] runs 20,000 requests in `cargo test`;
//! `scripts/soak` runs [`soak_for_the_record`] with 100,000 (or `SOAK_REQUESTS`) against a
//! release build and prints the figures `docs/RELIABILITY.md` shows, latency percentiles
//! included. Nothing here asserts a time.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use devstack::{GraphFault, tenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::overload::rss_kib;
use crate::harness::*;

/// Requests at once: within the handler's limit for the process (64 by default), but with the
/// sample tenant's twelve users a caller now and then has more than its 8 in flight (while its
/// calls wait out an injected `Retry-After`), and the excess is shed: those 503s are allowed,
/// and must each be in the request log.
const WORKERS: usize = 16;

/// One kind of request in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ServerInfo,
    GetMyProfile,
    SearchMail,
    ListEvents,
    GetUser,
    ToolsList,
    GarbageToken,
    ForgedToken,
    ExpiredToken,
    NoToken,
    MalformedBody,
    NotJsonRpc,
    OversizedBody,
}

impl Kind {
    /// The mix, by request number: of every 20, thirteen valid tool calls (ten reaching Graph)
    /// and a `tools/list`, four without a valid token, two with a bad body; in one round of
    /// ten, a body over the 1 MiB limit takes the place of a `get_user`.
    fn of(n: usize) -> Kind {
        match n % 20 {
            0..=2 => Kind::ServerInfo,
            3..=6 => Kind::GetMyProfile,
            7..=8 => Kind::SearchMail,
            9 => Kind::ListEvents,
            10 => Kind::ToolsList,
            11 => Kind::GarbageToken,
            12 => Kind::ForgedToken,
            13 => Kind::ExpiredToken,
            14 => Kind::NoToken,
            15 => Kind::MalformedBody,
            16 => Kind::NotJsonRpc,
            17 if (n / 20).is_multiple_of(10) => Kind::OversizedBody,
            _ => Kind::GetUser,
        }
    }
}

/// The Graph misbehaviours injected every 500 requests, on the paths of `get_my_profile` and
/// `search_mail` (`/v1.0/me…`): each is taken by the next Graph request on such a path.
fn graph_faults() -> Vec<GraphFault> {
    let status = |status: u16, retry_after: Option<&str>| GraphFault::Status {
        status,
        retry_after: retry_after.map(str::to_owned),
    };
    vec![
        status(429, Some("1")),
        status(429, None),
        status(503, None),
        status(504, Some("1")),
        GraphFault::Reset,
        GraphFault::ResetMidBody,
        GraphFault::Delay(Duration::from_millis(300)),
        GraphFault::Oversized {
            bytes: 11 * 1024 * 1024,
            declared: false,
        },
    ]
}

/// Who sends what: one valid token per sample user (so the caches settle, as they do for a
/// tenant's users), and the bad ones.
struct Callers {
    valid: Vec<String>,
    forged: String,
    expired: String,
}

impl Callers {
    fn new(server: &TestServer) -> Callers {
        let devstack = &server.devstack;
        let valid: Vec<String> = tenant::USERS
            .iter()
            .map(|user| devstack.user_token(user.key, &[tenant::USER_IMPERSONATION]))
            .collect();
        // A valid token with its signature's first characters changed.
        let (signed, signature) = valid[0].rsplit_once('.').unwrap();
        let flipped: String = signature
            .chars()
            .enumerate()
            .map(|(i, c)| match (i < 8, c) {
                (true, 'A') => 'B',
                (true, _) => 'A',
                (false, c) => c,
            })
            .collect();
        let mut claims = devstack.user_claims("adele", &[tenant::USER_IMPERSONATION]);
        claims["exp"] = json!(1_700_000_000);
        claims["nbf"] = json!(1_699_990_000);
        claims["iat"] = json!(1_699_990_000);
        Callers {
            forged: format!("{signed}.{flipped}"),
            expired: devstack.sign(&devstack.token_header(), &claims),
            valid,
        }
    }
}

/// What a run saw.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<(Kind, u16), usize>,
    /// Each 5xx that is not a shed 503, with its body.
    unexpected: Vec<String>,
    shed: usize,
    latencies: Vec<Duration>,
}

/// Sends request `n` and records its answer.
async fn one(
    n: usize,
    server: &TestServer,
    callers: &Callers,
    client: &reqwest::Client,
    tally: &Mutex<Tally>,
) {
    let kind = Kind::of(n);
    let user = &callers.valid[n % callers.valid.len()];
    let call = |tool: &str, arguments: Value| tool_call(tool, arguments).to_string();
    let (token, body): (Option<&str>, String) = match kind {
        Kind::ServerInfo => (Some(user), call("server_info", json!({}))),
        Kind::GetMyProfile => (Some(user), call("get_my_profile", json!({}))),
        Kind::SearchMail => (
            Some(user),
            call(
                "search_mail",
                json!({ "query": "budget", "max_results": 5 }),
            ),
        ),
        Kind::ListEvents => (Some(user), call("list_events", json!({}))),
        Kind::GetUser => (
            Some(user),
            call("get_user", json!({ "user": "megan@contoso.example" })),
        ),
        Kind::ToolsList => (Some(user), tools_list().to_string()),
        Kind::GarbageToken => (Some("not-a-token"), call("server_info", json!({}))),
        Kind::ForgedToken => (Some(&callers.forged), call("server_info", json!({}))),
        Kind::ExpiredToken => (Some(&callers.expired), call("server_info", json!({}))),
        Kind::NoToken => (None, call("server_info", json!({}))),
        Kind::MalformedBody => (Some(user), "{ \"jsonrpc\": \"2.0\", \"id\": ".into()),
        Kind::NotJsonRpc => (
            Some(user),
            json!({ "id": 1, "method": "tools/list" }).to_string(),
        ),
        Kind::OversizedBody => (
            Some(user),
            call(
                "server_info",
                json!({ "padding": "x".repeat(1024 * 1024 + 1) }),
            ),
        ),
    };
    let mut request = mcp_post(client, &server.mcp_url()).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let started = Instant::now();
    let response = request.send().await.expect("the handler answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let elapsed = started.elapsed();
    let mut tally = tally.lock().unwrap();
    *tally.statuses.entry((kind, status.as_u16())).or_default() += 1;
    tally.latencies.push(elapsed);
    if status == StatusCode::SERVICE_UNAVAILABLE && text.contains("temporarily_unavailable") {
        tally.shed += 1;
    } else if status.is_server_error() {
        tally.unexpected.push(format!("{kind:?} {status}: {text}"));
    }
}

/// Runs requests `from..to` with [`WORKERS`] at once.
async fn run(
    server: &TestServer,
    callers: &Callers,
    range: std::ops::Range<usize>,
    tally: &Mutex<Tally>,
) {
    let next = Arc::new(AtomicUsize::new(range.start));
    let client = reqwest::Client::new();
    let workers = (0..WORKERS).map(|_| {
        let (next, client) = (Arc::clone(&next), client.clone());
        async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= range.end {
                    return;
                }
                if n.is_multiple_of(500) {
                    server
                        .devstack
                        .inject_graph_faults("/v1.0/me", graph_faults());
                }
                one(n, server, callers, &client, tally).await;
            }
        }
    });
    futures::future::join_all(workers).await;
}

/// What [`soak`] measured.
struct Report {
    requests: usize,
    tally: Tally,
    /// The resident set after each phase: (requests so far, KiB at once, KiB settled: three
    /// readings in order).
    rss: Vec<(usize, u64, [u64; 3])>,
    /// Shed requests in the request log (`reason` `shed_…`).
    logged_shed: usize,
    elapsed: Duration,
}

impl Report {
    fn percentile(&self, p: f64) -> Duration {
        let mut latencies = self.tally.latencies.clone();
        latencies.sort();
        let index = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies[index.min(latencies.len() - 1)]
    }

    fn print(&self) {
        println!(
            "soak: {} requests, {} workers, {:.0} s ({:.0} requests/s)",
            self.requests,
            WORKERS,
            self.elapsed.as_secs_f64(),
            self.requests as f64 / self.elapsed.as_secs_f64()
        );
        println!("| request | status | count |\n|---|---|---|");
        for ((kind, status), count) in &self.tally.statuses {
            println!("| {kind:?} | {status} | {count} |");
        }
        let server_errors: usize = self
            .tally
            .statuses
            .iter()
            .filter(|((_, status), _)| *status >= 500)
            .map(|(_, count)| count)
            .sum();
        println!(
            "5xx: {server_errors} ({} shed 503s, {} in the request log; {} unexpected)",
            self.tally.shed,
            self.logged_shed,
            self.tally.unexpected.len()
        );
        println!(
            "latency: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            ms(self.percentile(0.999)),
            ms(self.percentile(1.0)),
        );
        let mib = |kib: u64| kib as f64 / 1024.0;
        for (requests, at_once, [low, median, high]) in &self.rss {
            println!(
                "resident set after {requests} requests: {:.1} MiB settled ({:.1}–{:.1}; {:.1} MiB at once)",
                mib(*median),
                mib(*low),
                mib(*high),
                mib(*at_once)
            );
        }
        if let [(from, _, [_, before, _]), .., (to, _, [_, after, _])] = self.rss[..] {
            println!(
                "growth from {from} to {to} requests: {:+.1} %",
                (after as f64 - before as f64) / before as f64 * 100.0
            );
        }
    }

    /// The bar: no 5xx but shed 503s (as many as the log says were shed), and the
    /// resident set after the last phase within 10 % of that after the first.
    fn check(&self) {
        assert!(
            self.tally.unexpected.is_empty(),
            "{} unexpected 5xx, the first: {:?}",
            self.tally.unexpected.len(),
            &self.tally.unexpected[..self.tally.unexpected.len().min(5)]
        );
        assert_eq!(self.tally.shed, self.logged_shed);
        let (first, last) = (self.rss[0].2[1], self.rss[self.rss.len() - 1].2[1]);
        assert!(
            last <= first + first / 10,
            "the resident set grew from {first} KiB to {last} KiB"
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The resident set once the allocator has settled. The deployed allocator (mimalloc) hands
/// freed memory back to the system a little later, on the threads' next allocations: read the
/// instant a phase ends, the set still holds the last oversized answers the phase freed (readings
/// of one run swung between 30 and 58 MiB), which is not memory the process keeps. So the handler
/// idles briefly and serves some sixty small requests before each reading, and of three such
/// readings the median counts (min and max are printed beside it).
async fn settled_rss_kib(server: &TestServer, callers: &Callers) -> [u64; 3] {
    let client = reqwest::Client::new();
    let mut readings = [0; 3];
    for reading in &mut readings {
        tokio::time::sleep(Duration::from_millis(250)).await;
        // One request per user at a time: well inside every concurrency limit.
        for _ in 0..WORKERS * 4 / callers.valid.len() {
            let calls = callers.valid.iter().map(|token| {
                mcp_post(&client, &server.mcp_url())
                    .bearer_auth(token)
                    .body(tool_call("server_info", json!({})).to_string())
                    .send()
            });
            for answer in futures::future::join_all(calls).await {
                assert_eq!(
                    answer.expect("the handler answers").status(),
                    StatusCode::OK
                );
            }
        }
        *reading = rss_kib(server.handler.pid());
    }
    readings.sort_unstable();
    readings
}

/// Runs `phases` (request counts, cumulative) against a fresh handler; the resident set is
/// read between phases, when no request is in flight: as it is at once, and settled (the one
/// the check compares).
async fn soak(phases: &[usize]) -> Report {
    let server = TestServer::start();
    let callers = Callers::new(&server);
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    let mut rss = Vec::new();
    let mut done = 0;
    for &phase in phases {
        run(&server, &callers, done..phase, &tally).await;
        done = phase;
        let at_once = rss_kib(server.handler.pid());
        rss.push((done, at_once, settled_rss_kib(&server, &callers).await));
    }
    let elapsed = started.elapsed();
    assert_eq!(probe_root(server.handler.port), Some(200));
    let logged_shed = server
        .handler
        .output
        .stdout()
        .iter()
        .filter(|line| line.contains("\"reason\":\"shed_"))
        .count();
    Report {
        requests: done,
        tally: tally.into_inner().unwrap(),
        rss,
        logged_shed,
        elapsed,
    }
}

#[tokio::test]
async fn the_handler_holds_steady_under_a_mixed_load() {
    let report = soak(&[10_000, 20_000]).await;
    report.print();
    report.check();
}

/// `scripts/soak`: 100,000 requests (or `SOAK_REQUESTS`), the resident set read after 10,000
/// and then after every tenth of the run, so its course shows (a leak climbs steadily; warm-up
/// and allocator slack level off); the check compares the first reading with the last.
#[tokio::test]
#[ignore = "the long soak: scripts/soak runs it against a release build"]
async fn soak_for_the_record() {
    let total = std::env::var("SOAK_REQUESTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let mut phases: Vec<usize> = std::iter::once(10_000)
        .chain((1..=10).map(|tenth| total * tenth / 10))
        .filter(|&phase| phase >= 10_000)
        .collect();
    phases.dedup();
    let report = soak(&phases).await;
    report.print();
    report.check();
}
