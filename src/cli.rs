//! Command-line arguments. The server itself is configured through the environment (app
//! settings); arguments only select what the binary does.

use std::fmt::Write;

use crate::{
    config::{SETTINGS, STDIO_READS, STDIO_SETTINGS, Toolset},
    tools,
};

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    /// Serve the tools over stdio for one user who signs in to the process; with a browser
    /// (authorization code) instead of a device code when `browser`.
    Stdio {
        browser: bool,
    },
    /// Remove the sign-in `stdio` stored.
    Logout,
    Help,
    Version,
    /// Print a token from the running local Entra ID stand-in.
    #[cfg(feature = "devstack")]
    DevToken(crate::local_mode::DevTokenRequest),
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve),
        [flag] if flag == "--help" || flag == "-h" => Ok(Command::Help),
        // Someone trying the local commands asks them for help first.
        [command, flag]
            if (command == "stdio" || command == "logout")
                && (flag == "--help" || flag == "-h") =>
        {
            Ok(Command::Help)
        }
        [flag] if flag == "--version" || flag == "-V" => Ok(Command::Version),
        [command] if command == "stdio" => Ok(Command::Stdio { browser: false }),
        [command, flag] if command == "stdio" && flag == "--browser" => {
            Ok(Command::Stdio { browser: true })
        }
        [command, other, ..] if command == "stdio" => Err(format!(
            "unknown option `{other}` for `handler stdio`; it takes only --browser"
        )),
        [command] if command == "logout" => Ok(Command::Logout),
        #[cfg(feature = "devstack")]
        [command, rest @ ..] if command == "dev-token" => {
            crate::local_mode::parse_dev_token(rest).map(Command::DevToken)
        }
        [other, ..] => Err(format!(
            "unknown argument `{other}`; run `handler --help` for usage"
        )),
    }
}

pub fn help() -> String {
    let mut text = format!(
        "handler {}: remote MCP server for Microsoft 365 data, run as an Azure Functions custom \
         handler\n\nUSAGE:\n  handler              serve MCP at /mcp\n  \
         handler stdio [--browser]\n                       serve the same tools over stdio for \
         you alone, signed in to your own app registration (device code; with --browser, a \
         browser on this machine)\n  \
         handler logout       remove the sign-in `handler stdio` stored\n  \
         handler --help       this text\n  handler --version    the version\n",
        env!("CARGO_PKG_VERSION")
    );
    #[cfg(feature = "devstack")]
    let _ = writeln!(
        text,
        "  {}\n                       print a token from the local Entra ID stand-in",
        crate::local_mode::DEV_TOKEN_USAGE
    );
    text.push_str("\nSETTINGS (environment variables; in Azure, app settings):\n");
    write_settings(&mut text, SETTINGS);
    text.push_str(
        "\nTOOLSETS (MCP_TOOLSETS) and the delegated Microsoft Graph permissions each needs \
         consented (in brackets: optional, the tool does less without it):\n",
    );
    write_toolsets(&mut text);
    let shared: Vec<&str> = STDIO_READS
        .iter()
        .filter(|setting| !STDIO_SETTINGS.iter().any(|own| own.name == setting.name))
        .map(|setting| setting.name)
        .collect();
    let _ = writeln!(
        text,
        "\nLOCAL USE (handler stdio, handler logout) reads {} as above, and:",
        shared.join(", ")
    );
    write_settings(&mut text, STDIO_SETTINGS);
    #[cfg(feature = "devstack")]
    {
        text.push_str("\nLOCAL DEVELOPMENT (this build includes the local stand-ins):\n");
        write_settings(&mut text, crate::local_mode::SETTINGS);
    }
    text
}

fn write_toolsets(text: &mut String) {
    let catalog = tools::catalog();
    for toolset in std::iter::once(Toolset::Server).chain(Toolset::SELECTABLE) {
        let specs: Vec<_> = catalog
            .iter()
            .filter(|spec| spec.toolset == toolset)
            .collect();
        let names: Vec<&str> = specs.iter().map(|spec| spec.name).collect();
        let mut permissions: Vec<String> = Vec::new();
        for spec in &specs {
            for permission in spec.graph.required {
                if !permissions.iter().any(|p| p == permission) {
                    permissions.push((*permission).to_owned());
                }
            }
        }
        for spec in &specs {
            for permission in spec.graph.optional {
                if !permissions
                    .iter()
                    .any(|p| p == permission || *p == format!("[{permission}]"))
                {
                    permissions.push(format!("[{permission}]"));
                }
            }
        }
        let always = if toolset == Toolset::Server {
            " (always on)"
        } else {
            ""
        };
        let _ = writeln!(text, "  {toolset}{always}: {}", names.join(", "));
        let _ = writeln!(
            text,
            "      Graph: {}",
            if permissions.is_empty() {
                "none".to_owned()
            } else {
                permissions.join(" ")
            }
        );
    }
}

fn write_settings(text: &mut String, settings: &[&crate::config::Setting]) {
    for setting in settings {
        let _ = writeln!(text, "  {}", setting.name);
        let _ = writeln!(text, "      {}", setting.help);
        let _ = writeln!(text, "      default: {}", setting.default);
    }
}
