//! OneDrive and SharePoint document libraries: the caller's drive under `/me/drive/…` and any
//! drive under `/drives/{drive-id}/…`, each with
//!
//! - `root`, `root/children`, `items/{id}`, `items/{id}/children`, `items/{id}/content`;
//! - path addressing: `root:/{path}` (an item), `root:/{path}:/children`,
//!   `root:/{path}:/content`;
//! - `root/search(q='…')` (inside that drive) and, on `/me/drive`, `search(q='…')`, which also
//!   finds items other people shared with the caller, each with a `remoteItem` facet naming
//!   the drive it lives in.
//!
//! The drives are every user's OneDrive and a SharePoint site's library ([`sample`]).
//!
//! Four things about OneDrive surprise clients:
//!
//! - **Downloads.** `/content` does not return the bytes. It answers `302 Found` with a
//!   `Location` on the storage host: a short-lived, *pre-authenticated* download URL (here
//!   `{base}/_layouts/15/download.aspx?UniqueId=…&tempauth=…`), the same kind of URL as the
//!   item's `@microsoft.graph.downloadUrl`. The URL carries its own proof (`tempauth`, signed
//!   by the devstack, valid for an hour); the storage host ignores an `Authorization` header,
//!   and a client must not send its Graph token there: the request recorder shows whether it
//!   did. The download honours `Range`.
//! - **Paths are data.** In `root:/{path}:` the path is split at `/` first and each segment
//!   percent-decoded after, so `%2F` is part of a name (and no name contains `/`), and `..`
//!   names nothing.
//! - **`search(q='…')` is a function call in the path.** The query is an OData string
//!   literal in single quotes, a quote written twice (`q='Adele''s notes'`). Search matches
//!   names and file text, case-insensitively.
//! - **Permissions.** `Files.Read` reads the caller's own drive only. Other people's drives and
//!   the site need `Files.Read.All` (or `Sites.Read.All`), and even then show only what was
//!   shared with the caller; anything else is 403 `accessDenied`.

mod sample;

use std::sync::Arc;

use aws_lc_rs::hmac;
use axum::{
    Json,
    extract::{Query as QueryParams, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    ids,
    odata::{Collection, EntityType, Paging, Query, context, string_literal},
    search::{Hit, Terms},
};
use crate::{
    datetime::{iso8601, now_seconds},
    keys::base64url,
    sample::SITE_NAME,
    tenant::User,
};

/// Where pre-authenticated downloads are served.
pub const DOWNLOAD_PATH: &str = "/_layouts/15/download.aspx";
/// How long a download URL works, as SharePoint's (about an hour).
const DOWNLOAD_LIFETIME: i64 = 3600;

const DRIVE_ITEM: EntityType = EntityType {
    name: "microsoft.graph.driveItem",
    workload: Workload::Drive,
    properties: &[
        "@microsoft.graph.downloadUrl",
        "createdDateTime",
        "eTag",
        "id",
        "lastModifiedDateTime",
        "name",
        "webUrl",
        "cTag",
        "size",
        "createdBy",
        "lastModifiedBy",
        "parentReference",
        "file",
        "folder",
        "fileSystemInfo",
        "remoteItem",
        "searchResult",
        "shared",
    ],
    always: &[],
};

/// Reading the caller's own drive.
const READ_OWN: &[&str] = &[
    "Files.Read",
    "Files.ReadWrite",
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
];
/// Reading other people's drives and SharePoint sites.
const READ_ALL: &[&str] = &[
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
];

/// What a URL path segment may not contain unencoded.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The marketing site: `{hostname},{site collection id},{web id}`.
pub fn site_id() -> String {
    format!(
        "contoso.sharepoint.com,{},{}",
        ids::guid(&["site", "collection"]),
        ids::guid(&["site", "web"])
    )
}

#[derive(Debug)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// The id of the containing folder; `None` for the root.
    pub parent: Option<String>,
    /// `None` for folders.
    pub content: Option<Arc<[u8]>>,
    pub mime_type: &'static str,
    /// Unix seconds.
    pub modified: i64,
    /// Keys of the users it is shared with; sharing a folder shares what is inside.
    pub shared_with: Vec<&'static str>,
    /// What search finds in it: the text of a text file or a document.
    pub text: String,
    /// Who created and last changed it.
    pub author: &'static User,
}

