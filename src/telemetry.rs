//! JSON lines on stdout, one event per line; the Functions host forwards stdout to
//! Application Insights. `handler stdio` writes them to stderr: its stdout carries MCP alone.
//!
//! Each HTTP request produces exactly one `request` event, written by [`request_log`] after
//! the response is known. Layers further in do not log on their own: they attach *facts* to the
//! response ([`RpcFacts`], [`AuthFacts`]) and this layer writes them together, so one line
//! carries the request id, JSON-RPC method, tool, status and latency, and the audit facts: the
//! outcome (accepted, or rejected with a reason code) and the caller's tenant, object and client
//! application ids. That line is the audit event. For a tool call it also says what the call did
//! on the way out ([`CallRecord`]): the on-behalf-of exchange's outcome, how many Graph calls it
//! made and how many Graph throttled, Graph's `request-id` of the last one (what Microsoft support
//! asks for), and whether the tool answered or failed. An operator can start from any of these
//! and find the request, its caller and its `graph call` and exchange events by `request_id`.
//!
//! What is never written: header values (the `Authorization` header above all), the path a
//! client sent (a token or an address may hide there: the log names the *route* that served
//! the request, or `unknown`), the query string, request and response bodies. The host's
//! `x-ms-invocation-id` is written only when it is what the host sends, a GUID, and so is Graph's
//! `request-id` in the request event.
//!
//! **Lines are written in batches, and none is lost.** Events go to an in-memory buffer that a
//! thread of its own writes to stdout a few milliseconds after the first line of a batch
//! ([`FLUSH_DELAY`]), so a request does not pay for a system call (or a full pipe) on its way
//! out. Nothing is dropped: if stdout falls so far behind that the buffer reaches
//! [`MAX_PENDING_BYTES`], writers wait for it. [`flush`] writes what is pending before the
//! process exits (`main` calls it on every way out), in the order the lines were logged.
//!
//! Third-party crates log at `error` only, whatever `MCP_LOG` says: rmcp's warnings quote
//! client-sent text (an unknown method's name, for one) and its debug output whole messages.
//! What they would have said is in the request event's status anyway.

use std::{
    io::Write,
    sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::Level;
use tracing_subscriber::{
    Layer, filter::Targets, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt,
};

/// The route that served a request, as the application registered it (`/mcp`), never the path
/// the client sent.
#[derive(Debug, Clone)]
pub struct Route(Arc<str>);

/// Route layer (inside routing): records which route served the request, for [`request_log`].
pub async fn route_label(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| Route(path.as_str().into()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// The request id, also returned to the caller in `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// What the JSON-RPC envelope said, attached by the transport. Only names the server knows
/// are kept; anything else a client sends is recorded as `other` (method) or `unknown` (tool).
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcFacts {
    pub method: Option<&'static str>,
    pub tool: Option<&'static str>,
}

/// Who a request came from, as far as it is known: only from a token whose signature and
/// claims were verified.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    pub tenant_id: String,
    pub object_id: String,
    pub client_app_id: String,
}

/// The audit facts: whether the request was let in, why not, and who it was.
#[derive(Debug, Clone)]
pub struct AuthFacts {
    pub accepted: bool,
    /// A stable reason code when refused (`expired`, `missing_scope`, ...).
    pub reason: Option<&'static str>,
    pub caller: Option<CallerIdentity>,
}

impl AuthFacts {
    pub fn accepted(caller: CallerIdentity) -> Self {
        Self {
            accepted: true,
            reason: None,
            caller: Some(caller),
        }
    }

    pub fn refused(reason: &'static str, caller: Option<CallerIdentity>) -> Self {
        Self {
            accepted: false,
            reason: Some(reason),
            caller,
        }
    }
}

/// Where the JSON log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// The server's: the Functions host collects stdout.
    Stdout,
    /// `handler stdio`'s: stdout is the MCP transport.
    Stderr,
}

/// How long the writer thread lets a batch gather after its first line.
pub const FLUSH_DELAY: Duration = Duration::from_millis(5);
/// Lines pending beyond this make the threads that log wait for stdout.
pub const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// Lines logged and not yet written, and where they go.
pub struct Batches<W: Write + Send + 'static> {
    pending: Mutex<Vec<u8>>,
    /// Signalled when a batch starts (for the writer thread) and when one was taken (for
    /// threads waiting for room).
    changed: Condvar,
    /// Held while a batch is taken and written, so batches reach `out` in order.
    out: Mutex<W>,
}

