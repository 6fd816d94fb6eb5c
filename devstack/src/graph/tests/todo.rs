//! Microsoft To Do over HTTP.

use super::*;

#[tokio::test]
async fn lists_and_open_tasks_with_due_dates_in_the_users_day() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Tasks.Read"]);
    let lists = get(
        &devstack,
        "/v1.0/me/todo/lists?$select=displayName,wellknownListName",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(lists.status, 200, "{}", lists.body);
    let lists = lists.body["value"].as_array().unwrap().clone();
    let kinds: Vec<&str> = lists
        .iter()
        .map(|l| l["wellknownListName"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["defaultList", "flaggedEmails", "none"]);
    let default = segment(lists[0]["id"].as_str().unwrap());

    let (all, pages) = all_pages(
        &devstack,
        &format!("/v1.0/me/todo/lists/{default}/tasks"),
        &token,
        &[],
    )
    .await;
    assert_eq!((all.len(), pages), (12, 2), "ten a page");
    assert!(
        all.iter()
            .any(|t| t["status"] == "completed" && t["completedDateTime"].is_object())
    );
    assert!(
        all.iter().any(|t| t.get("dueDateTime").is_none()),
        "a task without a due date"
    );
    let open = get(
        &devstack,
        &format!("/v1.0/me/todo/lists/{default}/tasks?$filter=status%20ne%20'completed'&$top=100&$select=title,status,importance,dueDateTime,createdDateTime,body"),
        Some(&token),
        &[],
    )
    .await;
    let open = open.body["value"].as_array().unwrap().clone();
    assert_eq!(open.len(), 10);
    assert!(open.iter().all(|t| t["status"] != "completed"));
    let hostile = open
        .iter()
        .find(|t| t["title"].as_str().unwrap().contains('\u{202e}'))
        .unwrap();
    assert!(
        hostile["body"]["content"]
            .as_str()
            .unwrap()
            .contains("AI assistant")
    );

    // Due tomorrow, Pacific: midnight there is 07:00 or 08:00 UTC.
    let budget = open
        .iter()
        .find(|t| t["title"] == "Send Q3 budget numbers to Miriam")
        .unwrap();
    let due = &budget["dueDateTime"];
    assert_eq!(due["timeZone"], "UTC");
    let (tomorrow, _) = local_day(&devstack, "adele", 1);
    assert_eq!(due["dateTime"], crate::datetime::graph_wall_clock(tomorrow));
    let local = get(
        &devstack,
        &format!("/v1.0/me/todo/lists/{default}/tasks?$top=1&$select=dueDateTime"),
        Some(&token),
        &[("Prefer", "outlook.timezone=\"Pacific Standard Time\"")],
    )
    .await;
    assert!(
        local.body["value"][0]["dueDateTime"]["dateTime"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.0000000")
    );

    let high = get(&devstack, &format!("/v1.0/me/todo/lists/{default}/tasks?$filter=status%20ne%20'completed'%20and%20importance%20eq%20'high'"), Some(&token), &[]).await;
    assert_eq!(high.body["value"].as_array().unwrap().len(), 2);
    assert_error(
        &get(
            &devstack,
            &format!("/v1.0/me/todo/lists/{default}/tasks?$filter=status%20ne%20completed"),
            Some(&token),
            &[],
        )
        .await,
        400,
        "BadRequest",
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/todo/lists/AAMkADnope%3D/tasks",
            Some(&token),
            &[],
        )
        .await,
        404,
        "ErrorItemNotFound",
    );
    let alex = devstack.graph_token("alex", &["Tasks.Read"]);
    assert_error(
        &get(
            &devstack,
            &format!("/v1.0/me/todo/lists/{default}/tasks"),
            Some(&alex),
            &[],
        )
        .await,
        404,
        "ErrorItemNotFound",
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/todo/lists",
            Some(&devstack.graph_token("adele", &["User.Read"])),
            &[],
        )
        .await,
        403,
        "ErrorAccessDenied",
    );
}
