//! `list_files`: the files and folders in a folder, by id (any drive the user can read) or by
//! path in the user's own OneDrive (the root when neither is given).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FILES, FileSummary, GraphDriveItem, ITEM_FIELDS, parse_file_id};
use crate::{
    caller::Access,
    config::Toolset,
    graph::{GraphRequest, paging::Limits},
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, arguments, delegated::Session,
        untrusted::Rendering,
    },
};

pub struct ListFiles;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// A folder's `id`.
    pub folder_id: Option<String>,
    /// A path in the user's OneDrive, e.g. `Documents/Q3` (default the root).
    pub path: Option<String>,
    /// Default 50.
    #[schemars(range(min = 1, max = 100))]
    pub max_results: Option<u32>,
    /// `next_cursor` of the previous call.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub items: Vec<FileSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl GraphTool for ListFiles {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "list_files",
        title: "List a folder",
        description: "Lists the files and folders in a folder of the user's OneDrive (by path, \
                      default the root) or any folder they can open (by folder_id).",
        toolset: Toolset::Files,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(FILES),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let max = arguments::max_results(input.max_results, 50, 100);
        let request = match (input.folder_id.as_deref(), input.path.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(ToolError::argument(
                    "path",
                    "it was given together with folder_id",
                    "Pass either folder_id or path, not both.",
                ));
            }
            (Some(folder), None) => {
                let (drive, item) = parse_file_id("folder_id", folder)?;
                GraphRequest::get("drives/{}/items/{}/children", &[drive, item], ITEM_FIELDS)
            }
            (None, path) => match folder_path(path)? {
                None => GraphRequest::get("me/drive/root/children", &[], ITEM_FIELDS),
                Some(path) => {
                    GraphRequest::get("me/drive/root:/{/}:/children", &[path], ITEM_FIELDS)
                }
            },
        }
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
            items: page
                .items
                .into_iter()
                .filter_map(FileSummary::from_graph)
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        if output.items.is_empty() {
            rendering.line("The folder is empty.");
        }
        for item in &output.items {
            item.render(&mut rendering);
        }
        if output.next_cursor.is_some() {
            rendering.line("More items: call again with next_cursor.");
        }
        Some(rendering.finish())
    }
}

/// A folder path in the user's drive; `None` for the root. `.` and `..` are not folder names
/// a drive path may walk through.
fn folder_path(path: Option<&str>) -> Result<Option<&str>, ToolError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let path = arguments::text("path", path, 400)?.trim_matches('/');
    if path
        .split('/')
        .any(|segment| matches!(segment.trim(), "." | ".."))
    {
        return Err(ToolError::argument(
            "path",
            "it walks through `.` or `..`",
            "Give the folder's path from the root of the OneDrive, e.g. Documents/Q3.",
        ));
    }
    Ok((!path.is_empty()).then_some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_stay_inside_the_drive() {
        assert_eq!(folder_path(None).unwrap(), None);
        assert_eq!(folder_path(Some("/")).unwrap(), None);
        assert_eq!(
            folder_path(Some("/Documents/Q3/")).unwrap(),
            Some("Documents/Q3")
        );
        for bad in ["../other", "Documents/../..", "a/./b", "a\nb"] {
            assert!(folder_path(Some(bad)).is_err(), "{bad}");
        }
    }
}
