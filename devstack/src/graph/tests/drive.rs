//! OneDrive and SharePoint drives over HTTP.

use super::*;

#[tokio::test]
async fn drive_items_search_and_downloads() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Files.Read"]);
    let children = get(&devstack, "/v1.0/me/drive/root/children", Some(&token), &[]).await;
    assert_eq!(children.status, 200, "{}", children.body);
    let names: Vec<&str> = children.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Projects",
            "Quarterly report.md",
            "Meeting notes.txt",
            "Budget 2025.csv",
            "Logo.png"
        ]
    );

    let found = get(
        &devstack,
        "/v1.0/me/drive/root/search(q='northwind''s')",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["value"][0]["name"], "Quarterly report.md");
    assert_eq!(found.body["value"].as_array().unwrap().len(), 1);
    assert!(
        found.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#Collection(driveItem)")
    );
    let nested = get(
        &devstack,
        "/v1.0/me/drive/root/search(q=%27PROJECT%20PLAN%27)?$select=name",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(nested.body["value"], json!([{ "name": "Project plan.md" }]));
    let unquoted = get(
        &devstack,
        "/v1.0/me/drive/root/search(q=budget)",
        Some(&token),
        &[],
    )
    .await;
    assert_error(&unquoted, 400, "invalidRequest");
    let dangling = get(
        &devstack,
        "/v1.0/me/drive/root/search(q='it's')",
        Some(&token),
        &[],
    )
    .await;
    assert_error(&dangling, 400, "invalidRequest");

    let logo = children.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Logo.png")
        .unwrap();
    let id = logo["id"].as_str().unwrap();
    let item = get(
        &devstack,
        &format!("/v1.0/me/drive/items/{id}"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(item.body["file"]["mimeType"], "image/png");
    assert_eq!(item.body["size"], 67);

    let content = http()
        .get(format!(
            "{}/v1.0/me/drive/items/{id}/content",
            devstack.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        content.status(),
        302,
        "OneDrive redirects to the storage host"
    );
    let location = content.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!(
        "{}/_layouts/15/download.aspx?UniqueId=",
        devstack.base_url()
    )));
    let bytes = http().get(&location).send().await.unwrap();
    assert_eq!(bytes.status(), 200, "pre-authenticated: no token needed");
    assert_eq!(bytes.headers()["content-type"], "image/png");
    assert_eq!(&bytes.bytes().await.unwrap()[1..4], b"PNG");
    let forged = http()
        .get(format!(
            "{}/_layouts/15/download.aspx?UniqueId=x&tempauth=forged",
            devstack.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let folder = children.body["value"][0]["id"].as_str().unwrap();
    let inside = get(
        &devstack,
        &format!("/v1.0/me/drive/items/{folder}/children?$select=name"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(inside.body["value"], json!([{ "name": "Project plan.md" }]));
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
    assert_error(
        &get(&devstack, "/v1.0/me/drive/items/01NOPE", Some(&token), &[]).await,
        404,
        "itemNotFound",
    );
    let none = devstack.graph_token("adele", &["User.Read"]);
    assert_error(
        &get(&devstack, "/v1.0/me/drive/root/children", Some(&none), &[]).await,
        403,
        "accessDenied",
    );
}
