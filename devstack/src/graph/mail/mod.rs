//! Mail: `GET /me/messages` (the whole mailbox), `GET /me/mailFolders/{folder}/messages`,
//! `GET /me/messages/{id}` (with `$expand=attachments`) and `POST /me/sendMail`, over the
//! sample mail of every mailbox ([`sample`]) and what was sent through Graph.
//!
//! - **Folders** are named by id or by their well-known name: `inbox`, `sentitems`, `drafts`,
//!   `archive`, `deleteditems`, `junkemail` (other well-known folders exist and are empty).
//! - **Bodies** are HTML unless `Prefer: outlook.body-content-type="text"`; the text is
//!   Outlook's conversion, which keeps CSS-hidden text ([`super::html_text`]). `bodyPreview` is
//!   the first 255 characters of that text.
//! - **Query options**: `$top` (1–1000, page 10, next links with `$skip`), `$select` (`id` and
//!   `@odata.etag` always come along), `$filter` ([`filter`]), `$search` ([`search`]),
//!   `$orderby=receivedDateTime [asc|desc]`, `$expand=attachments($select=…)`. As in Outlook,
//!   `$search` refuses `$filter` and `$orderby`, and with `$filter` a `$orderby` property must
//!   be the filter's first, or the request is 400 `InefficientFilter`.
//! - **Permissions**: `Mail.ReadBasic` lists and reads messages without `body`, `bodyPreview`,
//!   `uniqueBody` and attachments, and cannot `$search`; `Mail.Read` has everything; sending
//!   needs `Mail.Send`.
//!
//! Mail is untrusted content: several samples hide instructions to an AI assistant in their
//! HTML, and their names are in [`crate::sample`].

mod filter;
mod sample;
mod search;

use std::sync::{Arc, Mutex, PoisonError};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use self::{filter::Filter, search::Search};
use super::{
    Caller, Graph,
    error::{GraphError, Workload},
    html_text, ids,
    odata::{Collection, EntityType, Paging, Query, context},
    per_user::PerUser,
    prefer::{self, Preferences},
    recipient::EmailAddress,
    request_body::{self, Object},
    search::Hit,
};
use crate::{
    datetime::{iso8601, now_seconds},
    tenant::{TENANT_DOMAIN, User},
};

const MESSAGE: EntityType = EntityType {
    name: "Microsoft.OutlookServices.Message",
    workload: Workload::Outlook,
    properties: &[
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "categories",
        "receivedDateTime",
        "sentDateTime",
        "hasAttachments",
        "internetMessageId",
        "subject",
        "bodyPreview",
        "importance",
        "parentFolderId",
        "conversationId",
        "isDeliveryReceiptRequested",
        "isReadReceiptRequested",
        "isRead",
        "isDraft",
        "webLink",
        "inferenceClassification",
        "body",
        "uniqueBody",
        "sender",
        "from",
        "toRecipients",
        "ccRecipients",
        "bccRecipients",
        "replyTo",
        "flag",
    ],
    always: &["@odata.etag", "id"],
};

/// The base `attachment` type: what `$expand=attachments($select=…)` may name.
const ATTACHMENT: EntityType = EntityType {
    name: "microsoft.graph.attachment",
    workload: Workload::Outlook,
    properties: &[
        "lastModifiedDateTime",
        "name",
        "contentType",
        "size",
        "isInline",
    ],
    always: &["@odata.type", "@odata.mediaContentType", "id"],
};

const FULL: &[&str] = &["Mail.Read", "Mail.ReadWrite"];
const BASIC: &[&str] = &["Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"];
const SEND: &[&str] = &["Mail.Send"];
/// What `Mail.ReadBasic` does not reveal.
const BODIES: [&str; 3] = ["body", "bodyPreview", "uniqueBody"];
/// Outlook's limit on recipients per message.
const MAX_RECIPIENTS: usize = 500;

/// The well-known folders the samples use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    Inbox,
    SentItems,
    Drafts,
    Archive,
    DeletedItems,
    JunkEmail,
}

