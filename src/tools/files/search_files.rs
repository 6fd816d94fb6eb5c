//! `search_files`: files whose name, metadata or text match, in the user's OneDrive and among
//! the files shared with them (`GET /me/drive/search(q='…')`, `Files.Read.All`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FILES, FileSummary, GraphDriveItem, ITEM_FIELDS};
use crate::{
    caller::Access,
    config::Toolset,
    graph::{GraphRequest, paging::Limits, request::string_literal},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments, delegated::Session,
        untrusted::Rendering,
    },
};

pub struct SearchFiles;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Words in the file's name, metadata or text.
    pub query: String,
    /// Default 20.
    #[schemars(range(min = 1, max = 50))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub files: Vec<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl GraphTool for SearchFiles {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "search_files",
        title: "Search files",
        description: "Searches the user's OneDrive and the files shared with them by words in \
                      the name or text. Returns ids for read_file.",
        toolset: Toolset::Files,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(FILES),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let query = arguments::text("query", &input.query, 200)?;
        let max = arguments::max_results(input.max_results, 20, 50);
        let request = GraphRequest::get(
            "me/drive/search(q={})",
            &[&string_literal(query)],
            ITEM_FIELDS,
        )
        .top(max);
        let page = session
            .list::<GraphDriveItem>(
                &request,
                input.cursor.as_deref(),
                Limits {
                    max_pages: 1,
                    max_items: max as usize,
                },
            )
            .await?;
        Ok(Output {
            files: page
                .items
                .into_iter()
                .filter_map(FileSummary::from_graph)
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if output.files.is_empty() {
            rendering.line("No files match.");
        }
        for file in &output.files {
            file.render(&mut rendering);
        }
        if output.next_cursor.is_some() {
            rendering.line("More matches: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}