#[derive(Debug, Clone, Copy)]
pub enum Owner {
    User(&'static User),
    /// The marketing site's library.
    Site,
}

#[derive(Debug)]
pub struct Drive {
    pub id: String,
    pub owner: Owner,
    /// The root first.
    pub items: Vec<Item>,
}

impl Drive {
    fn is_of(&self, user: &User) -> bool {
        matches!(self.owner, Owner::User(owner) if owner.key == user.key)
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.id == id)
    }

    fn root(&self) -> &Item {
        &self.items[0]
    }

    fn children(&self, id: &str) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|item| item.parent.as_deref() == Some(id))
            .collect()
    }

    /// The item at `segments` below the root (names compared case-insensitively, as OneDrive
    /// does).
    fn at_path(&self, segments: &[String]) -> Option<&Item> {
        let mut current = self.root();
        for segment in segments {
            current = self
                .children(&current.id)
                .into_iter()
                .find(|child| child.name.eq_ignore_ascii_case(segment))?;
        }
        Some(current)
    }

    /// `/Projects/Archive` for a folder, empty for the root.
    fn folder_path(&self, id: &str) -> String {
        let mut names = Vec::new();
        let mut current = self.item(id);
        while let Some(item) = current {
            let Some(parent) = &item.parent else { break };
            names.push(item.name.as_str());
            current = self.item(parent);
        }
        names.reverse();
        names.iter().map(|name| format!("/{name}")).collect()
    }

    /// Whether `user` may see `item`: everything of their own drive and the site, and in
    /// other drives what was shared with them, directly or through a folder.
    pub fn visible(&self, user: &User, item: &Item) -> bool {
        if self.is_of(user) || matches!(self.owner, Owner::Site) {
            return true;
        }
        let mut current = Some(item);
        while let Some(item) = current {
            if item.shared_with.contains(&user.key) {
                return true;
            }
            current = item.parent.as_deref().and_then(|parent| self.item(parent));
        }
        false
    }

    fn size(&self, item: &Item) -> usize {
        match &item.content {
            Some(content) => content.len(),
            None => self
                .children(&item.id)
                .iter()
                .map(|child| self.size(child))
                .sum(),
        }
    }

    fn web_url(&self, item: &Item) -> String {
        let base = match self.owner {
            Owner::User(owner) => format!(
                "https://contoso-my.sharepoint.com/personal/{}/Documents",
                owner.user_principal_name.replace(['@', '.'], "_")
            ),
            Owner::Site => {
                "https://contoso.sharepoint.com/sites/marketing/Shared%20Documents".to_owned()
            }
        };
        let mut path = self.folder_path(&item.id);
        if item.parent.is_none() {
            path.clear();
        }
        let encoded: String = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| format!("/{}", utf8_percent_encode(segment, SEGMENT)))
            .collect();
        format!("{base}{encoded}")
    }

    fn parent_reference(&self, item: &Item, via_me: bool) -> Value {
        let mut reference = json!({
            "driveType": match self.owner { Owner::User(_) => "business", Owner::Site => "documentLibrary" },
            "driveId": self.id,
        });
        if let Some(parent) = &item.parent {
            let root = if via_me {
                "/drive/root:".to_owned()
            } else {
                format!("/drives/{}/root:", self.id)
            };
            reference["id"] = json!(parent);
            reference["path"] = json!(format!("{root}{}", self.folder_path(parent)));
        }
        if matches!(self.owner, Owner::Site) {
            reference["siteId"] = json!(site_id());
        }
        reference
    }

    /// Who a facet names: the owner, or for the site the item's author.
    fn person(user: &User) -> Value {
        json!({ "user": {
            "email": user.user_principal_name,
            "id": user.object_id,
            "displayName": user.display_name,
        }})
    }
}

/// The sample drives.
pub fn sample_drives() -> Arc<[Drive]> {
    sample::drives().into()
}