impl Folder {
    const ALL: [Self; 6] = [
        Self::Inbox,
        Self::SentItems,
        Self::Drafts,
        Self::Archive,
        Self::DeletedItems,
        Self::JunkEmail,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::SentItems => "sentitems",
            Self::Drafts => "drafts",
            Self::Archive => "archive",
            Self::DeletedItems => "deleteditems",
            Self::JunkEmail => "junkemail",
        }
    }

    fn id(self, owner: &User) -> String {
        ids::outlook(&[owner.object_id, "folder", self.name()])
    }
}

/// Well-known folders that exist in every mailbox but hold no sample mail.
const EMPTY_WELL_KNOWN: &[&str] = &[
    "clutter",
    "conflicts",
    "conversationhistory",
    "localfailures",
    "msgfolderroot",
    "outbox",
    "recoverableitemsdeletions",
    "scheduled",
    "searchfolders",
    "serverfailures",
    "syncissues",
];

/// What a `/mailFolders/{folder}` segment names.
enum FolderRef {
    Sample(Folder),
    Empty,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    id: String,
    name: String,
    content_type: String,
    bytes: Arc<[u8]>,
    is_inline: bool,
}

impl Attachment {
    fn json(&self, received: i64) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "@odata.mediaContentType": self.content_type,
            "id": self.id,
            "lastModifiedDateTime": iso8601(received),
            "name": self.name,
            "contentType": self.content_type,
            "size": self.bytes.len() + 220,
            "isInline": self.is_inline,
            "contentId": if self.is_inline { json!(self.name) } else { Value::Null },
            "contentLocation": null,
            "contentBytes": STANDARD.encode(&self.bytes),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Message {
    id: String,
    folder: Folder,
    /// Unix seconds.
    received: i64,
    subject: String,
    html: String,
    from: EmailAddress,
    to: Vec<EmailAddress>,
    cc: Vec<EmailAddress>,
    bcc: Vec<EmailAddress>,
    is_read: bool,
    is_draft: bool,
    importance: &'static str,
    attachments: Vec<Attachment>,
}

impl Message {
    /// Inline images do not count, as in Outlook.
    fn has_attachments(&self) -> bool {
        self.attachments.iter().any(|a| !a.is_inline)
    }

    fn json(&self, owner: &User, text_body: bool) -> Value {
        let change_key = ids::short(&[&self.id, "changeKey"]);
        let text = html_text::to_text(&self.html);
        let body = if text_body {
            json!({ "contentType": "text", "content": text })
        } else {
            json!({ "contentType": "html", "content": self.html })
        };
        let preview: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(255)
            .collect();
        let sent = iso8601(self.received - 2);
        let recipients = |list: &[EmailAddress]| list.iter().map(recipient).collect::<Vec<_>>();
        json!({
            "@odata.etag": format!("W/\"{change_key}\""),
            "id": self.id,
            "createdDateTime": iso8601(self.received),
            "lastModifiedDateTime": iso8601(self.received),
            "changeKey": change_key,
            "categories": [],
            "receivedDateTime": iso8601(self.received),
            "sentDateTime": sent,
            "hasAttachments": self.has_attachments(),
            "internetMessageId": format!("<{}@{TENANT_DOMAIN}>", ids::short(&[&self.id, "internet"])),
            "subject": self.subject,
            "bodyPreview": preview,
            "importance": self.importance,
            "parentFolderId": self.folder.id(owner),
            "conversationId": format!("AAQkAD{}", ids::short(&[self.subject.trim_start_matches("Re: "), owner.key])),
            "isDeliveryReceiptRequested": false,
            "isReadReceiptRequested": false,
            "isRead": self.is_read,
            "isDraft": self.is_draft,
            "webLink": format!(
                "https://outlook.office365.com/owa/?ItemID={}&exvsurl=1&viewmodel=ReadMessageItem",
                url::form_urlencoded::byte_serialize(self.id.as_bytes()).collect::<String>()
            ),
            "inferenceClassification": if self.folder == Folder::JunkEmail { "other" } else { "focused" },
            "body": body,
            "uniqueBody": body,
            "sender": recipient(&self.from),
            "from": recipient(&self.from),
            "toRecipients": recipients(&self.to),
            "ccRecipients": recipients(&self.cc),
            "bccRecipients": recipients(&self.bcc),
            "replyTo": [],
            "flag": { "flagStatus": "notFlagged" },
        })
    }
}

fn recipient(address: &EmailAddress) -> Value {
    json!({ "emailAddress": address.json() })
}

/// Every user's sample mail, received before `now`.
pub fn sample_mail(now: i64) -> Arc<PerUser<Arc<Message>>> {
    Arc::new(PerUser::generate(|user| sample::mailbox(user, now)))
}

/// Every user's sample mail (shared, never changed), what reached them through Graph, and what
/// each sent.
#[derive(Debug)]
pub struct Mailboxes {
    sample: Arc<PerUser<Arc<Message>>>,
    /// Messages that arrived through `sendMail`: (mailbox key, message).
    delivered: Mutex<Vec<(&'static str, Arc<Message>)>>,
    /// Every `sendMail`: (sender key, message as sent).
    sent: Mutex<Vec<(&'static str, Arc<Message>)>>,
}

impl Mailboxes {
    pub fn new(sample: Arc<PerUser<Arc<Message>>>) -> Self {
        Self {
            sample,
            delivered: Mutex::default(),
            sent: Mutex::default(),
        }
    }

    /// `user`'s mailbox, newest first.
    fn of(&self, user: &User) -> Vec<Arc<Message>> {
        let delivered = self
            .delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut messages: Vec<Arc<Message>> = self
            .sample
            .of(user)
            .iter()
            .cloned()
            .chain(
                delivered
                    .iter()
                    .filter(|(owner, _)| *owner == user.key)
                    .map(|(_, message)| message.clone()),
            )
            .collect();
        messages.sort_by_key(|message| std::cmp::Reverse(message.received));
        messages
    }

    /// The messages `user` sent with `sendMail`, oldest first, as Graph renders them.
    pub fn sent_by(&self, user: &User) -> Vec<Value> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(sender, _)| *sender == user.key)
            .map(|(_, message)| message.json(user, false))
            .collect()
    }

