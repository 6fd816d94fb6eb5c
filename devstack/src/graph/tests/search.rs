//! The Microsoft Search API over HTTP.

use super::*;

async fn search(devstack: &Devstack, token: &str, requests: Value) -> Reply {
    post(
        devstack,
        "/v1.0/search/query",
        Some(token),
        &[],
        &json!({ "requests": requests }).to_string(),
    )
    .await
}

fn container(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    &reply.body["value"][0]["hitsContainers"][0]
}

fn hits(reply: &Reply) -> Vec<Value> {
    container(reply)["hits"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn messages_are_searched_alone_newest_first_with_highlights() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Mail.Read"]);
    let reply = search(
        &devstack,
        &token,
        json!([{ "entityTypes": ["message"], "query": { "queryString": "invoice" } }]),
    )
    .await;
    assert_eq!(reply.body["value"][0]["searchTerms"], json!(["invoice"]));
    let found = hits(&reply);
    assert_eq!(container(&reply)["total"], 4);
    assert_eq!(container(&reply)["moreResultsAvailable"], false);
    let received: Vec<&str> = found
        .iter()
        .map(|h| h["resource"]["receivedDateTime"].as_str().unwrap())
        .collect();
    assert!(
        received.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );
    let first = &found[0];
    assert_eq!(first["rank"], 1);
    assert_eq!(first["resource"]["@odata.type"], "#microsoft.graph.message");
    assert_eq!(first["hitId"], first["resource"]["id"]);
    for field in ["subject", "from", "receivedDateTime", "webLink"] {
        assert!(!first["resource"][field].is_null(), "{field}");
    }
    assert!(
        found
            .iter()
            .all(|h| h["summary"].as_str().unwrap().contains("<c0>")),
        "{found:?}"
    );

    let paged = search(&devstack, &token, json!([{ "entityTypes": ["message"], "query": { "queryString": "invoice" }, "from": 0, "size": 3 }])).await;
    assert_eq!(hits(&paged).len(), 3);
    assert_eq!(container(&paged)["moreResultsAvailable"], true);
    let none = search(
        &devstack,
        &token,
        json!([{ "entityTypes": ["message"], "query": { "queryString": "zebracorn" } }]),
    )
    .await;
    assert_eq!(
        container(&none),
        &json!({ "total": 0, "moreResultsAvailable": false }),
        "no hits property"
    );

    for bad in [
        json!([{ "entityTypes": ["message"], "query": { "queryString": "x" }, "size": 26 }]),
        json!([{ "entityTypes": ["message", "driveItem"], "query": { "queryString": "x" } }]),
        json!([{ "entityTypes": ["message", "event"], "query": { "queryString": "x" } }]),
        json!([{ "entityTypes": ["message"], "query": { "queryString": "x" } }, { "entityTypes": ["driveItem"], "query": { "queryString": "x" } }]),
        json!([]),
    ] {
        assert_error(&search(&devstack, &token, bad).await, 400, "BadRequest");
    }
    let no_mail = devstack.graph_token("adele", &["Calendars.Read"]);
    assert_error(
        &search(
            &devstack,
            &no_mail,
            json!([{ "entityTypes": ["message"], "query": { "queryString": "x" } }]),
        )
        .await,
        403,
        "Forbidden",
    );
}

#[tokio::test]
async fn events_are_searched_with_calendars_read() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Calendars.Read"]);
    let reply = search(
        &devstack,
        &token,
        json!([{ "entityTypes": ["event"], "query": { "queryString": "budget review" } }]),
    )
    .await;
    let found = hits(&reply);
    let subjects: Vec<&str> = found
        .iter()
        .map(|h| h["resource"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Q3 budget review"]);
    let resource = &found[0]["resource"];
    assert_eq!(resource["@odata.type"], "#microsoft.graph.event");
    assert_eq!(resource["start"]["timeZone"], "UTC");
    assert!(resource["end"]["dateTime"].is_string() && resource["id"].is_string());
    let mail_only = devstack.graph_token("adele", &["Mail.Read"]);
    assert_error(
        &search(
            &devstack,
            &mail_only,
            json!([{ "entityTypes": ["event"], "query": { "queryString": "x" } }]),
        )
        .await,
        403,
        "Forbidden",
    );
}

#[tokio::test]
async fn files_and_sharepoint_items_are_searched_together_and_open_by_drive_and_id() {
    let devstack = start();
    let sites = devstack.graph_token("adele", &["Sites.Read.All"]);
    let reply = search(
        &devstack,
        &sites,
        json!([{ "entityTypes": ["driveItem", "listItem"], "query": { "queryString": "campaign" }, "size": 50 }]),
    )
    .await;
    let found = hits(&reply);
    let types: Vec<&str> = found
        .iter()
        .map(|h| h["resource"]["@odata.type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"#microsoft.graph.driveItem")
            && types.contains(&"#microsoft.graph.listItem"),
        "{types:?}"
    );
    let plan = found
        .iter()
        .find(|h| h["resource"]["name"] == "Campaign plan.docx")
        .unwrap();
    let resource = &plan["resource"];
    for field in ["id", "name", "webUrl", "size", "lastModifiedDateTime"] {
        assert!(!resource[field].is_null(), "{field}");
    }
    assert!(
        resource["parentReference"]["siteId"]
            .as_str()
            .unwrap()
            .starts_with("contoso.sharepoint.com,")
    );
    let (drive, item) = (
        resource["parentReference"]["driveId"].as_str().unwrap(),
        resource["id"].as_str().unwrap(),
    );
    let content = http()
        .get(format!(
            "{}/v1.0/drives/{drive}/items/{item}/content",
            devstack.base_url()
        ))
        .bearer_auth(&sites)
        .send()
        .await
        .unwrap();
    assert_eq!(
        content.status(),
        302,
        "read_file opens a SharePoint hit by drive and item"
    );
    let list_item = found
        .iter()
        .find(|h| h["resource"]["@odata.type"] == "#microsoft.graph.listItem")
        .unwrap();
    assert!(list_item["resource"]["sharepointIds"]["listItemId"].is_string());

    // Files.Read.All finds the user's own files and what was shared, not other people's.
    let files = devstack.graph_token("adele", &["Files.Read.All"]);
    let agenda = search(&devstack, &files, json!([{ "entityTypes": ["driveItem"], "query": { "queryString": "agenda" }, "fields": ["name", "parentReference"] }])).await;
    let agenda_hits = hits(&agenda);
    let names: Vec<&str> = agenda_hits
        .iter()
        .map(|h| h["resource"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Offsite agenda.docx"]);
    let keys: Vec<String> = hits(&agenda)[0]["resource"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        ["@odata.type", "id", "name", "parentReference"],
        "fields"
    );
    let lee = devstack.graph_token("lee", &["Files.Read.All"]);
    assert_eq!(
        container(
            &search(
                &devstack,
                &lee,
                json!([{ "entityTypes": ["driveItem"], "query": { "queryString": "agenda" } }])
            )
            .await
        )["total"],
        0
    );
    let docx = search(&devstack, &files, json!([{ "entityTypes": ["driveItem"], "query": { "queryString": "quarterly filetype:docx" } }])).await;
    assert!(
        hits(&docx)
            .iter()
            .all(|h| h["resource"]["name"].as_str().unwrap().ends_with(".docx"))
    );
    assert!(!hits(&docx).is_empty());
    assert_error(
        &search(
            &devstack,
            &files,
            json!([{ "entityTypes": ["listItem"], "query": { "queryString": "campaign" } }]),
        )
        .await,
        403,
        "Forbidden",
    );
    let several = search(
        &devstack,
        &sites,
        json!([
            { "entityTypes": ["site"], "query": { "queryString": "marketing" } },
            { "entityTypes": ["drive", "list"], "query": { "queryString": "campaign" } },
        ]),
    )
    .await;
    assert_eq!(several.body["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        several.body["value"][0]["hitsContainers"][0]["hits"][0]["resource"]["displayName"],
        "Contoso Marketing"
    );
}
