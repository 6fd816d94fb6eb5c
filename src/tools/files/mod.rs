//! The `files` toolset: the user's OneDrive and what is shared with them, read as text.
//!
//! A file's id (`file_id`) names its drive and its item (`{driveId}:{itemId}`), so a file from
//! another user's OneDrive or a SharePoint library (a search hit, a shared item) opens like the
//! user's own. Every call goes to `/drives/{driveId}/items/{itemId}`, which needs
//! `Files.Read.All` for drives other than the user's own.

mod list_files;
mod read_file;
mod search_files;

pub use list_files::ListFiles;
pub use read_file::ReadFile;
pub use search_files::SearchFiles;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ToolError, arguments, shapes::cleaned, untrusted::Rendering};

/// The one permission of the toolset: the user's files and the ones shared with them.
const FILES: &[&str] = &["Files.Read.All"];

/// A drive item as Graph sends it (`$select` of [`ITEM_FIELDS`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphDriveItem {
    id: String,
    name: Option<String>,
    size: Option<u64>,
    file: Option<GraphFileFacet>,
    folder: Option<GraphFolderFacet>,
    web_url: Option<String>,
    last_modified_date_time: Option<String>,
    parent_reference: Option<GraphItemReference>,
    /// Set on items shared from another drive: where the item really lives.
    remote_item: Option<Box<GraphDriveItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphFileFacet {
    mime_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphFolderFacet {
    child_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphItemReference {
    drive_id: Option<String>,
    path: Option<String>,
}

const ITEM_FIELDS: &[&str] = &[
    "id",
    "name",
    "size",
    "file",
    "folder",
    "webUrl",
    "lastModifiedDateTime",
    "parentReference",
    "remoteItem",
];

/// A file or folder, as the files tools return them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileSummary {
    /// Pass it to `read_file`, or to `list_files` as `folder_id` for a folder.
    pub id: String,
    pub name: String,
    pub is_folder: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Last modified (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Items in a folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_count: Option<u64>,
    /// Where it sits in its drive, e.g. `/Documents/Q3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// Whether it lives in someone else's drive and is shared with the user.
    pub shared: bool,
}

impl FileSummary {
    /// The item, from its own drive's point of view; `None` for one Graph returned without a
    /// drive (which no tool could open).
    fn from_graph(item: GraphDriveItem) -> Option<Self> {
        let shared = item.remote_item.is_some();
        let item = match item.remote_item {
            Some(remote) => GraphDriveItem {
                name: remote.name.or(item.name),
                web_url: remote.web_url.or(item.web_url),
                ..*remote
            },
            None => item,
        };
        let parent = item.parent_reference;
        let drive = parent.as_ref().and_then(|parent| parent.drive_id.clone())?;
        Some(FileSummary {
            id: file_id(&drive, &item.id),
            name: cleaned(item.name).unwrap_or_else(|| "(no name)".into()),
            is_folder: item.folder.is_some(),
            size_bytes: item.size,
            mime_type: item.file.and_then(|file| file.mime_type),
            modified: item.last_modified_date_time,
            child_count: item.folder.and_then(|folder| folder.child_count),
            folder_path: parent
                .and_then(|parent| parent.path)
                .map(|path| {
                    path.split_once(':')
                        .map_or(path.clone(), |(_, p)| p.to_owned())
                })
                .and_then(|path| cleaned(Some(path))),
            web_url: item.web_url,
            shared,
        })
    }

    /// The item in a text rendering: the server's line (id, size, sharing), then the names
    /// people chose (the item's and its folder's) in a block.
    fn render(&self, rendering: &mut Rendering) {
        let mut line = format!(
            "- {} id {}",
            if self.is_folder { "folder" } else { "file" },
            self.id
        );
        if let Some(size) = self.size_bytes.filter(|_| !self.is_folder) {
            line.push_str(&format!(", {size} bytes"));
        }
        if self.shared {
            line.push_str(", shared with you");
        }
        rendering.line(line);
        let mut fields = vec![("name", self.name.clone())];
        if let Some(path) = &self.folder_path {
            fields.push(("in", path.clone()));
        }
        rendering.fields("item", fields);
    }
}

fn file_id(drive: &str, item: &str) -> String {
    format!("{drive}:{item}")
}

/// The drive and the item a `file_id` names.
fn parse_file_id<'a>(name: &str, value: &'a str) -> Result<(&'a str, &'a str), ToolError> {
    let value = arguments::id(name, value)?;
    match value.split_once(':') {
        Some((drive, item)) if !drive.is_empty() && !item.is_empty() && !item.contains(':') => {
            Ok((drive, item))
        }
        _ => Err(ToolError::argument(
            name,
            "it is not a file id this server handed out",
            "Pass the `id` that search_files, list_files or search_m365 returned.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_name_their_drive_and_item() {
        let id = file_id("b!x-Y_z", "01ABC");
        assert_eq!(parse_file_id("file_id", &id).unwrap(), ("b!x-Y_z", "01ABC"));
        for bad in ["01ABC", ":01ABC", "b!x:", "a:b:c"] {
            assert!(parse_file_id("file_id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_shared_item_is_described_from_its_own_drive() {
        let item: GraphDriveItem = serde_json::from_value(serde_json::json!({
            "id": "mine",
            "name": "Plan.docx",
            "remoteItem": {
                "id": "theirs",
                "size": 10,
                "file": { "mimeType": "text/plain" },
                "parentReference": { "driveId": "b!other", "path": "/drives/b!other/root:/Shared" }
            }
        }))
        .unwrap();
        let summary = FileSummary::from_graph(item).unwrap();
        assert_eq!(summary.id, "b!other:theirs");
        assert_eq!(summary.name, "Plan.docx");
        assert!(summary.shared);
        assert_eq!(summary.folder_path.as_deref(), Some("/Shared"));
    }
}