    /// Every message of `user`'s mailbox as the search service finds it.
    pub fn search_hits(&self, user: &User) -> Vec<Hit> {
        const FIELDS: &[&str] = &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "receivedDateTime",
            "sentDateTime",
            "hasAttachments",
            "internetMessageId",
            "subject",
            "bodyPreview",
            "importance",
            "parentFolderId",
            "conversationId",
            "isRead",
            "isDraft",
            "webLink",
            "sender",
            "from",
            "toRecipients",
            "ccRecipients",
        ];
        self.of(user)
            .iter()
            .map(|message| {
                let json = message.json(user, false);
                let mut resource = json!({ "@odata.type": "#microsoft.graph.message" });
                for field in FIELDS {
                    resource[*field] = json[*field].clone();
                }
                Hit {
                    hit_id: message.id.clone(),
                    order: message.received,
                    text: format!(
                        "{} {} {} {}",
                        message.subject,
                        message.from.name,
                        message.from.address,
                        html_text::to_text(&message.html)
                    ),
                    extension: None,
                    resource,
                }
            })
            .collect()
    }

    /// The sender of every message in `user`'s mailbox.
    pub fn senders(&self, user: &User) -> Vec<String> {
        self.of(user)
            .iter()
            .map(|message| message.from.address.clone())
            .collect()
    }

    /// The id of the newest message in `user`'s mailbox with this subject.
    pub fn id_of(&self, user: &User, subject: &str) -> Option<String> {
        self.of(user)
            .iter()
            .find(|message| message.subject == subject)
            .map(|message| message.id.clone())
    }
}

pub async fn list(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    listing(&graph, &caller, &headers, &uri, query.as_deref(), None)
}

pub async fn folder_list(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    Path(folder): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    listing(
        &graph,
        &caller,
        &headers,
        &uri,
        query.as_deref(),
        Some(&folder),
    )
}

fn folder_ref(owner: &User, folder: &str) -> Result<FolderRef, GraphError> {
    if let Some(found) = Folder::ALL
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(folder) || f.id(owner) == folder)
    {
        return Ok(FolderRef::Sample(found));
    }
    if EMPTY_WELL_KNOWN
        .iter()
        .any(|name| name.eq_ignore_ascii_case(folder))
    {
        return Ok(FolderRef::Empty);
    }
    if folder.starts_with("AAMk") || folder.starts_with("AQMk") {
        return Err(not_found());
    }
    Err(GraphError::bad_request(
        "ErrorInvalidIdMalformed",
        "Id is malformed.",
    ))
}

