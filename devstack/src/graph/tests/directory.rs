//! Users, managers, direct reports and directory search over HTTP.

use super::*;

#[tokio::test]
async fn me_is_the_default_profile_and_select_picks_properties() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["User.Read"]);
    let me = get(&devstack, "/v1.0/me", Some(&token), &[]).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.body,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#users/$entity", devstack.base_url()),
            "businessPhones": ["+1 425 555 0110"],
            "displayName": "Adele Vance",
            "givenName": "Adele",
            "jobTitle": "Retail Manager",
            "mail": "adele@contoso.example",
            "mobilePhone": "+1 425 555 0109",
            "officeLocation": "18/2111",
            "preferredLanguage": "en-US",
            "surname": "Vance",
            "userPrincipalName": "adele@contoso.example",
            "id": adele().object_id,
        })
    );

    let selected = get(
        &devstack,
        "/v1.0/me?$select=displayName,DEPARTMENT,mobilePhone",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(
        selected.body,
        json!({
            "@odata.context": format!(
                "{}/v1.0/$metadata#users(displayName,department,mobilePhone)/$entity",
                devstack.base_url()
            ),
            "displayName": "Adele Vance",
            "department": "Retail",
            "mobilePhone": "+1 425 555 0109",
        })
    );
    let alex = get(
        &devstack,
        "/v1.0/users/alex@contoso.example?$select=mobilePhone",
        Some(&devstack.graph_token("alex", &["User.Read"])),
        &[],
    )
    .await;
    assert_eq!(
        alex.body["mobilePhone"],
        Value::Null,
        "an empty property is null, not absent"
    );

    let unknown = get(&devstack, "/v1.0/me?$select=shoeSize", Some(&token), &[]).await;
    assert_error(&unknown, 400, "Request_BadRequest");
    let mail_only = devstack.graph_token("adele", &["Mail.Read"]);
    assert_error(
        &get(&devstack, "/v1.0/me", Some(&mail_only), &[]).await,
        403,
        "Authorization_RequestDenied",
    );
}

#[tokio::test]
async fn other_users_need_user_readbasic_all() {
    let devstack = start();
    let megan = tenant::user("megan").unwrap();
    let basic = devstack.graph_token("adele", &["User.Read"]);
    let path = format!("/v1.0/users/{}", megan.object_id);
    assert_error(
        &get(&devstack, &path, Some(&basic), &[]).await,
        403,
        "Authorization_RequestDenied",
    );
    let own = get(
        &devstack,
        &format!("/v1.0/users/{}", adele().user_principal_name),
        Some(&basic),
        &[],
    )
    .await;
    assert_eq!(own.status, 200, "oneself by UPN needs only User.Read");

    let wider = devstack.graph_token("adele", &["User.ReadBasic.All"]);
    for path in [path, "/v1.0/users/MEGAN@contoso.example".to_owned()] {
        let reply = get(&devstack, &path, Some(&wider), &[]).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body["displayName"], "Megan Bowen");
    }
    let missing = get(
        &devstack,
        "/v1.0/users/nobody@contoso.example",
        Some(&wider),
        &[],
    )
    .await;
    assert_error(&missing, 404, "Request_ResourceNotFound");
}

#[tokio::test]
async fn managers_and_direct_reports_follow_the_directory() {
    let devstack = start();
    let read_all = devstack.graph_token("adele", &["User.Read.All"]);
    let manager = get(&devstack, "/v1.0/me/manager", Some(&read_all), &[]).await;
    assert_eq!(manager.status, 200, "{}", manager.body);
    assert_eq!(manager.body["@odata.type"], "#microsoft.graph.user");
    assert_eq!(manager.body["displayName"], "Miriam Graham");
    assert_eq!(
        manager.body["@odata.context"],
        format!(
            "{}/v1.0/$metadata#directoryObjects/$entity",
            devstack.base_url()
        )
    );
    let chain = get(
        &devstack,
        &format!(
            "/v1.0/users/{}/manager?$select=displayName",
            tenant::user("miriam").unwrap().object_id
        ),
        Some(&read_all),
        &[],
    )
    .await;
    assert_eq!(chain.body["displayName"], "Patti Fernandez");
    assert_eq!(
        chain.body["@odata.type"], "#microsoft.graph.user",
        "directory objects keep their type"
    );

    let top = get(
        &devstack,
        "/v1.0/me/manager",
        Some(&devstack.graph_token("patti", &["User.Read.All"])),
        &[],
    )
    .await;
    assert_error(&top, 404, "Request_ResourceNotFound");
    let basic = devstack.graph_token("adele", &["User.Read"]);
    assert_error(
        &get(&devstack, "/v1.0/me/manager", Some(&basic), &[]).await,
        403,
        "Authorization_RequestDenied",
    );

    let limited = get(
        &devstack,
        "/v1.0/me/directReports",
        Some(&devstack.graph_token("miriam", &["User.Read"])),
        &[],
    )
    .await;
    let reports = limited.body["value"].as_array().unwrap();
    assert_eq!(reports.len(), 3, "Adele, Megan and Isaiah");
    assert!(
        reports
            .iter()
            .all(|r| r["displayName"].is_null() && r["id"].is_string())
    );
    let full = get(
        &devstack,
        "/v1.0/me/directReports?$select=displayName",
        Some(&devstack.graph_token("miriam", &["User.Read", "User.ReadBasic.All"])),
        &[],
    )
    .await;
    let mut names: Vec<&str> = full.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Adele Vance", "Isaiah Langer", "Megan Bowen"]);
    let none = get(&devstack, "/v1.0/me/directReports", Some(&basic), &[]).await;
    assert_eq!(none.body["value"], json!([]));
}