impl<W: Write + Send + 'static> Batches<W> {
    /// Batches for `out`, and the thread that writes them.
    pub fn start(out: W) -> Arc<Self> {
        let batches = Arc::new(Self {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            changed: Condvar::new(),
            out: Mutex::new(out),
        });
        let writer = Arc::clone(&batches);
        std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || {
                loop {
                    writer.wait_for_lines();
                    std::thread::sleep(FLUSH_DELAY);
                    writer.flush();
                }
            })
            .expect("the log writer thread starts");
        batches
    }

    fn pending(&self) -> MutexGuard<'_, Vec<u8>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait_for_lines(&self) {
        let mut pending = self.pending();
        while pending.is_empty() {
            pending = self
                .changed
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Adds whole lines (one event) to the pending batch.
    pub fn append(&self, lines: &[u8]) {
        let mut pending = self.pending();
        while pending.len() >= MAX_PENDING_BYTES {
            pending = self
                .changed
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let first = pending.is_empty();
        pending.extend_from_slice(lines);
        drop(pending);
        if first {
            self.changed.notify_all();
        }
    }

    /// Writes everything pending now, after any batch already being written.
    pub fn flush(&self) {
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let batch = std::mem::take(&mut *self.pending());
        self.changed.notify_all();
        if !batch.is_empty() {
            // stdout gone (the host stopped reading): nothing left to tell anyone.
            let _ = out.write_all(&batch);
        }
        let _ = out.flush();
    }
}

/// One event's writer: [`Batches::append`] per `write`.
pub struct BatchWriter<'a, W: Write + Send + 'static>(&'a Batches<W>);

impl<W: Write + Send + 'static> Write for BatchWriter<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.append(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The [`MakeWriter`] of the subscriber: every event into the same batches.
pub struct BatchedOutput<W: Write + Send + 'static>(pub Arc<Batches<W>>);

impl<'a, W: Write + Send + 'static> MakeWriter<'a> for BatchedOutput<W> {
    type Writer = BatchWriter<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        BatchWriter(&self.0)
    }
}

/// stdout's batches, once [`init`] ran.
static STDOUT: OnceLock<Arc<Batches<std::io::Stdout>>> = OnceLock::new();

/// Writes every line logged so far to stdout. Call it before the process exits.
pub fn flush() {
    if let Some(batches) = STDOUT.get() {
        batches.flush();
    }
}

/// What a request's tool call did on the way out, recorded by the code that did it (the
/// on-behalf-of exchange, the Graph client, the tool registry) and written by [`request_log`].
/// Every request gets one; requests that call no tool leave it empty, and its fields are then
/// absent from the event.
#[derive(Debug, Clone, Default)]
pub struct CallRecord(Arc<Mutex<Outbound>>);

#[derive(Debug, Default)]
struct Outbound {
    exchange: Option<&'static str>,
    graph_calls: u32,
    graph_throttled: u32,
    graph_request_id: Option<String>,
    tool_outcome: Option<&'static str>,
}

impl CallRecord {
    /// How the Graph token was obtained (`cached`, `exchanged`) or why not (an
    /// [`crate::identity::obo::ExchangeError`] code). A tool that needs several tokens records
    /// each; the last one stands.
    pub fn exchange(&self, outcome: &'static str) {
        self.with(|outbound| outbound.exchange = Some(outcome));
    }

    /// One answer from Graph (or none: `status` is `None` when the request failed on the way).
    /// `request_id` is Graph's `request-id` header; kept only when it is a GUID, as Graph sends.
    pub fn graph_answer(&self, status: Option<u16>, request_id: Option<&str>) {
        let request_id = request_id
            .filter(|value| value.len() == 36)
            .and_then(|value| uuid::Uuid::try_parse(value).ok())
            .map(|id| id.hyphenated().to_string());
        self.with(|outbound| {
            outbound.graph_calls += 1;
            if status == Some(429) {
                outbound.graph_throttled += 1;
            }
            if request_id.is_some() {
                outbound.graph_request_id = request_id;
            }
        });
    }

    /// How the tool call ended: `ok`, `error` (a tool error the AI client reads) or `deadline`.
    pub fn tool_outcome(&self, outcome: &'static str) {
        self.with(|outbound| outbound.tool_outcome = Some(outcome));
    }

    fn with(&self, change: impl FnOnce(&mut Outbound)) {
        change(&mut self.0.lock().expect("call record lock"));
    }
}