/// Every drive (shared, never changed), and the key that signs this devstack's download URLs.
#[derive(Debug)]
pub struct Drives {
    drives: Arc<[Drive]>,
    download_key: hmac::Key,
}

impl Drives {
    pub fn new(drives: Arc<[Drive]>) -> Self {
        let mut secret = [0; 32];
        aws_lc_rs::rand::fill(&mut secret).expect("system randomness");
        Self {
            drives,
            download_key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
        }
    }

    pub fn own(&self, user: &User) -> &Drive {
        self.drives
            .iter()
            .find(|drive| drive.is_of(user))
            .expect("every user has a drive")
    }

    pub fn by_id(&self, id: &str) -> Option<&Drive> {
        self.drives.iter().find(|drive| drive.id == id)
    }

    pub fn all(&self) -> &[Drive] {
        &self.drives
    }

    /// `(drive id, item id)` of the item at `path` in `user`'s drive.
    pub fn id_at(&self, user: &User, path: &str) -> Option<(String, String)> {
        let drive = self.own(user);
        let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
        drive
            .at_path(&segments)
            .map(|item| (drive.id.clone(), item.id.clone()))
    }

    /// A new pre-authenticated URL for `item`'s bytes: its proof is signed, so nothing needs
    /// remembering.
    fn download_url(&self, base_url: &str, drive: &Drive, item: &Item) -> String {
        let payload = URL_SAFE_NO_PAD.encode(format!(
            "{}\n{}\n{}",
            drive.id,
            item.id,
            now_seconds() + DOWNLOAD_LIFETIME
        ));
        let tag = base64url(hmac::sign(&self.download_key, payload.as_bytes()));
        format!(
            "{base_url}{DOWNLOAD_PATH}?UniqueId={}&tempauth=v1.{payload}.{tag}",
            ids::guid(&[&item.id])
        )
    }

    /// The drive and item a `tempauth` stands for, if it is genuine and unexpired.
    fn redeem(&self, tempauth: &str) -> Option<(&Drive, &Item)> {
        let (payload, tag) = tempauth.strip_prefix("v1.")?.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.download_key, payload.as_bytes(), &tag).ok()?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let mut fields = payload.split('\n');
        let (drive, item, expires) = (fields.next()?, fields.next()?, fields.next()?);
        if expires.parse::<i64>().ok()? <= now_seconds() {
            return None;
        }
        let drive = self.by_id(drive)?;
        Some((drive, drive.item(item)?))
    }

    fn item_json(&self, base_url: &str, drive: &Drive, item: &Item, via_me: bool) -> Value {
        let person = Drive::person(item.author);
        let etag = format!("\"{{{}}},1\"", ids::guid(&[&item.id]).to_uppercase());
        let mut object = json!({
            "createdDateTime": iso8601(item.modified - 86_400),
            "eTag": etag,
            "id": item.id,
            "lastModifiedDateTime": iso8601(item.modified),
            "name": item.name,
            "webUrl": drive.web_url(item),
            "cTag": format!("\"c:{{{}}},1\"", ids::guid(&[&item.id]).to_uppercase()),
            "size": drive.size(item),
            "createdBy": person,
            "lastModifiedBy": person,
            "parentReference": drive.parent_reference(item, via_me),
            "fileSystemInfo": {
                "createdDateTime": iso8601(item.modified - 86_400),
                "lastModifiedDateTime": iso8601(item.modified),
            },
        });
        match &item.content {
            Some(_) => {
                object["@microsoft.graph.downloadUrl"] =
                    json!(self.download_url(base_url, drive, item));
                object["file"] = json!({
                    "mimeType": item.mime_type,
                    "hashes": { "quickXorHash": base64url(ids::short(&[&item.id, "hash"])) },
                });
            }
            None => {
                object["folder"] = json!({ "childCount": drive.children(&item.id).len() });
            }
        }
        if let (false, Owner::User(owner)) = (item.shared_with.is_empty(), drive.owner) {
            object["shared"] = json!({ "scope": "users", "owner": Drive::person(owner) });
        }
        object
    }

    /// A search hit for an item of someone else's drive: the item, with a `remoteItem` facet
    /// saying where it lives.
    fn remote_json(&self, base_url: &str, drive: &Drive, item: &Item) -> Value {
        let local = self.item_json(base_url, drive, item, false);
        let mut remote = json!({
            "id": item.id,
            "name": item.name,
            "size": local["size"],
            "webUrl": local["webUrl"],
            "createdBy": local["createdBy"],
            "lastModifiedDateTime": local["lastModifiedDateTime"],
            "parentReference": local["parentReference"],
            "shared": local["shared"],
        });
        for facet in ["file", "folder"] {
            if let Some(value) = local.get(facet) {
                remote[facet] = value.clone();
            }
        }
        let mut object = local;
        object["remoteItem"] = remote;
        object
    }
}

