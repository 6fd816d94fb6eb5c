//! The `server` toolset, always on: tools about this server itself, touching no user data.

mod server_info;
mod server_status;

pub use server_info::ServerInfo;
pub use server_status::{OPERATOR_ROLE, ServerStatus, ToolSummary};