#[tokio::test]
async fn user_search_is_an_advanced_query() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["User.ReadBasic.All"]);
    let path = "/v1.0/users?$search=%22displayName:me%22&$select=displayName";
    let without = get(&devstack, path, Some(&token), &[]).await;
    assert_error(&without, 400, "Request_UnsupportedQuery");
    assert!(
        without.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ConsistencyLevel: eventual")
    );

    let eventual = [("ConsistencyLevel", "eventual")];
    let found = get(
        &devstack,
        &format!("{path}&$count=true"),
        Some(&token),
        &eventual,
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        found.body["value"],
        json!([{ "displayName": "Megan Bowen" }])
    );
    assert_eq!(found.body["@odata.count"], 1);
    let count_alone = get(&devstack, "/v1.0/users?$count=true", Some(&token), &[]).await;
    assert_eq!(count_alone.status, 400);

    let filtered = get(
        &devstack,
        "/v1.0/users?$filter=startswith(displayName,'A')&$select=displayName",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(
        filtered.body["value"].as_array().unwrap().len(),
        2,
        "Adele and Alex"
    );

    let (users, pages) = all_pages(&devstack, "/v1.0/users?$top=3", &token, &[]).await;
    assert_eq!(users.len(), tenant::USERS.len());
    assert_eq!(pages, 4);
    let basic = devstack.graph_token("adele", &["User.Read"]);
    assert_error(
        &get(&devstack, "/v1.0/users", Some(&basic), &[]).await,
        403,
        "Authorization_RequestDenied",
    );
}

#[tokio::test]
async fn user_readbasic_all_reads_only_the_basic_profile_of_others() {
    let devstack = start();
    let megan = "/v1.0/users/megan@contoso.example";
    let basic = get(
        &devstack,
        megan,
        Some(&devstack.graph_token("adele", &["User.ReadBasic.All"])),
        &[],
    )
    .await;
    assert_eq!(basic.status, 200, "{}", basic.body);
    assert_eq!(basic.body["displayName"], "Megan Bowen");
    assert_eq!(basic.body["mail"], "megan@contoso.example");
    for hidden in [
        "jobTitle",
        "officeLocation",
        "mobilePhone",
        "preferredLanguage",
    ] {
        assert_eq!(basic.body[hidden], Value::Null, "{hidden}");
    }
    assert_eq!(basic.body["businessPhones"], json!([]));
    let selected = get(
        &devstack,
        &format!("{megan}?$select=displayName,jobTitle,department"),
        Some(&devstack.graph_token("adele", &["User.ReadBasic.All"])),
        &[],
    )
    .await;
    assert_eq!(
        selected.body["department"],
        Value::Null,
        "selected, still null"
    );
    let full = get(
        &devstack,
        megan,
        Some(&devstack.graph_token("adele", &["User.Read.All"])),
        &[],
    )
    .await;
    assert_eq!(full.body["jobTitle"], "Marketing Manager");
    assert_eq!(full.body["officeLocation"], "12/1110");
    assert_eq!(full.body["businessPhones"], json!(["+1 412 555 0110"]));

    let listed = get(
        &devstack,
        "/v1.0/users?$select=displayName,jobTitle,officeLocation",
        Some(&devstack.graph_token("adele", &["User.ReadBasic.All"])),
        &[],
    )
    .await;
    let users = listed.body["value"].as_array().unwrap();
    assert!(users.iter().all(|u| u["displayName"].is_string()));
    assert!(
        users
            .iter()
            .filter(|u| u["displayName"] != "Adele Vance")
            .all(|u| u["jobTitle"].is_null() && u["officeLocation"].is_null())
    );
    let searched = get(
        &devstack,
        "/v1.0/users?$search=%22displayName:lid%22%20OR%20%22mail:pradeep%22&$select=displayName,officeLocation",
        Some(&devstack.graph_token("adele", &["User.Read.All"])),
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    let offices: Vec<&str> = searched.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["officeLocation"].as_str().unwrap())
        .collect();
    assert_eq!(offices, ["Hyderabad 4/1201", "Tokyo 21F"]);
}

