//! `list_tasks`: open To Do tasks across all the user's lists, the ones due soonest first.
//!
//! `GET /me/todo/lists`, then each list's tasks (`Tasks.Read`), fetched at once within the
//! mailbox's concurrency. Due dates are dates: To Do stores them as midnight of the day, and
//! converting that between zones would move the task to the previous day, so they are shown
//! as the calendar day To Do shows. A cursor continues the same ordering from where the last
//! call stopped.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    caller::Access,
    config::Toolset,
    content::text::truncate,
    graph::{Filter, GraphRequest, paging::Limits},
    local_time::{DateTimeTimeZone, graph_date},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments,
        delegated::Session,
        shapes::{GraphBody, cleaned},
        untrusted::Rendering,
    },
};

pub struct ListTasks;

/// Lists read at most, and tasks read per list: To Do users rarely have more, and the model's
/// context could not take them all anyway.
const MAX_LISTS: usize = 50;
const MAX_TASKS_PER_LIST: usize = 200;
const MAX_NOTES_CHARS: usize = 500;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Also list completed tasks (default false).
    pub include_completed: Option<bool>,
    /// Default 50.
    #[schemars(range(min = 1, max = 100))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub tasks: Vec<Task>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Task {
    pub id: String,
    /// Untrusted text.
    pub title: String,
    /// The list it is on.
    pub list: String,
    /// notStarted, inProgress, completed, waitingOnOthers or deferred.
    pub status: String,
    /// low, normal or high.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<String>,
    /// The day it is due (`YYYY-MM-DD`), as To Do shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// The task's notes (untrusted text), cut at 500 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Continuation {
    include_completed: bool,
    skip: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphTaskList {
    id: String,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphTask {
    id: String,
    title: Option<String>,
    status: Option<String>,
    importance: Option<String>,
    due_date_time: Option<DateTimeTimeZone>,
    body: Option<GraphBody>,
}

impl GraphTool for ListTasks {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "list_tasks",
        title: "List To Do tasks",
        description: "The user's open To Do tasks across all lists, soonest due first \
                      (include_completed adds finished ones).",
        toolset: Toolset::Tasks,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(&["Tasks.Read"]),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let max = arguments::max_results(input.max_results, 50, 100) as usize;
        let (include_completed, skip) = match input.cursor.as_deref() {
            Some(cursor) => {
                let continuation: Continuation = session.open_cursor(cursor).await?;
                (continuation.include_completed, continuation.skip)
            }
            None => (input.include_completed.unwrap_or(false), 0),
        };
        let lists = session
            .list::<GraphTaskList>(
                &GraphRequest::get("me/todo/lists", &[], &["id", "displayName"]),
                None,
                Limits {
                    max_pages: 5,
                    max_items: MAX_LISTS,
                },
            )
            .await?
            .items;
        let per_list = lists.iter().map(|list| async move {
            let mut request = GraphRequest::get(
                "me/todo/lists/{}/tasks",
                &[&list.id],
                &["id", "title", "status", "importance", "dueDateTime", "body"],
            )
            .top(100);
            if !include_completed {
                request = request.filter(&Filter::ne("status", "completed"));
            }
            let limits = Limits {
                max_pages: 2,
                max_items: MAX_TASKS_PER_LIST,
            };
            let tasks = session.list::<GraphTask>(&request, None, limits).await?;
            let name = cleaned(list.display_name.clone()).unwrap_or_else(|| "Tasks".into());
            Ok::<_, ToolError>(
                tasks
                    .items
                    .into_iter()
                    .map(|task| to_task(task, &name))
                    .collect::<Vec<_>>(),
            )
        });
        let mut tasks = Vec::new();
        for list in futures::future::join_all(per_list).await {
            tasks.extend(list?);
        }
        // Soonest due first, undated last; then by title, so the order is the same every call.
        tasks.sort_by(|a, b| {
            (a.due.is_none(), &a.due, &a.title, &a.id).cmp(&(
                b.due.is_none(),
                &b.due,
                &b.title,
                &b.id,
            ))
        });
        let remaining = tasks.len().saturating_sub(skip);
        let tasks: Vec<Task> = tasks.into_iter().skip(skip).take(max).collect();
        let next_cursor = if remaining > max {
            Some(
                session
                    .seal_cursor(&Continuation {
                        include_completed,
                        skip: skip + max,
                    })
                    .await?,
            )
        } else {
            None
        };
        Ok(Output { tasks, next_cursor })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if output.tasks.is_empty() {
            rendering.line("No tasks.");
        }
        for task in &output.tasks {
            rendering.line(format!(
                "- id {}: {}{}{}",
                task.id,
                task.status,
                task.due
                    .as_ref()
                    .map(|due| format!(", due {due}"))
                    .unwrap_or_default(),
                task.importance
                    .as_deref()
                    .filter(|importance| *importance == "high")
                    .map(|_| ", important")
                    .unwrap_or_default(),
            ));
            rendering.fields(
                "task",
                [("list", task.list.clone()), ("title", task.title.clone())],
            );
            if let Some(notes) = &task.notes {
                rendering.content("notes", notes);
            }
        }
        if output.next_cursor.is_some() {
            rendering.line("More tasks: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}

fn to_task(task: GraphTask, list: &str) -> Task {
    Task {
        id: task.id,
        title: cleaned(task.title).unwrap_or_else(|| "(untitled)".into()),
        list: list.to_owned(),
        status: task.status.unwrap_or_else(|| "notStarted".into()),
        importance: task.importance,
        due: task
            .due_date_time
            .and_then(|due| graph_date(&due.date_time).ok())
            .map(|date| date.to_string()),
        notes: task
            .body
            .map(|body| body.visible())
            .filter(|notes| !notes.is_empty())
            .map(|notes| truncate(&notes, MAX_NOTES_CHARS).text),
    }
}
