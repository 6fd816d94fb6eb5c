//! Command-line arguments. The server itself is configured through the environment (app
//! settings); arguments only select what the binary does.

use std::fmt::Write;

use crate::config::SETTINGS;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Help,
    Version,
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve),
        [flag] if flag == "--help" || flag == "-h" => Ok(Command::Help),
        [flag] if flag == "--version" || flag == "-V" => Ok(Command::Version),
        [other, ..] => Err(format!(
            "unknown argument `{other}`; run `handler --help` for usage"
        )),
    }
}

pub fn help() -> String {
    let mut text = format!(
        "handler {version}: remote MCP server for Microsoft 365 data, run as an Azure Functions \
         custom handler\n\n\
         USAGE:\n  handler              serve MCP at /mcp\n  handler --help       this text\n  \
         handler --version    the version\n\n\
         SETTINGS (environment variables; in Azure, app settings):\n",
        version = env!("CARGO_PKG_VERSION")
    );
    for setting in SETTINGS {
        let _ = writeln!(text, "  {}", setting.name);
        let _ = writeln!(text, "      {}", setting.help);
        let _ = writeln!(text, "      default: {}", setting.default);
    }
    text
}
