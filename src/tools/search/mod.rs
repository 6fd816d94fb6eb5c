//! The `search` toolset: one query across the user's mail, events and files.

mod search_m365;

pub use search_m365::SearchM365;
