//! `handler`: the executable the Azure Functions host starts.

use std::process::ExitCode;

use m365_mcp::{
    app,
    cli::{self, Command},
    config::{Config, StdioConfig},
    hosting::{self, Environment},
    identity::public_client::{Flow, TokenStore},
    outbound::OutboundHttp,
    stdio,
    telemetry::{self, Sink},
};

// musl's allocator costs the static build two thirds of its throughput (docs/PERFORMANCE.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in the bundled mimalloc.h (the sys crate's own constants lag
/// the C source). Committing arenas lazily keeps idle memory near 4 MiB instead of 12 MiB.
#[cfg(target_env = "musl")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// BSD `EX_CONFIG`: the configuration is wrong, restarting will not help.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    // SAFETY: sets a process-wide allocator option before any thread but this one exists.
    #[cfg(target_env = "musl")]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0)
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(Command::Serve) => serve(),
        Ok(Command::Stdio { browser }) => serve_stdio(if browser {
            Flow::Browser
        } else {
            Flow::DeviceCode
        }),
        Ok(Command::Logout) => match stdio::logout(&std::env::vars().collect()) {
            Ok(done) => print_and_succeed(&done),
            Err(message) => fail(&message, ExitCode::FAILURE),
        },
        Ok(Command::Help) => print_and_succeed(&cli::help()),
        Ok(Command::Version) => {
            print_and_succeed(&format!("handler {}\n", env!("CARGO_PKG_VERSION")))
        }
        #[cfg(feature = "devstack")]
        Ok(Command::DevToken(request)) => match m365_mcp::local_mode::dev_token(&request) {
            Ok(token) => print_and_succeed(&format!("{token}\n")),
            Err(message) => fail(&message, ExitCode::FAILURE),
        },
        Err(message) => fail(&message, ExitCode::from(2)),
    }
}

fn serve() -> ExitCode {
    let env = std::env::vars().collect();
    // With the local stand-ins built in and no tenant configured, they stand in for the cloud.
    // SAFETY: no thread but this one exists yet: the stand-ins' thread starts inside, the
    // runtime's below.
    #[cfg(feature = "devstack")]
    let (environment, _stand_ins) = match unsafe { m365_mcp::local_mode::enter(env) } {
        Ok(entered) => entered,
        Err(message) => {
            return fail(
                &format!("the handler cannot start: {message}"),
                config_error(),
            );
        }
    };
    #[cfg(not(feature = "devstack"))]
    let environment = Environment::as_given(env);

    let Environment {
        settings,
        http,
        notice,
    } = environment;
    let config = match Config::from_lookup(&|name| settings.get(name).cloned()) {
        Ok(config) => config,
        Err(error) => return fail(&error.to_string(), config_error()),
    };
    telemetry::init(config.log_level, Sink::Stdout);
    if let Some(notice) = notice {
        eprintln!("{notice}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");
    let result = runtime.block_on(run(config, http));
    // Log lines are written in batches: the last ones go out now, before the process ends.
    telemetry::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("handler stopped: {error}"), ExitCode::FAILURE),
    }
}

/// `handler stdio`: stdout carries MCP alone, so everything this prints goes to stderr.
fn serve_stdio(flow: Flow) -> ExitCode {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    // With the local stand-ins built in and no tenant configured, the user signs in at them.
    #[cfg(feature = "devstack")]
    let (settings, offline, notice, _stand_ins) =
        match m365_mcp::local_mode::prepare_stdio(env.clone()) {
            Ok(prepared) => (
                prepared.env,
                prepared.devstack.is_some(),
                prepared.notice,
                prepared.devstack,
            ),
            Err(message) => {
                return fail(
                    &format!("handler stdio cannot start: {message}"),
                    config_error(),
                );
            }
        };
    #[cfg(not(feature = "devstack"))]
    let (settings, offline, notice) = (env.clone(), false, None::<String>);

    let config = match StdioConfig::from_lookup(&|name| settings.get(name).cloned()) {
        Ok(config) => config,
        Err(error) => return fail(&error.to_string(), config_error()),
    };
    let store = if offline {
        TokenStore::in_memory()
    } else {
        match TokenStore::locate(config.token_store_dir.clone(), &|name| {
            env.get(name).cloned()
        }) {
            Ok(store) => store,
            Err(message) => {
                return fail(
                    &format!("handler stdio cannot start: {message}"),
                    config_error(),
                );
            }
        }
    };
    telemetry::init(config.log_level, Sink::Stderr);
    if let Some(notice) = notice {
        eprintln!("{notice}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");
    match runtime.block_on(stdio::serve(config, OutboundHttp::default(), store, flow)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(
            &format!("handler stdio stopped: {message}"),
            ExitCode::FAILURE,
        ),
    }
}

async fn run(config: Config, http: OutboundHttp) -> std::io::Result<()> {
    let shutdown = hosting::shutdown_signal();
    let listener = hosting::bind(config.listen).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {}: {error}", config.listen),
        )
    })?;
    http.warm_up_for(&config.auth.authority_host);
    let router = app::build(&config, http);
    tracing::info!(
        listen = %config.listen,
        public_url = %config.public_url,
        "handler ready: MCP at /mcp"
    );
    hosting::serve(listener, router, shutdown, config.shutdown_grace).await
}

fn print_and_succeed(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::SUCCESS
}

fn fail(message: &str, code: ExitCode) -> ExitCode {
    eprintln!("{message}");
    code
}

fn config_error() -> ExitCode {
    ExitCode::from(EXIT_CONFIG)
}