/// Installs the JSON subscriber, writing to `sink`. Safe to call once per process.
pub fn init(level: Level, sink: Sink) {
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
        .with_target("handler", level)
        .with_default(Level::ERROR);
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false);
    let layer = match sink {
        Sink::Stdout => layer
            .with_writer(BatchedOutput(Arc::clone(
                STDOUT.get_or_init(|| Batches::start(std::io::stdout())),
            )))
            .boxed(),
        // `handler stdio` logs little, and its stderr is read by a person or a client's log.
        Sink::Stderr => layer.with_writer(std::io::stderr).boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// Outermost layer: assigns the request id and writes the one `request` event.
pub async fn request_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = RequestId(uuid::Uuid::new_v4().to_string());
    let record = CallRecord::default();
    request.extensions_mut().insert(request_id.clone());
    request.extensions_mut().insert(record.clone());
    let http_method = request.method().clone();
    // The host's id for the invocation, in our own spelling: nothing a client chose.
    let invocation_id = request
        .headers()
        .get("x-ms-invocation-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() == 36)
        .and_then(|value| uuid::Uuid::try_parse(value).ok())
        .map(|id| id.hyphenated().to_string());

    let mut response = next.run(request).await;
    // The route, not the path: a path no route serves may carry anything.
    let route = response.extensions().get::<Route>().cloned();
    let path = route.as_ref().map_or("unknown", |route| &route.0);

    let rpc = response.extensions().get::<RpcFacts>();
    let auth = response.extensions().get::<AuthFacts>();
    let caller = auth.and_then(|auth| auth.caller.as_ref());
    let outbound = record.0.lock().expect("call record lock");
    let graph_calls = (outbound.graph_calls > 0).then_some(outbound.graph_calls);
    tracing::info!(
        target: concat!(env!("CARGO_CRATE_NAME"), "::request"),
        message = "request",
        request_id = %request_id.0,
        invocation_id = invocation_id.as_deref(),
        http_method = %http_method,
        path = %path,
        rpc_method = rpc.and_then(|rpc| rpc.method),
        tool = rpc.and_then(|rpc| rpc.tool),
        outcome = auth.map(|auth| if auth.accepted { "accepted" } else { "rejected" }),
        reason = auth.and_then(|auth| auth.reason),
        tid = caller.map(|caller| caller.tenant_id.as_str()),
        oid = caller.map(|caller| caller.object_id.as_str()),
        azp = caller.map(|caller| caller.client_app_id.as_str()),
        tool_outcome = outbound.tool_outcome,
        exchange = outbound.exchange,
        graph_calls,
        graph_throttled = graph_calls.map(|_| outbound.graph_throttled),
        graph_request_id = outbound.graph_request_id.as_deref(),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    drop(outbound);
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test reads back; `stall` makes writes wait until it is released.
    #[derive(Clone, Default)]
    struct Sink {
        written: Arc<Mutex<Vec<u8>>>,
        stall: Arc<Mutex<()>>,
    }

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _stalled = self.stall.lock().unwrap();
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.written.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    #[test]
    fn every_line_arrives_in_order_and_flush_writes_what_is_pending() {
        let sink = Sink::default();
        let batches = Batches::start(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let batches = Arc::clone(&batches);
                std::thread::spawn(move || {
                    for line in 0..2000 {
                        batches.append(format!("{thread} {line}\n").as_bytes());
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .for_each(|thread| thread.join().unwrap());
        // What an exit does: no waiting for the writer thread, one flush.
        batches.flush();
        let lines = sink.lines();
        assert_eq!(lines.len(), 8000, "no line lost");
        for thread in 0..4 {
            let own: Vec<usize> = lines
                .iter()
                .filter_map(|line| line.strip_prefix(&format!("{thread} ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(
                own,
                (0..2000).collect::<Vec<_>>(),
                "thread {thread}'s order"
            );
        }
    }

    #[test]
    fn a_stalled_output_makes_loggers_wait_instead_of_dropping_lines() {
        let sink = Sink::default();
        let stalled = sink.stall.lock().unwrap();
        let batches = Batches::start(sink.clone());
        let line = vec![b'x'; 1023];
        let logger = {
            let batches = Arc::clone(&batches);
            let mut line = line.clone();
            line.push(b'\n');
            std::thread::spawn(move || {
                // Three times the pending limit while the output accepts nothing.
                for _ in 0..3 * MAX_PENDING_BYTES / 1024 {
                    batches.append(&line);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(!logger.is_finished(), "the logger waits for room");
        drop(stalled);
        logger.join().unwrap();
        batches.flush();
        assert_eq!(sink.lines().len(), 3 * MAX_PENDING_BYTES / 1024);
    }

    #[test]
    fn lines_reach_the_output_without_an_explicit_flush() {
        let sink = Sink::default();
        let batches = Batches::start(sink.clone());
        batches.append(b"one\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.lines().is_empty() {
            assert!(Instant::now() < deadline, "the writer thread wrote nothing");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.lines(), ["one"]);
    }
}