fn listing(
    graph: &Graph,
    caller: &Caller,
    headers: &HeaderMap,
    uri: &Uri,
    query: Option<&str>,
    folder: Option<&str>,
) -> Result<Response, GraphError> {
    let query = Query::parse(query)?;
    caller.require(BASIC, Workload::Outlook)?;
    let full = caller.holds(FULL);
    let selection = MESSAGE.selection(&query)?;
    let expansion = expansion(&query, full)?;
    let preferences = Preferences::from_headers(headers);
    let user = caller.0.user;

    let mut messages = graph.mailboxes.of(user);
    match folder.map(|folder| folder_ref(user, folder)).transpose()? {
        None => {}
        Some(FolderRef::Sample(folder)) => messages.retain(|m| m.folder == folder),
        Some(FolderRef::Empty) => messages.clear(),
    }
    if let Some(search) = &query.search {
        if !full {
            return Err(GraphError::denied(Workload::Outlook));
        }
        for (option, present) in [
            ("$filter", query.filter.is_some()),
            ("$orderBy", query.orderby.is_some()),
        ] {
            if present {
                return Err(GraphError::bad_request(
                    "ErrorInvalidUrlQuery",
                    format!("The query parameter '{option}' is not supported with '$search'."),
                ));
            }
        }
        let search = Search::parse(search)?;
        messages.retain(|message| search.matches(message));
        messages.truncate(search::MAX_RESULTS);
    }
    let filter = query.filter.as_deref().map(Filter::parse).transpose()?;
    if let Some(filter) = &filter {
        messages.retain(|message| filter.matches(message));
    }
    let ascending = match query.orderby.as_deref().map(str::trim) {
        None => false,
        Some(orderby) => {
            let (property, direction) = orderby.split_once(' ').unwrap_or((orderby, "asc"));
            if !property.eq_ignore_ascii_case("receivedDateTime")
                || !["asc", "desc"].contains(&direction.trim())
            {
                return Err(GraphError::bad_request(
                    "ErrorInvalidProperty",
                    format!(
                        "The devstack's Graph sorts messages by receivedDateTime only, not by '{orderby}'."
                    ),
                ));
            }
            if filter
                .as_ref()
                .is_some_and(|filter| filter.first_property() != "receivedDateTime")
            {
                return Err(GraphError::bad_request(
                    "InefficientFilter",
                    "The restriction or sort order is too complex for this operation.",
                ));
            }
            direction.trim() == "asc"
        }
    };
    if ascending {
        messages.reverse();
    }
    let items = messages
        .iter()
        .map(|message| {
            render(
                message,
                user,
                full,
                preferences.text_bodies,
                selection.as_deref(),
                expansion.as_ref(),
            )
        })
        .collect();
    let set = match folder {
        Some(folder) => format!(
            "users('{}')/mailFolders('{folder}')/messages",
            user.object_id
        ),
        None => format!("users('{}')/messages", user.object_id),
    };
    let collection = Collection {
        base_url: &graph.base_url,
        path: uri.path(),
        context: context(&graph.base_url, &set, selection.as_deref(), false),
        default_page: 10,
        max_page: 1000,
        paging: Paging::Skip,
    };
    Ok(with_preference(
        collection.page(items, &query)?,
        &preferences,
    ))
}