/// The site's `Campaign tracker` list: its id.
fn site_list_id() -> String {
    ids::guid(&["site", "list", "campaign-tracker"])
}

/// A SharePoint list item of the marketing site, as search returns it.
fn site_list_items() -> Vec<(String, &'static str, &'static str)> {
    crate::sample::SITE_LIST_ITEMS
        .iter()
        .zip([
            "Status: in progress. Owner: Megan Bowen. Stores, social and window displays.",
            "Status: planned. Owner: Alex Wilber. Four webinars with partners, one a month.",
        ])
        .map(|(title, description)| {
            (
                ids::guid(&["site", "list-item", title]),
                *title,
                description,
            )
        })
        .collect()
}

impl Drives {
    /// What the search service finds for `user` of one SharePoint entity type: files of every
    /// drive they may read (`driveItem`), the site's list items (`listItem`), the site, its
    /// list and its library. `terms` rank files by how often they match.
    pub fn search_hits(&self, user: &User, kind: &str, terms: &Terms) -> Vec<Hit> {
        let site_id = site_id();
        let site_url = "https://contoso.sharepoint.com/sites/marketing";
        let site_drive = self
            .drives
            .iter()
            .find(|drive| matches!(drive.owner, Owner::Site))
            .expect("the site has a library");
        match kind {
            "driveItem" => self
                .drives
                .iter()
                .flat_map(|drive| {
                    drive
                        .items
                        .iter()
                        .filter(|item| item.parent.is_some() && drive.visible(user, item))
                        .map(move |item| (drive, item))
                })
                .map(|(drive, item)| {
                    let person = Drive::person(item.author);
                    let drive_site = match drive.owner {
                        Owner::Site => site_id.clone(),
                        Owner::User(owner) => format!(
                            "contoso-my.sharepoint.com,{},{}",
                            ids::guid(&[owner.object_id, "site"]),
                            ids::guid(&[owner.object_id, "web"])
                        ),
                    };
                    let mut resource = json!({
                        "@odata.type": "#microsoft.graph.driveItem",
                        "id": item.id,
                        "name": item.name,
                        "webUrl": drive.web_url(item),
                        "size": drive.size(item),
                        "createdBy": person,
                        "lastModifiedBy": person,
                        "createdDateTime": iso8601(item.modified - 86_400),
                        "lastModifiedDateTime": iso8601(item.modified),
                        "parentReference": {
                            "driveId": drive.id,
                            "siteId": drive_site,
                            "id": item.parent,
                            "sharepointIds": {
                                "listId": ids::guid(&[&drive.id, "list"]),
                                "listItemId": ids::short(&[&item.id, "listItem"]),
                                "listItemUniqueId": ids::guid(&[&item.id]),
                            },
                        },
                    });
                    match item.content {
                        Some(_) => resource["file"] = json!({ "mimeType": item.mime_type }),
                        None => {
                            resource["folder"] =
                                json!({ "childCount": drive.children(&item.id).len() });
                        }
                    }
                    let text = format!("{} {}", item.name, item.text);
                    Hit {
                        hit_id: item.id.clone(),
                        order: 2 * terms.score(&item.name) + terms.score(&item.text),
                        extension: item
                            .name
                            .rsplit_once('.')
                            .map(|(_, extension)| extension.to_lowercase()),
                        text,
                        resource,
                    }
                })
                .collect(),
            "listItem" => site_list_items()
                .into_iter()
                .enumerate()
                .map(|(index, (id, title, description))| Hit {
                    hit_id: id.clone(),
                    order: terms.score(title) + terms.score(description),
                    text: format!("{title} {description}"),
                    extension: None,
                    resource: json!({
                        "@odata.type": "#microsoft.graph.listItem",
                        "id": id,
                        "name": title,
                        "webUrl": format!("{site_url}/Lists/Campaign%20tracker/DispForm.aspx?ID={}", index + 1),
                        "createdDateTime": "2025-01-08T09:00:00Z",
                        "lastModifiedDateTime": "2025-02-03T16:20:00Z",
                        "parentReference": { "siteId": site_id, "id": site_list_id() },
                        "sharepointIds": { "listId": site_list_id(), "listItemId": (index + 1).to_string() },
                    }),
                })
                .collect(),
            "list" => vec![Hit {
                hit_id: site_list_id(),
                order: 0,
                text: "Campaign tracker Contoso Marketing campaigns".to_owned(),
                extension: None,
                resource: json!({
                    "@odata.type": "#microsoft.graph.list",
                    "id": site_list_id(),
                    "name": "Campaign tracker",
                    "displayName": "Campaign tracker",
                    "webUrl": format!("{site_url}/Lists/Campaign%20tracker"),
                    "parentReference": { "siteId": site_id },
                }),
            }],
            "site" => vec![Hit {
                hit_id: site_id.clone(),
                order: 0,
                text: format!("{SITE_NAME} marketing campaigns brand"),
                extension: None,
                resource: json!({
                    "@odata.type": "#microsoft.graph.site",
                    "id": site_id,
                    "name": "marketing",
                    "displayName": SITE_NAME,
                    "webUrl": site_url,
                    "description": "Campaigns, brand and launch material.",
                }),
            }],
            _ => vec![Hit {
                hit_id: site_drive.id.clone(),
                order: 0,
                text: format!("Documents {SITE_NAME}"),
                extension: None,
                resource: json!({
                    "@odata.type": "#microsoft.graph.drive",
                    "id": site_drive.id,
                    "name": "Documents",
                    "driveType": "documentLibrary",
                    "webUrl": format!("{site_url}/Shared%20Documents"),
                }),
            }],
        }
    }
}

