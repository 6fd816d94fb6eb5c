//! `handler`: the executable the Azure Functions host starts.

use std::process::ExitCode;

use m365_mcp::{
    app,
    cli::{self, Command},
    config::Config,
    hosting, telemetry, tools,
};

/// BSD `EX_CONFIG`: the configuration is wrong, restarting will not help.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
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
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    telemetry::init(config.log_level);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("handler stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> std::io::Result<()> {
    let shutdown = hosting::shutdown_signal();
    let listener = hosting::bind(config.listen).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {}: {error}", config.listen),
        )
    })?;
    let router = app::router(&config, tools::registry());
    tracing::info!(
        listen = %config.listen,
        public_url = %config.public_url,
        "handler ready: MCP at /mcp"
    );
    hosting::serve(listener, router, shutdown, config.shutdown_grace).await
}
