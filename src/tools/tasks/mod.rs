//! The `tasks` toolset: the user's Microsoft To Do tasks.

mod list_tasks;

pub use list_tasks::ListTasks;