/// The drive and how the request addressed it.
struct Target<'a> {
    drive: &'a Drive,
    /// `/me/drive/…` (paths read `/drive/root:`), or `/drives/{id}/…`.
    via_me: bool,
}

pub async fn me(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let rest = uri
        .path()
        .strip_prefix("/v1.0/me/drive/")
        .unwrap_or_default();
    let target = Target {
        drive: graph.drives.own(caller.0.user),
        via_me: true,
    };
    dispatch(&graph, &caller, &uri, query.as_deref(), &target, rest)
}

pub async fn drives(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let rest = uri.path().strip_prefix("/v1.0/drives/").unwrap_or_default();
    let (drive_id, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let drive_id = decode(drive_id)?;
    let drive = graph.drives.by_id(&drive_id).ok_or_else(not_found)?;
    let target = Target {
        drive,
        via_me: false,
    };
    dispatch(&graph, &caller, &uri, query.as_deref(), &target, rest)
}

/// A percent-decoded path segment; 400 when it is not UTF-8.
fn decode(segment: &str) -> Result<String, GraphError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| {
            GraphError::bad_request(
                "invalidRequest",
                "The path segment is not valid UTF-8 after percent-decoding.",
            )
        })
}

fn not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The resource could not be found.",
    )
}

fn dispatch(
    graph: &Graph,
    caller: &Caller,
    uri: &Uri,
    query: Option<&str>,
    target: &Target<'_>,
    rest: &str,
) -> Result<Response, GraphError> {
    let query = Query::parse(query)?;
    let drive = target.drive;
    let user = caller.0.user;
    if drive.is_of(user) {
        caller.require(READ_OWN, Workload::Drive)?;
    } else {
        caller.require(READ_ALL, Workload::Drive)?;
    }
    let visible = |item: &Item| -> Result<(), GraphError> {
        if drive.visible(user, item) {
            Ok(())
        } else {
            Err(GraphError::denied(Workload::Drive))
        }
    };
    let set = if target.via_me {
        format!("users('{}')/drive", user.object_id)
    } else {
        format!("drives('{}')", drive.id)
    };
    if let Some(path) = rest.strip_prefix("root:") {
        // `root:/a/b:`, `root:/a/b:/children`, `root:/a/b:/content`, or `root:/a/b`.
        let (path, action) = match path.find(':') {
            Some(at) => (&path[..at], &path[at + 1..]),
            None => (path, ""),
        };
        let segments = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        let item = drive.at_path(&segments).ok_or_else(not_found)?;
        visible(item)?;
        return match action {
            "" | "/" => entity(graph, target, item, &query, &set),
            "/children" => children(graph, target, item, &query, uri, &set),
            "/content" => content(graph, drive, item),
            other => Err(GraphError::unknown_segment(other.trim_start_matches('/'))),
        };
    }
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["root"] => {
            visible(drive.root())?;
            entity(graph, target, drive.root(), &query, &set)
        }
        ["root", "children"] => {
            visible(drive.root())?;
            children(graph, target, drive.root(), &query, uri, &set)
        }
        ["root", function] => search(graph, caller, target, function, &query, uri, false),
        [function] if target.via_me && decode(function)?.starts_with("search(") => {
            search(graph, caller, target, function, &query, uri, true)
        }
        ["items", id, action @ ..] => {
            let item = drive.item(&decode(id)?).ok_or_else(not_found)?;
            visible(item)?;
            match action {
                [] => entity(graph, target, item, &query, &set),
                ["children"] => children(graph, target, item, &query, uri, &set),
                ["content"] => content(graph, drive, item),
                [other, ..] => Err(GraphError::unknown_segment(other)),
            }
        }
        _ => Err(GraphError::unknown_segment(
            segments.last().copied().unwrap_or_default(),
        )),
    }
}

