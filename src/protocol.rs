//! Who this server is in MCP terms, and which protocol revisions it speaks: what the transport
//! negotiates and `server_info` reports, declared once.

use rmcp::model::ProtocolVersion;

/// The protocol revisions this server implements; `initialize` negotiates within them and the
/// `MCP-Protocol-Version` header must name one of them.
pub static SUPPORTED_PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
];

/// The revision offered when a client asks for one this server does not implement.
pub const LATEST_PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V_2025_11_25;

pub const SERVER_NAME: &str = "m365-mcp-handler";
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");