pub async fn get(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, GraphError> {
    let query = Query::parse(query.as_deref())?;
    caller.require(BASIC, Workload::Outlook)?;
    let full = caller.holds(FULL);
    let selection = MESSAGE.selection(&query)?;
    let expansion = expansion(&query, full)?;
    let preferences = Preferences::from_headers(&headers);
    let user = caller.0.user;
    if !id.starts_with("AAMk") {
        return Err(GraphError::bad_request(
            "ErrorInvalidIdMalformed",
            "Id is malformed.",
        ));
    }
    let messages = graph.mailboxes.of(user);
    let message = messages
        .iter()
        .find(|message| message.id == id)
        .ok_or_else(not_found)?;
    let mut body = render(
        message,
        user,
        full,
        preferences.text_bodies,
        selection.as_deref(),
        expansion.as_ref(),
    );
    body["@odata.context"] = json!(context(
        &graph.base_url,
        &format!("users('{}')/messages", user.object_id),
        selection.as_deref(),
        true,
    ));
    Ok(with_preference(body, &preferences))
}

fn not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// `$expand=attachments` or `$expand=attachments($select=a,b)`: `Some(selection)` (`None`
/// inside for every property). Attachments need `Mail.Read`.
fn expansion(query: &Query, full: bool) -> Result<Option<Option<Vec<&'static str>>>, GraphError> {
    let Some(expand) = query.expand.as_deref().map(str::trim) else {
        return Ok(None);
    };
    let (navigation, options) = match expand.split_once('(') {
        Some((navigation, rest)) => (
            navigation.trim(),
            Some(rest.strip_suffix(')').ok_or_else(|| {
                GraphError::bad_request(
                    "BadRequest",
                    format!("Syntax error in the $expand option '{expand}'."),
                )
            })?),
        ),
        None => (expand, None),
    };
    if !navigation.eq_ignore_ascii_case("attachments") {
        return Err(GraphError::bad_request(
            "BadRequest",
            format!(
                "Parsing OData Select and Expand failed: Could not find a property named \
                 '{navigation}' on type 'microsoft.graph.message'."
            ),
        ));
    }
    if !full {
        return Err(GraphError::denied(Workload::Outlook));
    }
    let selection = match options {
        None => None,
        Some(options) => {
            let select = options.trim().strip_prefix("$select=").ok_or_else(|| {
                GraphError::bad_request(
                    "BadRequest",
                    format!(
                        "The devstack's Graph supports only $select inside $expand, not \
                             '{options}'."
                    ),
                )
            })?;
            ATTACHMENT.selection(&Query::parse(Some(&format!(
                "$select={}",
                url::form_urlencoded::byte_serialize(select.as_bytes()).collect::<String>()
            )))?)?
        }
    };
    Ok(Some(selection))
}

fn render(
    message: &Message,
    owner: &User,
    full: bool,
    text: bool,
    selection: Option<&[&str]>,
    expansion: Option<&Option<Vec<&'static str>>>,
) -> Value {
    let mut item = MESSAGE.project(&message.json(owner, text), selection);
    if !full {
        let object = item.as_object_mut().expect("an object");
        for name in BODIES {
            object.remove(name);
        }
    }
    if let Some(selection) = expansion {
        item["attachments"] = message
            .attachments
            .iter()
            .map(|attachment| {
                ATTACHMENT.project(&attachment.json(message.received), selection.as_deref())
            })
            .collect();
    }
    item
}

