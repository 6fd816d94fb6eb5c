//! `read_file`: a file's text, extracted here: plain text, Markdown, CSV, JSON, HTML (visible
//! text only), Word, Excel and PowerPoint documents (OOXML) and PDF.
//!
//! The item's metadata comes first (`GET /drives/{drive}/items/{item}`): a folder, a format
//! this server does not read, or a file over the size its format allows answers with the
//! metadata and the web link, never with the bytes. Otherwise the content is downloaded
//! (Graph redirects to a pre-authenticated URL, fetched without the Graph token), extracted on
//! a blocking thread with the extractor's own bounds ([`crate::content::documents`]), cleaned,
//! and cut at `max_chars`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FILES, FileSummary, GraphDriveItem, ITEM_FIELDS, parse_file_id};
use crate::{
    caller::Access,
    config::Toolset,
    content::{
        documents::{DocumentKind, extract},
        text::{clean, truncate},
    },
    graph::GraphRequest,
    tools::{
        Effect, GraphPermissions, GraphTool, ToolError, ToolSpec, delegated::Session,
        untrusted::Rendering,
    },
};

pub struct ReadFile;

const DEFAULT_MAX_CHARS: u32 = 8000;
const MAX_CHARS: u32 = 100_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The file's `id` from search_files, list_files or search_m365.
    pub file_id: String,
    /// Longest text to return (200–100000, default 8000).
    #[schemars(range(min = 200, max = 100000))]
    pub max_chars: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub file: FileSummary,
    /// The file's text (untrusted content), when this server reads its format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub truncated: bool,
    /// The whole text's length in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_chars: Option<usize>,
    /// Why there is no text, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl GraphTool for ReadFile {
    type Input = Input;
    type Output = Output;

    const SPEC: ToolSpec = ToolSpec {
        name: "read_file",
        title: "Read a file",
        description: "A file's text by id (text, Markdown, CSV, JSON, HTML, Word, Excel, \
                      PowerPoint, PDF), cut at max_chars; other formats give the web link.",
        toolset: Toolset::Files,
        effect: Effect::ReadOnly,
        open_world: true,
        access: Access::User { scopes: &[] },
        graph: GraphPermissions::only(FILES),
    };

    async fn call(&self, session: &Session<'_>, input: Input) -> Result<Output, ToolError> {
        let (drive, item) = parse_file_id("file_id", &input.file_id)?;
        let max_chars = input
            .max_chars
            .unwrap_or(DEFAULT_MAX_CHARS)
            .clamp(200, MAX_CHARS);
        let metadata = GraphRequest::get("drives/{}/items/{}", &[drive, item], ITEM_FIELDS);
        let graph_item: GraphDriveItem = session.get(&metadata).await?;
        let mime = graph_item
            .file
            .as_ref()
            .and_then(|file| file.mime_type.clone());
        let Some(file) = FileSummary::from_graph(graph_item) else {
            return Err(ToolError::new(
                "Microsoft Graph returned the item without its drive.",
                "Try again; if it keeps happening, report it to the server's operators.",
            ));
        };
        let without_text = |file: FileSummary, note: String| Output {
            file,
            text: None,
            truncated: false,
            total_chars: None,
            note: Some(note),
        };
        if file.is_folder {
            return Err(ToolError::argument(
                "file_id",
                "it names a folder",
                "List the folder with list_files (folder_id) and read one of its files.",
            ));
        }
        let Some(kind) = DocumentKind::from_name_and_mime(&file.name, mime.as_deref()) else {
            return Ok(without_text(
                file,
                "This server does not read this file format as text; open it from its web link."
                    .into(),
            ));
        };
        let limit = kind.max_input_bytes() as u64;
        if file.size_bytes.is_some_and(|size| size > limit) {
            return Ok(without_text(
                file,
                format!(
                    "The file is larger than the {} MB this server reads for this format; open \
                     it from its web link.",
                    limit / (1024 * 1024)
                ),
            ));
        }
        let content = GraphRequest::get("drives/{}/items/{}/content", &[drive, item], &[]);
        let bytes = session
            .download(&content, limit)
            .await
            .map_err(|failure| session.explain(failure))?;
        let extracted = tokio::task::spawn_blocking(move || extract(&bytes, kind))
            .await
            .map_err(|_| {
                ToolError::new(
                    "Reading the file's text failed unexpectedly.",
                    "Open it from its web link instead.",
                )
            })?;
        let text = match extracted {
            Ok(text) => clean(&text),
            Err(error) => {
                return Ok(without_text(
                    file,
                    format!("{error}; open it from its web link."),
                ));
            }
        };
        let text = truncate(text.trim(), max_chars as usize);
        Ok(Output {
            file,
            text: Some(text.text),
            truncated: text.truncated,
            total_chars: Some(text.total_chars),
            note: None,
        })
    }

    fn render(output: &Output) -> Option<String> {
        let mut rendering = Rendering::new();
        output.file.render(&mut rendering);
        if let Some(url) = &output.file.web_url {
            rendering.line(format!("Web link: {url}"));
        }
        match (&output.text, &output.note) {
            (Some(text), _) => {
                rendering.content("file text", text);
            }
            (None, Some(note)) => {
                rendering.line(format!("No text: {note}"));
            }
            (None, None) => {}
        }
        Some(rendering.finish())
    }
}
