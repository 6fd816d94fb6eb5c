//! The fault matrix: for each upstream and each way it can fail, what the affected call gets.
//! The tests in [`super::faults`] assert exactly these outcomes, and `docs/RELIABILITY.md` shows
//! the table [`render`] makes from them (a test keeps the two equal), so the document cannot
//! claim what the tests do not check.
//!
//! Every cell also asserts what the table does not repeat: the process keeps serving, the
//! unrelated requests of its row are answered while the fault stands (for a hanging upstream,
//! while the stand-in still holds the affected request), the affected call ends within its
//! deadline, and the call is served again once the fault clears.

use std::time::Duration;

use devstack::{Upstream, UpstreamFault};

/// The tool deadline every matrix cell runs with (`MCP_TOOL_DEADLINE_SECONDS`).
pub const TOOL_DEADLINE_SECONDS: u64 = 5;
/// How much a body larger than every cap is: 32 MiB, chunked, never ending properly.
pub const OVERSIZED_BYTES: u64 = 32 * 1024 * 1024;

/// A way an upstream fails: a column of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The port is closed: connecting is refused.
    Refused,
    /// The upstream never answers (held until the fault clears).
    Hang,
    /// Every answer comes late, but within the deadline.
    SlowInside,
    /// Every request refused, alternately 429 and 503, with `Retry-After: 1`.
    StormWithRetryAfter,
    /// The same without `Retry-After`.
    Storm,
    /// The answer's head and half its body, then a connection reset.
    ResetMidBody,
    /// 200 with a JSON content type and a body that is not JSON.
    Garbage,
    /// 200 with 32 MiB of body, chunked.
    Oversized,
}

pub const FAULTS: [Fault; 8] = [
    Fault::Refused,
    Fault::Hang,
    Fault::SlowInside,
    Fault::StormWithRetryAfter,
    Fault::Storm,
    Fault::ResetMidBody,
    Fault::Garbage,
    Fault::Oversized,
];

impl Fault {
    pub fn title(self) -> &'static str {
        match self {
            Fault::Refused => "connection refused",
            Fault::Hang => "slow beyond the deadline (no answer until cleared)",
            Fault::SlowInside => "slow just inside the deadline",
            Fault::StormWithRetryAfter => "429/503 storm, `Retry-After: 1`",
            Fault::Storm => "429/503 storm, no `Retry-After`",
            Fault::ResetMidBody => "connection reset mid-body",
            Fault::Garbage => "garbage body",
            Fault::Oversized => "oversized body (32 MiB)",
        }
    }

    /// The devstack's standing fault for this column (`None`: a door refuses instead).
    pub fn standing(self, upstream: Upstream) -> Option<UpstreamFault> {
        match self {
            Fault::Refused => None,
            Fault::Hang => Some(UpstreamFault::Hang),
            Fault::SlowInside => Some(UpstreamFault::Delay(row(upstream).slow_inside)),
            Fault::StormWithRetryAfter => Some(UpstreamFault::Storm {
                retry_after: Some("1".into()),
            }),
            Fault::Storm => Some(UpstreamFault::Storm { retry_after: None }),
            Fault::ResetMidBody => Some(UpstreamFault::ResetMidBody),
            Fault::Garbage => Some(UpstreamFault::Garbage),
            Fault::Oversized => Some(UpstreamFault::Oversized {
                bytes: OVERSIZED_BYTES,
                declared: false,
            }),
        }
    }
}

/// What the affected call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// It succeeds.
    Served,
    /// An HTTP refusal: the status, and the reason the request event records.
    Refused {
        status: u16,
        reason: &'static str,
        retry_after: bool,
    },
    /// A tool error (HTTP 200, `isError`) whose text contains this; shown in quotes.
    ToolError(&'static str),
    /// A tool error containing one text or the other: which one depends on which refusal the
    /// last attempt within the deadline met (a storm alternates 429 and 503).
    ToolErrorEither(&'static str, &'static str),
}

impl Expect {
    pub fn render(self) -> String {
        match self {
            Expect::Served => "served".to_owned(),
            Expect::Refused {
                status,
                reason,
                retry_after,
            } => format!(
                "{status}{} (`{reason}`)",
                if retry_after { " + `Retry-After`" } else { "" }
            ),
            Expect::ToolError(text) => format!("“{text}”"),
            Expect::ToolErrorEither(one, other) => format!("“{one}” or “{other}”"),
        }
    }
}

/// One upstream: a row of the matrix.
pub struct Row {
    pub upstream: Upstream,
    pub name: &'static str,
    /// The call the fault affects, and how it is made to need the upstream.
    pub affected: &'static str,
    /// What keeps being answered meanwhile.
    pub unrelated: &'static str,
    /// What bounds the affected call.
    pub deadline: &'static str,
    /// How late each answer comes in the "slow just inside" column.
    pub slow_inside: Duration,
    /// The outcome per fault, in [`FAULTS`] order.
    pub outcomes: [Expect; 8],
}