fn entity(
    graph: &Graph,
    target: &Target<'_>,
    item: &Item,
    query: &Query,
    set: &str,
) -> Result<Response, GraphError> {
    let selection = DRIVE_ITEM.selection(query)?;
    let mut object = DRIVE_ITEM.project(
        &graph
            .drives
            .item_json(&graph.base_url, target.drive, item, target.via_me),
        selection.as_deref(),
    );
    object["@odata.context"] = json!(context(
        &graph.base_url,
        &format!("{set}/items"),
        selection.as_deref(),
        true,
    ));
    Ok(Json(object).into_response())
}

fn children(
    graph: &Graph,
    target: &Target<'_>,
    folder: &Item,
    query: &Query,
    uri: &Uri,
    set: &str,
) -> Result<Response, GraphError> {
    if folder.content.is_some() {
        return Err(GraphError::bad_request(
            "invalidRequest",
            "The item is a file; only folders have children.",
        ));
    }
    let items = target
        .drive
        .children(&folder.id)
        .into_iter()
        .map(|item| {
            graph
                .drives
                .item_json(&graph.base_url, target.drive, item, target.via_me)
        })
        .collect();
    listing(
        graph,
        items,
        query,
        uri,
        &format!("{set}/items('{}')/children", folder.id),
    )
}

fn listing(
    graph: &Graph,
    items: Vec<Value>,
    query: &Query,
    uri: &Uri,
    set: &str,
) -> Result<Response, GraphError> {
    let selection = DRIVE_ITEM.selection(query)?;
    let values = items
        .iter()
        .map(|item| DRIVE_ITEM.project(item, selection.as_deref()))
        .collect();
    let collection = Collection {
        base_url: &graph.base_url,
        path: uri.path(),
        context: context(&graph.base_url, set, selection.as_deref(), false),
        default_page: 200,
        max_page: 999,
        paging: Paging::SkipToken,
    };
    Ok(Json(collection.page(values, query)?).into_response())
}