fn with_preference(body: Value, preferences: &Preferences) -> Response {
    let mut response = Json(body).into_response();
    let applied = if preferences.text_bodies {
        vec!["outlook.body-content-type=\"text\"".to_owned()]
    } else {
        vec![]
    };
    if let Some((name, value)) = prefer::applied(&applied) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// `POST /me/sendMail`: 202 and an empty body. The message goes to the sender's Sent Items
/// (unless `saveToSentItems` is false) and to the inboxes of its recipients in the tenant.
pub async fn send(
    State(graph): State<Arc<Graph>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, GraphError> {
    caller.require(SEND, Workload::Outlook)?;
    let value = request_body::parse(&body)?;
    let request = Object::root(&value)?;
    let sender = caller.0.user;
    let message = request.object("message")?.ok_or_else(|| {
        GraphError::bad_request(
            "ErrorInvalidRequest",
            "The parameter 'Message' is required for the sendMail action.",
        )
    })?;
    let recipients = |name: &str| -> Result<Vec<EmailAddress>, GraphError> {
        message
            .array(name)?
            .iter()
            .map(request_body::email_address)
            .collect()
    };
    let (to, cc, bcc) = (
        recipients("toRecipients")?,
        recipients("ccRecipients")?,
        recipients("bccRecipients")?,
    );
    let everyone: Vec<&EmailAddress> = to.iter().chain(&cc).chain(&bcc).collect();
    if everyone.is_empty() {
        return Err(GraphError::bad_request(
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid., A message can't be sent because it contains \
             no recipients.",
        ));
    }
    if everyone.len() > MAX_RECIPIENTS {
        return Err(GraphError::bad_request(
            "ErrorTooManyRecipients",
            format!("A message can't have more than {MAX_RECIPIENTS} recipients."),
        ));
    }
    if let Some(bad) = everyone.iter().find(|a| !valid_address(&a.address)) {
        return Err(GraphError::bad_request(
            "ErrorInvalidRecipients",
            format!(
                "At least one recipient isn't valid., Recipient '{}' is not resolved. All \
                 recipients must be resolved before a message can be submitted.",
                bad.address
            ),
        ));
    }
    let html = match message.object("body")? {
        None => String::new(),
        Some(body) => {
            let content = body.string("content")?.unwrap_or_default();
            match body.string("contentType")?.unwrap_or("text") {
                kind if kind.eq_ignore_ascii_case("html") => content.to_owned(),
                kind if kind.eq_ignore_ascii_case("text") => format!(
                    "<html><body><div>{}</div></body></html>",
                    html_text::escape(content).replace('\n', "<br>")
                ),
                other => {
                    return Err(GraphError::bad_request(
                        "RequestBodyRead",
                        format!("The value '{other}' is not valid for the property 'contentType'."),
                    ));
                }
            }
        }
    };
    let mut attachments = Vec::new();
    for (index, attachment) in message.array("attachments")?.iter().enumerate() {
        let bytes = STANDARD
            .decode(attachment.string("contentBytes")?.unwrap_or_default())
            .map_err(|_| {
                GraphError::bad_request(
                    "ErrorInvalidRequest",
                    "The attachment's contentBytes is not valid base64.",
                )
            })?;
        attachments.push(Attachment {
            id: ids::outlook(&[sender.object_id, "sent-attachment", &index.to_string()]),
            name: attachment.string("name")?.unwrap_or_default().to_owned(),
            content_type: attachment
                .string("contentType")?
                .unwrap_or("application/octet-stream")
                .to_owned(),
            bytes: bytes.into(),
            is_inline: attachment.boolean("isInline")?.unwrap_or(false),
        });
    }
    let now = now_seconds();
    let number = uuid::Uuid::new_v4().to_string();
    let sent = Message {
        id: ids::outlook(&[sender.object_id, "sent", &number]),
        folder: Folder::SentItems,
        received: now,
        subject: message.string("subject")?.unwrap_or_default().to_owned(),
        html,
        from: EmailAddress::of(sender),
        to,
        cc,
        bcc,
        is_read: true,
        is_draft: false,
        importance: match message.string("importance")? {
            Some(importance) if importance.eq_ignore_ascii_case("high") => "high",
            Some(importance) if importance.eq_ignore_ascii_case("low") => "low",
            _ => "normal",
        },
        attachments,
    };
    let mut delivered = graph
        .mailboxes
        .delivered
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if request.boolean("saveToSentItems")?.unwrap_or(true) {
        delivered.push((sender.key, Arc::new(sent.clone())));
    }
    for recipient in sent.to.iter().chain(&sent.cc).chain(&sent.bcc) {
        if let Some(user) = recipient.user() {
            let copy = Message {
                id: ids::outlook(&[user.object_id, "received", &number]),
                folder: Folder::Inbox,
                is_read: false,
                bcc: vec![],
                ..sent.clone()
            };
            delivered.push((user.key, Arc::new(copy)));
        }
    }
    drop(delivered);
    graph
        .mailboxes
        .sent
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((sender.key, Arc::new(sent)));
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Whether Exchange could resolve `address` as an SMTP address.
fn valid_address(address: &str) -> bool {
    address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !address.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_addresses_resolve_and_garbage_does_not() {
        for good in ["alex@contoso.example", "o'neil@fabrikam.example"] {
            assert!(valid_address(good), "{good}");
        }
        for bad in [
            "",
            "alex",
            "@contoso.example",
            "alex@",
            "alex@local",
            "a b@x.example",
            "a@x.example\n",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
    }
}