/// A token whose key cannot be fetched now: retry shortly (never accepted, and not called
/// invalid, which would send the client to sign in again for a token with the same key).
const KEYS_UNAVAILABLE: Expect = Expect::Refused {
    status: 503,
    reason: "keys_unavailable",
    retry_after: true,
};
const ISSUER: [Expect; 8] = [
    KEYS_UNAVAILABLE,
    KEYS_UNAVAILABLE,
    Expect::Served,
    KEYS_UNAVAILABLE,
    KEYS_UNAVAILABLE,
    KEYS_UNAVAILABLE,
    KEYS_UNAVAILABLE,
    KEYS_UNAVAILABLE,
];
const ENTRA_UNREACHABLE: Expect = Expect::ToolError("could not be reached in time");
const NO_IDENTITY: Expect = Expect::ToolError("managed identity could not get a token");
const NO_SIGNING_KEY: Expect = Expect::ToolError("cannot read its signing key from Key Vault");
const GRAPH_UNREACHABLE: Expect = Expect::ToolError("Microsoft Graph could not be reached");
const GRAPH_REFUSED: Expect =
    Expect::ToolErrorEither("is throttling requests", "unavailable right now (HTTP 503)");

pub const ROWS: [Row; 6] = [
    Row {
        upstream: Upstream::Discovery,
        name: "issuer discovery",
        affected: "a token signed with a key published after the keys were cached (an \
                   emergency rotation), so validating it needs the OpenID metadata again",
        unrelated: "tokens with a cached key (`server_info`), `GET /`",
        deadline: "5 s per document (metadata, then keys)",
        slow_inside: Duration::from_millis(2500),
        outcomes: ISSUER,
    },
    Row {
        upstream: Upstream::Jwks,
        name: "JWKS",
        affected: "as above: the new key is only in a fresh JWKS",
        unrelated: "tokens with a cached key (`server_info`), `GET /`",
        deadline: "5 s per document (metadata, then keys)",
        slow_inside: Duration::from_millis(2500),
        outcomes: ISSUER,
    },
    Row {
        upstream: Upstream::TokenEndpoint,
        name: "token endpoint (on-behalf-of)",
        affected: "`get_my_profile` with a token not exchanged yet",
        unrelated: "`get_my_profile` with a token whose Graph token is cached, `server_info`",
        deadline: "the tool deadline (5 s here)",
        slow_inside: Duration::from_millis(2000),
        outcomes: [
            ENTRA_UNREACHABLE,
            ENTRA_UNREACHABLE,
            Expect::Served,
            ENTRA_UNREACHABLE,
            ENTRA_UNREACHABLE,
            ENTRA_UNREACHABLE,
            Expect::ToolError("the token endpoint's answer was not a token"),
            Expect::ToolError("the token endpoint answered with more than 65536 bytes"),
        ],
    },
    Row {
        upstream: Upstream::ManagedIdentity,
        name: "managed identity",
        affected: "`get_my_profile` before the identity's token is cached (its client \
                   assertion)",
        unrelated: "`server_info`, `tools/list`",
        deadline: "the tool deadline (5 s here)",
        slow_inside: Duration::from_millis(2000),
        outcomes: [
            NO_IDENTITY,
            NO_IDENTITY,
            Expect::Served,
            NO_IDENTITY,
            NO_IDENTITY,
            NO_IDENTITY,
            NO_IDENTITY,
            NO_IDENTITY,
        ],
    },
    Row {
        upstream: Upstream::KeyVault,
        name: "Key Vault",
        affected: "`search_mail` handing out a cursor before the signing key is cached \
                   (the gateway proof, from the same vault, is cached)",
        unrelated: "requests with the cached gateway proof: `server_info`, `get_my_profile`",
        deadline: "the tool deadline's backstop (deadline + 1 s; a Key Vault read gives up \
                   after 10 s)",
        slow_inside: Duration::from_millis(400),
        outcomes: [
            NO_SIGNING_KEY,
            Expect::ToolError("`search_mail` did not finish within its 5-second limit"),
            Expect::Served,
            NO_SIGNING_KEY,
            NO_SIGNING_KEY,
            NO_SIGNING_KEY,
            NO_SIGNING_KEY,
            NO_SIGNING_KEY,
        ],
    },
    Row {
        upstream: Upstream::Graph,
        name: "Microsoft Graph",
        affected: "`get_my_profile` (its Graph token cached)",
        unrelated: "`server_info`, `tools/list` (tokens validated with cached keys)",
        deadline: "the tool deadline (5 s here)",
        slow_inside: Duration::from_millis(1500),
        outcomes: [
            GRAPH_UNREACHABLE,
            Expect::ToolError("did not answer within the 5-second limit"),
            Expect::Served,
            GRAPH_REFUSED,
            GRAPH_REFUSED,
            GRAPH_UNREACHABLE,
            Expect::ToolError("answered with something this server did not expect"),
            Expect::ToolError("answered with more than 10 MiB"),
        ],
    },
];

pub fn row(upstream: Upstream) -> &'static Row {
    ROWS.iter()
        .find(|row| row.upstream == upstream)
        .expect("every upstream has a row")
}

/// The matrix as Markdown: the outcomes (a fault per row, an upstream per column), then what
/// each column means.
pub fn render() -> String {
    let mut out = String::from("| fault |");
    for row in &ROWS {
        out.push_str(&format!(" {} |", row.name));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(ROWS.len()));
    out.push('\n');
    for (column, fault) in FAULTS.into_iter().enumerate() {
        out.push_str(&format!("| {} |", fault.title()));
        for row in &ROWS {
            out.push_str(&format!(" {} |", row.outcomes[column].render()));
        }
        out.push('\n');
    }
    out.push_str(
        "\n| upstream | the affected call | answered meanwhile | bounded by | slow just inside |\n",
    );
    out.push_str("|---|---|---|---|---|\n");
    for row in &ROWS {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} ms per answer |\n",
            row.name,
            row.affected,
            row.unrelated,
            row.deadline,
            row.slow_inside.as_millis()
        ));
    }
    out
}
