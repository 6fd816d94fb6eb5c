//! OneDrive and SharePoint drives over HTTP.

use super::*;
use crate::sample::{
    BINARY_FILES, DOCUMENT_FILES, HIDDEN_FILE_TEXTS, HIDDEN_HTML_FILE, LARGE_FILE,
    LARGE_FILE_MIN_BYTES, REDIRECT_DOCUMENT, TEXT_FILES,
};

fn names(reply: &Reply) -> Vec<String> {
    reply.body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", reply.body))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows a `/content` redirect without the token; returns the download's reply.
async fn download(
    devstack: &Devstack,
    path: &str,
    token: &str,
    range: Option<&str>,
) -> reqwest::Response {
    let content = http()
        .get(format!("{}{path}", devstack.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        content.status(),
        302,
        "{path}: OneDrive redirects to the storage host"
    );
    let location = content.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!(
        "{}/_layouts/15/download.aspx?UniqueId=",
        devstack.base_url()
    )));
    let mut request = http().get(&location);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_drive_root_holds_every_kind_of_file() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Files.Read"]);
    let children = get(&devstack, "/v1.0/me/drive/root/children", Some(&token), &[]).await;
    assert_eq!(children.status, 200, "{}", children.body);
    let listed = names(&children);
    for name in TEXT_FILES
        .iter()
        .chain(DOCUMENT_FILES)
        .chain(BINARY_FILES)
        .chain(&[LARGE_FILE, HIDDEN_HTML_FILE, REDIRECT_DOCUMENT, "Projects"])
    {
        assert!(listed.iter().any(|n| n == name), "{name} in {listed:?}");
    }
    let items = children.body["value"].as_array().unwrap();
    let (drive_id, _) = devstack.drive_item_id("adele", "Logo.png").unwrap();
    assert!(
        items
            .iter()
            .all(|item| item["parentReference"]["driveId"] == drive_id.as_str())
    );
    assert!(
        items
            .iter()
            .all(|item| item["parentReference"]["path"] == "/drive/root:")
    );
    let large = items.iter().find(|i| i["name"] == LARGE_FILE).unwrap();
    assert!(large["size"].as_u64().unwrap() >= LARGE_FILE_MIN_BYTES as u64);
    let docx = items
        .iter()
        .find(|i| i["name"] == "Quarterly review.docx")
        .unwrap();
    assert_eq!(
        docx["file"]["mimeType"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert!(
        docx["webUrl"]
            .as_str()
            .unwrap()
            .ends_with("/Documents/Quarterly%20review.docx")
    );
    let root = get(
        &devstack,
        "/v1.0/me/drive/root?$select=id,name,folder,parentReference",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(root.body["parentReference"]["driveId"], drive_id.as_str());
    assert_eq!(root.body["folder"]["childCount"], items.len());

    let paged = get(
        &devstack,
        "/v1.0/me/drive/root/children?$top=5&$select=name",
        Some(&token),
        &[],
    )
    .await;
    assert!(
        paged.body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("$skiptoken=")
    );
    let none = devstack.graph_token("adele", &["User.Read"]);
    assert_error(
        &get(&devstack, "/v1.0/me/drive/root/children", Some(&none), &[]).await,
        403,
        "accessDenied",
    );
}

#[tokio::test]
async fn paths_address_items_segment_by_segment() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Files.Read"]);
    let nested = get(
        &devstack,
        "/v1.0/me/drive/root:/Projects/Archive:/children",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(nested.status, 200, "{}", nested.body);
    assert_eq!(names(&nested), ["2024"]);
    let deepest = get(
        &devstack,
        "/v1.0/me/drive/root:/Projects/Archive/2024:/children",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(names(&deepest), ["Retrospective 2024.txt"]);
    assert_eq!(
        deepest.body["value"][0]["parentReference"]["path"],
        "/drive/root:/Projects/Archive/2024"
    );
    let file = get(
        &devstack,
        "/v1.0/me/drive/root:/Projects/Project%20plan.md:?$select=name,size",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(file.body["name"], "Project plan.md");
    let without_colon = get(
        &devstack,
        "/v1.0/me/drive/root:/projects",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(
        without_colon.body["name"], "Projects",
        "names match in any case"
    );
    for path in [
        "/v1.0/me/drive/root:/Projects%2FArchive:/children",
        "/v1.0/me/drive/root:/Projects/%2E%2E%2FProjects:/children",
        "/v1.0/me/drive/root:/Nowhere:/children",
    ] {
        assert_error(
            &get(&devstack, path, Some(&token), &[]).await,
            404,
            "itemNotFound",
        );
    }
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/drive/root:/%FF:/children",
            Some(&token),
            &[],
        )
        .await,
        400,
        "invalidRequest",
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/drive/root:/Logo.png:/children",
            Some(&token),
            &[],
        )
        .await,
        400,
        "invalidRequest",
    );
    let bytes = download(
        &devstack,
        "/v1.0/me/drive/root:/Projects/Project%20plan.md:/content",
        &token,
        None,
    )
    .await;
    assert!(bytes.text().await.unwrap().starts_with("# Project plan"));
}

#[tokio::test]
async fn downloads_are_pre_authenticated_real_files_with_ranges() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Files.Read"]);
    for (name, magic) in [
        ("Quarterly review.docx", &b"PK"[..]),
        ("Budget 2025.xlsx", b"PK"),
        ("Quarterly review.pptx", b"PK"),
        ("Store photos.zip", b"PK"),
        ("Supplier contract.pdf", b"%PDF-"),
        ("Logo.png", b"\x89PNG"),
    ] {
        let (drive, item) = devstack.drive_item_id("adele", name).unwrap();
        let reply = download(
            &devstack,
            &format!("/v1.0/drives/{drive}/items/{item}/content"),
            &token,
            None,
        )
        .await;
        assert_eq!(reply.status(), 200, "{name}");
        assert!(reply.bytes().await.unwrap().starts_with(magic), "{name}");
    }
    let (_, item) = devstack.drive_item_id("adele", LARGE_FILE).unwrap();
    let whole = download(
        &devstack,
        &format!("/v1.0/me/drive/items/{item}/content"),
        &token,
        None,
    )
    .await;
    let length: usize = whole.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length >= LARGE_FILE_MIN_BYTES);
    assert_eq!(whole.headers()["content-type"], "text/csv");
    let part = download(
        &devstack,
        &format!("/v1.0/me/drive/items/{item}/content"),
        &token,
        Some("bytes=0-9"),
    )
    .await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-9/{length}").as_str()
    );
    assert_eq!(part.text().await.unwrap(), "date,store");
    let beyond = download(
        &devstack,
        &format!("/v1.0/me/drive/items/{item}/content"),
        &token,
        Some(&format!("bytes={length}-")),
    )
    .await;
    assert_eq!(beyond.status(), 416);

    // The storage host ignores a Graph token, and the recorder shows it was sent.
    devstack.clear_requests();
    let (_, logo) = devstack.drive_item_id("adele", "Logo.png").unwrap();
    let content = http()
        .get(format!(
            "{}/v1.0/me/drive/items/{logo}/content",
            devstack.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let location = content.headers()["location"].to_str().unwrap().to_owned();
    let leaked = http()
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(leaked.status(), 200);
    let recorded = devstack.requests();
    let download_request = recorded
        .iter()
        .find(|r| r.path == "/_layouts/15/download.aspx")
        .unwrap();
    assert_eq!(download_request.service, "graph");
    assert!(
        download_request
            .header("authorization")
            .is_some_and(|h| h.contains(&token))
    );

    let forged = http()
        .get(format!(
            "{}/_layouts/15/download.aspx?UniqueId=x&tempauth=v1.forged.sig",
            devstack.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let folder = devstack.drive_item_id("adele", "Projects").unwrap().1;
    assert_error(
        &get(
            &devstack,
            &format!("/v1.0/me/drive/items/{folder}/content"),
            Some(&token),
            &[],
        )
        .await,
        404,
        "itemNotFound",
    );
}

#[tokio::test]
async fn other_drives_need_files_read_all_and_show_only_what_was_shared() {
    let devstack = start();
    let own_only = devstack.graph_token("adele", &["Files.Read"]);
    let all = devstack.graph_token("adele", &["Files.Read.All"]);
    let (megan_drive, agenda) = devstack
        .drive_item_id("megan", "Offsite agenda.docx")
        .unwrap();
    let (_, plan) = devstack
        .drive_item_id("megan", "Projects/Project plan.md")
        .unwrap();
    let path = format!("/v1.0/drives/{megan_drive}/items/{agenda}");
    assert_error(
        &get(&devstack, &path, Some(&own_only), &[]).await,
        403,
        "accessDenied",
    );
    let shared = get(&devstack, &path, Some(&all), &[]).await;
    assert_eq!(shared.status, 200, "{}", shared.body);
    assert_eq!(
        shared.body["parentReference"]["path"],
        format!("/drives/{megan_drive}/root:")
    );
    assert_eq!(
        shared.body["shared"]["owner"]["user"]["displayName"],
        "Megan Bowen"
    );
    assert_error(
        &get(
            &devstack,
            &format!("/v1.0/drives/{megan_drive}/items/{plan}"),
            Some(&all),
            &[],
        )
        .await,
        403,
        "accessDenied",
    );
    assert_error(
        &get(
            &devstack,
            &format!("/v1.0/drives/{megan_drive}/root/children"),
            Some(&all),
            &[],
        )
        .await,
        403,
        "accessDenied",
    );
    let bytes = download(&devstack, &format!("{path}/content"), &all, None).await;
    assert!(bytes.bytes().await.unwrap().starts_with(b"PK"));

    // Miriam shared a folder: what is inside comes with it.
    let (miriam_drive, folder) = devstack.drive_item_id("miriam", "Budget planning").unwrap();
    let inside = get(
        &devstack,
        &format!("/v1.0/drives/{miriam_drive}/items/{folder}/children"),
        Some(&all),
        &[],
    )
    .await;
    assert_eq!(names(&inside), ["Q3 budget.xlsx"]);
    let lee = devstack.graph_token("lee", &["Files.Read.All"]);
    assert_error(
        &get(
            &devstack,
            &format!("/v1.0/drives/{miriam_drive}/items/{folder}/children"),
            Some(&lee),
            &[],
        )
        .await,
        403,
        "accessDenied",
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/drives/b!nope/items/01NOPE",
            Some(&all),
            &[],
        )
        .await,
        404,
        "itemNotFound",
    );
}

#[tokio::test]
async fn drive_search_finds_own_items_and_with_files_read_all_shared_ones() {
    let devstack = start();
    let own_only = devstack.graph_token("adele", &["Files.Read"]);
    let all = devstack.graph_token("adele", &["Files.Read.All"]);
    let own = get(
        &devstack,
        "/v1.0/me/drive/search(q='agenda')",
        Some(&own_only),
        &[],
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(names(&own), Vec::<String>::new());
    let wide = get(
        &devstack,
        "/v1.0/me/drive/search(q='agenda')",
        Some(&all),
        &[],
    )
    .await;
    assert_eq!(names(&wide), ["Offsite agenda.docx"]);
    let hit = &wide.body["value"][0];
    let (megan_drive, agenda) = devstack
        .drive_item_id("megan", "Offsite agenda.docx")
        .unwrap();
    assert_eq!(hit["remoteItem"]["id"], agenda.as_str());
    assert_eq!(
        hit["remoteItem"]["parentReference"]["driveId"],
        megan_drive.as_str()
    );
    assert_eq!(hit["remoteItem"]["name"], "Offsite agenda.docx");
    assert!(
        hit["remoteItem"]["file"]["mimeType"].is_string()
            && hit["remoteItem"]["size"].as_u64().unwrap() > 0
    );
    assert!(
        hit["remoteItem"]["webUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://contoso-my.sharepoint.com/personal/megan_contoso_example/")
    );
    assert!(hit["searchResult"]["onClickTelemetryUrl"].is_string());

    let text = get(
        &devstack,
        "/v1.0/me/drive/root/search(q='northwind''s')",
        Some(&own_only),
        &[],
    )
    .await;
    let mut found = names(&text);
    found.sort_unstable();
    assert_eq!(
        found,
        ["Quarterly report.md", "Quarterly review.docx"],
        "names and document text"
    );
    let encoded = get(
        &devstack,
        "/v1.0/me/drive/root/search(q=%27PROJECT%20PLAN%27)?$select=name",
        Some(&own_only),
        &[],
    )
    .await;
    assert_eq!(
        encoded.body["value"],
        json!([{ "name": "Project plan.md" }])
    );
    let everything = get(
        &devstack,
        "/v1.0/me/drive/search(q='quarterly')?$select=name,parentReference",
        Some(&all),
        &[],
    )
    .await;
    assert!(
        everything.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["parentReference"]["driveId"].is_string())
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/drive/root/search(q=budget)",
            Some(&own_only),
            &[],
        )
        .await,
        400,
        "invalidRequest",
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/drive/root/search(q='it's')",
            Some(&own_only),
            &[],
        )
        .await,
        400,
        "invalidRequest",
    );
}

#[tokio::test]
async fn the_hostile_files_carry_their_text() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Files.Read"]);
    let (_, html) = devstack.drive_item_id("adele", HIDDEN_HTML_FILE).unwrap();
    let page = download(
        &devstack,
        &format!("/v1.0/me/drive/items/{html}/content"),
        &token,
        None,
    )
    .await;
    let page = page.text().await.unwrap();
    for hidden in HIDDEN_FILE_TEXTS {
        assert!(page.contains(hidden), "{hidden}");
    }
    let found = get(
        &devstack,
        "/v1.0/me/drive/root/search(q='attacker@evil.example')",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(names(&found), [REDIRECT_DOCUMENT]);
}
