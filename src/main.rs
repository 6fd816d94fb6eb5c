//! `handler`: the executable the Azure Functions host starts.

use std::{collections::HashMap, process::ExitCode};

use m365_mcp::{
    app,
    cli::{self, Command},
    config::Config,
    hosting,
    outbound::OutboundHttp,
    telemetry,
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
        Ok(Command::Serve) => {}
        Ok(Command::Help) => {
            print!("{}", cli::help());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("handler {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        #[cfg(feature = "devstack")]
        Ok(Command::DevToken(request)) => {
            return match m365_mcp::devstack::local::dev_token(&request) {
                Ok(token) => {
                    println!("{token}");
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::FAILURE
                }
            };
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    }

    let env: HashMap<String, String> = std::env::vars().collect();
    // Without a tenant, a build with the local stand-ins runs against them.
    // SAFETY: no thread but this one exists yet: the stand-ins' thread starts inside, the
    // runtime's below.
    #[cfg(feature = "devstack")]
    let (env, _devstack) = match unsafe { m365_mcp::devstack::local::prepare_process(env) } {
        Ok(prepared) => (prepared.env, prepared.devstack),
        Err(message) => {
            eprintln!("the handler cannot start: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let config = match Config::from_lookup(&|name| env.get(name).cloned()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(config.log_level);
    // Only the local stand-ins need Key Vault traffic delivered elsewhere (devstack::local).
    #[cfg(feature = "devstack")]
    let vault_transport = match m365_mcp::devstack::local::vault_transport_from(&env) {
        Ok(transport) => transport,
        Err(message) => {
            eprintln!("the handler cannot start: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    #[cfg(not(feature = "devstack"))]
    let vault_transport = None;
    #[cfg(feature = "devstack")]
    if let Some(devstack) = &_devstack {
        eprintln!(
            "{}",
            m365_mcp::devstack::local::banner(devstack, config.public_url.as_str())
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");
    match runtime.block_on(serve(config, vault_transport)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("handler stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    config: Config,
    vault_transport: Option<azure_core::http::Transport>,
) -> std::io::Result<()> {
    let shutdown = hosting::shutdown_signal();
    let listener = hosting::bind(config.listen).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {}: {error}", config.listen),
        )
    })?;
    let http = OutboundHttp::default();
    http.warm_up();
    let router = app::build(&config, http, vault_transport);
    tracing::info!(
        listen = %config.listen,
        public_url = %config.public_url,
        "handler ready: MCP at /mcp"
    );
    hosting::serve(listener, router, shutdown, config.shutdown_grace).await
}
