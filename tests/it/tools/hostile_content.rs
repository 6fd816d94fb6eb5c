//! Content from Microsoft 365 is data, never instructions: text hidden from a human reader
//! never reaches the output, invisible and direction-control characters are removed, links
//! show where they really go, long bodies are cut with a marker, and every piece of content
//! sits inside a delimited block the result's notice explains.

use devstack::sample;
use serde_json::{Value, json};

use super::*;

/// Every string anywhere in `value`, concatenated: what a client could show the model.
fn all_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(all_text).collect::<Vec<_>>().join("\n"),
        Value::Object(fields) => fields.values().map(all_text).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

/// The boundary of the result's content blocks, from its notice.
fn boundary(text: &str) -> String {
    let notice = text.lines().next().unwrap();
    assert!(
        notice.starts_with("Untrusted content from Microsoft 365"),
        "{notice}"
    );
    notice
        .split("[content ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap()
        .to_owned()
}

/// Asserts `needle` appears in `text` only inside content blocks.
fn only_inside_blocks(text: &str, needle: &str) {
    let boundary = boundary(text);
    let (open, close) = (format!("[content {boundary}]"), format!("[end {boundary}]"));
    let mut inside = 0;
    for (at, _) in text.match_indices(needle) {
        let before = &text[..at];
        let opened = before.rfind(&open);
        let closed = before.rfind(&close);
        assert!(
            opened.is_some() && opened > closed,
            "`{needle}` outside a content block:\n{text}"
        );
        inside += 1;
    }
    assert!(inside > 0, "`{needle}` not shown at all:\n{text}");
}

#[tokio::test]
async fn hidden_html_in_a_message_never_reaches_the_output_and_links_show_their_target() {
    let server = server();
    let id = server
        .devstack
        .message_id("adele", sample::HIDDEN_HTML_MAIL_SUBJECT)
        .unwrap();
    let body = call_as(&server, "adele", "read_mail", json!({ "message_id": id })).await;
    let everything = format!("{}\n{}", all_text(structured(&body)), text(&body));
    for hidden in sample::HIDDEN_MAIL_TEXTS {
        assert!(!everything.contains(hidden), "hidden text leaked: {hidden}");
    }
    assert!(
        everything.contains(sample::DECEPTIVE_LINK_TARGET),
        "{everything}"
    );
    let visible = string(structured(&body), "body");
    assert!(visible.len() > 40, "the visible text is there: {visible}");
    only_inside_blocks(&text(&body), visible.lines().next().unwrap());

    // The same message seen through search: the preview is Graph's, the body never shown.
    let found = call_as(
        &server,
        "adele",
        "search_mail",
        json!({ "query": "remittance" }),
    )
    .await;
    let everything = all_text(structured(&found));
    for hidden in sample::HIDDEN_MAIL_TEXTS {
        assert!(!everything.contains(hidden), "hidden text leaked: {hidden}");
    }
}

#[tokio::test]
async fn invisible_and_direction_control_characters_are_removed_everywhere() {
    let server = server();
    let id = server
        .devstack
        .message_id("adele", sample::BIDI_MAIL_SUBJECT)
        .unwrap();
    let read = call_as(&server, "adele", "read_mail", json!({ "message_id": id })).await;
    let searched = call_as(
        &server,
        "adele",
        "search_mail",
        json!({ "query": "payroll", "max_results": 50 }),
    )
    .await;
    let events = call_as(
        &server,
        "adele",
        "list_events",
        json!({ "max_results": 100 }),
    )
    .await;
    for body in [&read, &searched, &events] {
        let everything = format!("{}\n{}", all_text(structured(body)), text(body));
        for invisible in sample::INVISIBLE_CHARACTERS {
            assert!(
                !everything.contains(*invisible),
                "U+{:04X} reached the output",
                *invisible as u32
            );
        }
    }
    let subject = string(structured(&read), "subject");
    assert!(
        subject.contains("Invoice_") && subject.contains("please review"),
        "{subject}"
    );
}

#[tokio::test]
async fn a_hostile_invitation_shows_its_visible_text_only() {
    let server = server();
    let events = call_as(
        &server,
        "adele",
        "list_events",
        json!({ "max_results": 100 }),
    )
    .await;
    let hostile = structured(&events)["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| string(event, "subject").starts_with("Supplier check-in"))
        .expect("tomorrow's hostile invitation")
        .clone();
    let event = call_as(
        &server,
        "adele",
        "get_event",
        json!({ "event_id": hostile["id"] }),
    )
    .await;
    let everything = format!("{}\n{}", all_text(structured(&event)), text(&event));
    for hidden in sample::HIDDEN_EVENT_TEXTS {
        assert!(!everything.contains(hidden), "hidden text leaked: {hidden}");
    }
    for invisible in sample::INVISIBLE_CHARACTERS {
        assert!(!everything.contains(*invisible));
    }
    only_inside_blocks(&text(&event), "Supplier check-in");
}

#[tokio::test]
async fn documents_are_read_as_a_reader_sees_them_and_their_instructions_stay_data() {
    let server = server();
    let read = |path: &'static str| {
        let (drive, item) = server.devstack.drive_item_id("adele", path).unwrap();
        let server = &server;
        async move {
            call_as(
                server,
                "adele",
                "read_file",
                json!({ "file_id": format!("{drive}:{item}") }),
            )
            .await
        }
    };
    let newsletter = read(sample::HIDDEN_HTML_FILE).await;
    let everything = format!(
        "{}\n{}",
        all_text(structured(&newsletter)),
        text(&newsletter)
    );
    for hidden in sample::HIDDEN_FILE_TEXTS {
        assert!(!everything.contains(hidden), "hidden text leaked: {hidden}");
    }
    let redirect = read(sample::REDIRECT_DOCUMENT).await;
    let shown = text(&redirect);
    only_inside_blocks(&shown, sample::REDIRECT_TEXT);
    assert_eq!(
        string(structured(&redirect), "text")
            .matches(sample::REDIRECT_TEXT)
            .count(),
        1,
        "the visible sentence once; the hidden run dropped"
    );
}

#[tokio::test]
async fn long_bodies_and_files_are_cut_with_a_marker_saying_how_long_they_are() {
    let server = server();
    let id = server
        .devstack
        .message_id("adele", sample::LONG_MAIL_SUBJECT)
        .unwrap();
    let body = call_as(
        &server,
        "adele",
        "read_mail",
        json!({ "message_id": id, "max_chars": 1000 }),
    )
    .await;
    let output = structured(&body);
    assert_eq!(output["body_truncated"], true);
    assert!(output["body_chars"].as_u64().unwrap() >= sample::LONG_MAIL_MIN_CHARS as u64);
    let shown = string(output, "body");
    assert!(shown.contains("[… truncated: showing"), "{shown}");
    assert!(shown.chars().count() < 1100, "{}", shown.chars().count());
    let default = call_as(&server, "adele", "read_mail", json!({ "message_id": id })).await;
    let default_chars = string(structured(&default), "body").chars().count();
    assert!((8000..8200).contains(&default_chars), "{default_chars}");

    let (drive, item) = server
        .devstack
        .drive_item_id("adele", sample::LARGE_FILE)
        .unwrap();
    let file = call_as(
        &server,
        "adele",
        "read_file",
        json!({ "file_id": format!("{drive}:{item}"), "max_chars": 500 }),
    )
    .await;
    let output = structured(&file);
    assert_eq!(output["truncated"], true);
    assert!(output["total_chars"].as_u64().unwrap() > 1_000_000);
}

#[tokio::test]
async fn binary_files_and_attachments_are_described_never_returned() {
    let server = server();
    for path in ["Logo.png", "Store photos.zip"] {
        let (drive, item) = server.devstack.drive_item_id("adele", path).unwrap();
        let body = call_as(
            &server,
            "adele",
            "read_file",
            json!({ "file_id": format!("{drive}:{item}") }),
        )
        .await;
        let output = structured(&body);
        assert!(output.get("text").is_none(), "{path}: {output:#}");
        assert!(string(output, "note").contains("web link"), "{path}");
        assert!(output["file"]["web_url"].is_string(), "{path}");
    }
    let downloads = graph_requests(&server)
        .into_iter()
        .filter(|request| request.path.ends_with("/content"))
        .count();
    assert_eq!(
        downloads, 0,
        "a format this server does not read is not downloaded"
    );

    let id = server
        .devstack
        .message_id("adele", sample::ATTACHMENT_MAIL_SUBJECT)
        .unwrap();
    let body = call_as(&server, "adele", "read_mail", json!({ "message_id": id })).await;
    let attachments = structured(&body)["attachments"].as_array().unwrap().clone();
    for (name, content_type) in sample::MAIL_ATTACHMENTS {
        let attachment = attachments
            .iter()
            .find(|attachment| attachment["name"] == *name)
            .unwrap_or_else(|| panic!("{name} listed"));
        assert_eq!(attachment["content_type"], *content_type);
        assert!(attachment["size_bytes"].as_u64().unwrap() > 0);
        assert!(attachment.get("content_bytes").is_none());
    }
    let reads = graph_requests(&server);
    let expand = reads
        .iter()
        .find(|request| request.path.contains("/messages/"))
        .and_then(|request| request.query.clone())
        .unwrap();
    assert!(
        expand.contains("expand=attachments"),
        "attachments come as metadata: {expand}"
    );
    assert!(!expand.contains("contentBytes"), "{expand}");
}

#[tokio::test]
async fn a_file_download_never_carries_the_graph_token() {
    let server = server();
    let (drive, item) = server
        .devstack
        .drive_item_id("adele", "Quarterly review.docx")
        .unwrap();
    let body = call_as(
        &server,
        "adele",
        "read_file",
        json!({ "file_id": format!("{drive}:{item}") }),
    )
    .await;
    structured(&body);
    let download = server
        .devstack
        .requests()
        .into_iter()
        .find(|request| request.path == "/_layouts/15/download.aspx")
        .expect("the pre-authenticated download was followed");
    assert!(download.header("authorization").is_none());
}

/// Fields whose text someone other than this server chose: the organizer, the sender, whoever
/// named a file or a task list, the directory.
const CHOSEN_BY_PEOPLE: &[&str] = &[
    "subject",
    "location",
    "name",
    "address",
    "preview",
    "title",
    "summary",
    "from",
    "folder_path",
    "job_title",
    "department",
    "office",
    "list",
    "online_meeting_url",
];

/// Every string in `value` under a key in [`CHOSEN_BY_PEOPLE`].
fn chosen_by_people(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| chosen_by_people(item, found)),
        Value::Object(fields) => {
            for (key, field) in fields {
                match field {
                    Value::String(text) if CHOSEN_BY_PEOPLE.contains(&key.as_str()) => {
                        found.push(text.clone());
                    }
                    _ => chosen_by_people(field, found),
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_text_people_chose_sits_inside_a_content_block_in_every_read_tool() {
    let server = server();
    let message = server
        .devstack
        .message_id("adele", sample::ATTACHMENT_MAIL_SUBJECT)
        .unwrap();
    let (drive, item) = server
        .devstack
        .drive_item_id("adele", "Quarterly review.docx")
        .unwrap();
    let events = call_as(&server, "adele", "list_events", json!({})).await;
    let event = structured(&events)["events"][0]["id"].clone();
    let calls = [
        ("list_events", json!({})),
        ("get_event", json!({ "event_id": event })),
        (
            "find_meeting_times",
            json!({ "attendees": ["alex@contoso.example"], "max_candidates": 3 }),
        ),
        ("search_mail", json!({ "query": "budget" })),
        ("read_mail", json!({ "message_id": message })),
        ("list_files", json!({})),
        ("search_files", json!({ "query": "budget" })),
        (
            "read_file",
            json!({ "file_id": format!("{drive}:{item}"), "max_chars": 200 }),
        ),
        ("find_people", json!({ "query": "megan" })),
        ("get_user", json!({ "user": "megan@contoso.example" })),
        ("list_tasks", json!({})),
        ("search_m365", json!({ "query": "budget" })),
    ];
    for (tool, arguments) in calls {
        let body = call_as(&server, "adele", tool, arguments).await;
        let mut chosen = Vec::new();
        chosen_by_people(structured(&body), &mut chosen);
        assert!(!chosen.is_empty(), "{tool} returned no one's text: {body}");
        let shown = text(&body);
        for value in chosen {
            only_inside_blocks(&shown, &value);
        }
    }
}