/// `search(q='…')`: in `target`'s drive, and with `shared` also what others shared with the
/// caller (when the token may read other drives).
fn search(
    graph: &Graph,
    caller: &Caller,
    target: &Target<'_>,
    function: &str,
    query: &Query,
    uri: &Uri,
    shared: bool,
) -> Result<Response, GraphError> {
    let function = decode(function)?;
    let Some(arguments) = function
        .strip_prefix("search(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return Err(GraphError::unknown_segment(&function));
    };
    let text = arguments
        .strip_prefix("q=")
        .and_then(|literal| string_literal(literal.trim()))
        .ok_or_else(|| {
            GraphError::bad_request(
                "invalidRequest",
                format!(
                    "Syntax error in the function call search({arguments}): q must be a string \
                     literal in single quotes."
                ),
            )
        })?
        .to_lowercase();
    let user = caller.0.user;
    let matches = |item: &Item| {
        !text.is_empty()
            && item.parent.is_some()
            && (item.name.to_lowercase().contains(&text)
                || item.text.to_lowercase().contains(&text))
    };
    let hit = |mut object: Value, item: &Item| {
        object["searchResult"] = json!({
            "onClickTelemetryUrl": format!(
                "https://contoso-my.sharepoint.com/_layouts/15/searchclick?id={}",
                ids::short(&[&item.id, "click"])
            ),
        });
        object
    };
    let mut items: Vec<Value> = target
        .drive
        .items
        .iter()
        .filter(|item| matches(item) && target.drive.visible(user, item))
        .map(|item| {
            hit(
                graph
                    .drives
                    .item_json(&graph.base_url, target.drive, item, target.via_me),
                item,
            )
        })
        .collect();
    if shared && caller.holds(READ_ALL) {
        for drive in graph.drives.all() {
            if drive.is_of(user) || matches!(drive.owner, Owner::Site) {
                continue;
            }
            for item in drive
                .items
                .iter()
                .filter(|item| matches(item) && drive.visible(user, item))
            {
                items.push(hit(
                    graph.drives.remote_json(&graph.base_url, drive, item),
                    item,
                ));
            }
        }
    }
    listing(graph, items, query, uri, "Collection(driveItem)")
}