#[tokio::test]
async fn someones_direct_reports_need_user_read_and_readbasic_all_or_read_all() {
    let devstack = start();
    let lee = tenant::user("lee").unwrap();
    let path = format!(
        "/v1.0/users/{}/directReports?$select=displayName,jobTitle",
        lee.object_id
    );
    for permissions in [&["User.Read"][..], &["User.ReadBasic.All"]] {
        assert_error(
            &get(
                &devstack,
                &path,
                Some(&devstack.graph_token("adele", permissions)),
                &[],
            )
            .await,
            403,
            "Authorization_RequestDenied",
        );
    }
    let both = get(
        &devstack,
        &path,
        Some(&devstack.graph_token("adele", &["User.Read", "User.ReadBasic.All"])),
        &[],
    )
    .await;
    assert_eq!(both.status, 200, "{}", both.body);
    let reports = both.body["value"].as_array().unwrap();
    let names: Vec<&str> = reports
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Johanna Lorenz", "Pradeep Gupta", "Lidia Holloway"]);
    assert!(
        reports
            .iter()
            .all(|r| r["jobTitle"].is_null() && r["@odata.type"] == "#microsoft.graph.user")
    );
    let all = get(
        &devstack,
        &path,
        Some(&devstack.graph_token("adele", &["User.Read.All"])),
        &[],
    )
    .await;
    assert_eq!(all.body["value"][1]["jobTitle"], "Software Engineer");
    let (paged, pages) = all_pages(
        &devstack,
        &format!(
            "/v1.0/users/{}/directReports?$top=2",
            lee.user_principal_name
        ),
        &devstack.graph_token("adele", &["User.Read.All"]),
        &[],
    )
    .await;
    assert_eq!((paged.len(), pages), (3, 2));
    let none = get(
        &devstack,
        "/v1.0/users/adele@contoso.example/directReports",
        Some(&devstack.graph_token("adele", &["User.Read.All"])),
        &[],
    )
    .await;
    assert_eq!(none.body["value"], json!([]));
    assert_error(
        &get(
            &devstack,
            "/v1.0/users/nobody@contoso.example/directReports",
            Some(&devstack.graph_token("adele", &["User.Read.All"])),
            &[],
        )
        .await,
        404,
        "Request_ResourceNotFound",
    );
}

#[tokio::test]
async fn people_are_ranked_searched_fuzzily_and_carry_their_offices() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["People.Read"]);
    let first = get(&devstack, "/v1.0/me/people", Some(&token), &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let people = first.body["value"].as_array().unwrap();
    assert_eq!(people.len(), 10);
    let scores: Vec<f64> = people
        .iter()
        .map(|p| {
            p["scoredEmailAddresses"][0]["relevanceScore"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );
    assert_eq!(
        people[0]["displayName"], "Miriam Graham",
        "her manager, in her meetings and mail"
    );
    assert_eq!(
        people[0]["jobTitle"], "Director",
        "People.Read reads job titles"
    );
    assert_eq!(
        people[0]["personType"],
        json!({ "class": "Person", "subclass": "OrganizationUser" })
    );
    assert!(
        first.body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .ends_with("$skip=10")
    );
    let (everyone, _) = all_pages(&devstack, "/v1.0/me/people", &token, &[]).await;
    assert!(everyone.iter().any(|p| p["personType"]["class"] == "Group"));
    let offices: Vec<&str> = everyone
        .iter()
        .filter_map(|p| p["officeLocation"].as_str())
        .collect();
    assert!(offices.contains(&"Hyderabad 4/1201") && offices.contains(&"Tokyo 21F"));

    let search = |query: &str| {
        let path = format!(
            "/v1.0/me/people?$search={}&$select=displayName,scoredEmailAddresses,jobTitle,department,officeLocation,userPrincipalName,personType",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        let token = token.clone();
        let devstack = &devstack;
        async move { get(devstack, &path, Some(&token), &[]).await }
    };
    let megan = search("\"megn\"").await;
    assert_eq!(
        megan.body["value"][0]["displayName"], "Megan Bowen",
        "{}",
        megan.body
    );
    assert_eq!(megan.body["value"].as_array().unwrap().len(), 1);
    assert!(megan.body.get("@odata.nextLink").is_none());
    let by_address = search("\"johanna@contoso\"").await;
    assert_eq!(by_address.body["value"][0]["department"], "Engineering");
    assert_eq!(search("\"zzzz\"").await.body["value"], json!([]));
    let persons = get(
        &devstack,
        "/v1.0/me/people?$filter=personType/class%20eq%20'Person'&$top=100",
        Some(&token),
        &[],
    )
    .await;
    assert!(
        persons.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["personType"]["class"] == "Person")
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/people?$search=%22meg%22&$skip=10",
            Some(&token),
            &[],
        )
        .await,
        400,
        "ErrorInvalidUrlQuery",
    );
    assert_error(
        &get(
            &devstack,
            "/v1.0/me/people",
            Some(&devstack.graph_token("adele", &["User.Read"])),
            &[],
        )
        .await,
        403,
        "ErrorAccessDenied",
    );
}