fn content(graph: &Graph, drive: &Drive, item: &Item) -> Result<Response, GraphError> {
    if item.content.is_none() {
        return Err(not_found());
    }
    let location = graph.drives.download_url(&graph.base_url, drive, item);
    Ok((
        StatusCode::FOUND,
        [(
            header::LOCATION,
            HeaderValue::from_str(&location).expect("the URL is ASCII"),
        )],
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DownloadParams {
    unique_id: Option<String>,
    #[serde(rename = "tempauth")]
    tempauth: Option<String>,
}

/// The storage host's download: no Graph token, only the URL's own `tempauth`. An
/// `Authorization` header is ignored, as SharePoint ignores it (the recorder still shows it).
pub async fn download(
    State(graph): State<Arc<Graph>>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<DownloadParams>,
) -> Response {
    let found = params
        .tempauth
        .as_deref()
        .and_then(|tempauth| graph.drives.redeem(tempauth))
        .filter(|(_, item)| params.unique_id.as_deref() == Some(ids::guid(&[&item.id]).as_str()));
    let Some((_, item)) = found else {
        return (StatusCode::UNAUTHORIZED, "401 UNAUTHORIZED").into_response();
    };
    let Some(bytes) = item.content.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        utf8_percent_encode(&item.name, SEGMENT)
    );
    let common = [
        (header::CONTENT_TYPE, item.mime_type.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
    ];
    match headers
        .get(header::RANGE)
        .map(|value| range(value, bytes.len()))
    {
        None => (common, bytes.to_vec()).into_response(),
        Some(Some((start, end))) => (
            StatusCode::PARTIAL_CONTENT,
            common,
            [(
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", bytes.len()),
            )],
            bytes[start..=end].to_vec(),
        )
            .into_response(),
        Some(None) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{}", bytes.len()))],
        )
            .into_response(),
    }
}

/// The byte range `bytes=a-b`, `bytes=a-` or `bytes=-n` selects of `length`, inclusive.
fn range(value: &HeaderValue, length: usize) -> Option<(usize, usize)> {
    let spec = value.to_str().ok()?.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let last = length.checked_sub(1)?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let suffix: usize = suffix.parse().ok()?;
            (length.checked_sub(suffix.min(length))?, last)
        }
        (start, "") => (start.parse().ok()?, last),
        (start, end) => (start.parse().ok()?, end.parse::<usize>().ok()?.min(last)),
    };
    (start <= end && start <= last).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        sample::{
            BINARY_FILES, DOCUMENT_FILES, LARGE_FILE, LARGE_FILE_MIN_BYTES, NESTED_FOLDER,
            SHARED_WITH_ADELE, SITE_FILES, TEXT_FILES,
        },
        tenant::{self, USERS},
    };

    #[test]
    fn every_drive_has_every_kind_of_file_and_a_folder_tree() {
        let drives = Drives::new(sample_drives());
        for user in USERS {
            let drive = drives.own(user);
            assert_eq!(drive.items[0].parent, None, "the root comes first");
            for name in TEXT_FILES.iter().chain(DOCUMENT_FILES).chain(BINARY_FILES) {
                assert!(drive.at_path(&[(*name).to_owned()]).is_some(), "{name}");
            }
            let nested: Vec<String> = NESTED_FOLDER.split('/').map(str::to_owned).collect();
            assert!(drive.at_path(&nested).unwrap().content.is_none());
            let large = drive.at_path(&[LARGE_FILE.to_owned()]).unwrap();
            assert!(large.content.as_ref().unwrap().len() >= LARGE_FILE_MIN_BYTES);
            assert!(
                drive
                    .items
                    .iter()
                    .skip(1)
                    .all(|i| drive.item(i.parent.as_ref().unwrap()).is_some())
            );
        }
        let site = drives
            .all()
            .iter()
            .find(|d| matches!(d.owner, Owner::Site))
            .unwrap();
        for path in SITE_FILES {
            let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
            assert!(site.at_path(&segments).is_some(), "{path}");
        }
    }

    #[test]
    fn shared_items_are_visible_to_those_they_are_shared_with_only() {
        let drives = Drives::new(sample_drives());
        let adele = tenant::user("adele").unwrap();
        let lee = tenant::user("lee").unwrap();
        for (owner, path) in SHARED_WITH_ADELE {
            let drive = drives.own(tenant::user(owner).unwrap());
            let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
            let item = drive.at_path(&segments).unwrap();
            assert!(drive.visible(adele, item), "{path}");
            assert!(!drive.visible(lee, item), "{path}");
        }
        let megan = drives.own(tenant::user("megan").unwrap());
        assert!(!megan.visible(adele, megan.root()));
    }

    #[test]
    fn download_proofs_are_signed_and_ranges_are_inclusive() {
        let drives = Drives::new(sample_drives());
        let adele = tenant::user("adele").unwrap();
        let drive = drives.own(adele);
        let item = drive.at_path(&["Logo.png".to_owned()]).unwrap();
        let url = drives.download_url("http://x", drive, item);
        let tempauth = url.split("tempauth=").nth(1).unwrap();
        assert_eq!(drives.redeem(tempauth).unwrap().1.id, item.id);
        let forged = tempauth.replacen("v1.", "v1.A", 1);
        assert!(drives.redeem(&forged).is_none());
        assert!(
            Drives::new(sample_drives()).redeem(tempauth).is_none(),
            "another devstack's key"
        );

        let value = |text: &str| HeaderValue::from_str(text).unwrap();
        assert_eq!(range(&value("bytes=0-9"), 100), Some((0, 9)));
        assert_eq!(range(&value("bytes=90-"), 100), Some((90, 99)));
        assert_eq!(range(&value("bytes=-10"), 100), Some((90, 99)));
        assert_eq!(range(&value("bytes=50-500"), 100), Some((50, 99)));
        assert_eq!(range(&value("bytes=100-"), 100), None);
        assert_eq!(range(&value("bytes=9-0"), 100), None);
        assert_eq!(range(&value("items=0-9"), 100), None);
    }
}
