//! The calendar and findMeetingTimes over HTTP.

use super::*;
use crate::{
    datetime::{days_from_civil, days_in_month, weekday},
    sample::{
        ALL_DAY_EVENT, EUROPE_WEEKLY_SERIES, HIDDEN_EVENT_TEXTS, HOSTILE_EVENT_SUBJECT,
        PACIFIC_WEEKLY_SERIES, TOMORROW_MEETINGS,
    },
};

const PACIFIC: (&str, &str) = ("Prefer", "outlook.timezone=\"Pacific Standard Time\"");

fn view_path(from: i64, to: i64) -> String {
    format!(
        "/v1.0/me/calendarView?startDateTime={}&endDateTime={}&$top=100",
        iso8601(from),
        iso8601(to)
    )
}

fn events(reply: &Reply) -> Vec<Value> {
    reply.body["value"].as_array().unwrap().clone()
}

fn by_subject<'a>(events: &'a [Value], subject: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["subject"] == subject).collect()
}

/// `HH:MM` of a `dateTimeTimeZone`.
fn clock(when: &Value) -> &str {
    &when["dateTime"].as_str().unwrap()[11..16]
}

#[tokio::test]
async fn the_calendar_view_needs_a_window_and_honours_the_time_zone() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Calendars.ReadBasic"]);
    let missing = get(&devstack, "/v1.0/me/calendarView", Some(&token), &[]).await;
    assert_error(&missing, 400, "ErrorInvalidParameter");
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("StartDateTime and EndDateTime")
    );
    let bad = get(
        &devstack,
        "/v1.0/me/calendarView?startDateTime=yesterday&endDateTime=today",
        Some(&token),
        &[],
    )
    .await;
    assert_error(&bad, 400, "ErrorInvalidParameter");

    let (from, to) = (now_seconds() - 4 * 86_400, now_seconds() + 4 * 86_400);
    let window = view_path(from, to);
    let utc = get(&devstack, &window, Some(&token), &[]).await;
    assert_eq!(utc.status, 200, "{}", utc.body);
    let all = events(&utc);
    assert!(all.len() >= 15, "{}", all.len());
    assert!(
        all.iter()
            .all(|e| e.get("body").is_none() && e.get("bodyPreview").is_none()),
        "Calendars.ReadBasic has no bodies"
    );
    // By start: timed events by their instant. An all-day event floats (midnight of its day,
    // rendered as such in any zone), so its place among them is not its rendered time.
    let starts: Vec<i64> = all
        .iter()
        .filter(|e| e["isAllDay"] != true)
        .map(|e| parse_iso8601(e["start"]["dateTime"].as_str().unwrap()).unwrap())
        .collect();
    assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]), "by start");
    let standup = by_subject(&all, "Daily stand-up")[0].clone();
    assert_eq!(standup["start"]["timeZone"], "UTC");
    assert_eq!(standup["type"], "occurrence");
    assert_eq!(
        standup["organizer"]["emailAddress"]["address"],
        "miriam@contoso.example"
    );
    let attendees = standup["attendees"].as_array().unwrap();
    assert!(attendees.iter().all(|a| a["type"] == "required"
        && a["status"]["response"].is_string()
        && a["emailAddress"]["name"].is_string()));
    assert!(
        !attendees
            .iter()
            .any(|a| a["emailAddress"]["address"] == "miriam@contoso.example"),
        "the organizer is not among the attendees"
    );
    assert!(
        standup["onlineMeeting"]["joinUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://teams.microsoft.com/l/meetup-join/")
    );
    assert!(
        standup["webLink"]
            .as_str()
            .unwrap()
            .starts_with("https://outlook.office365.com/owa/?itemid=AAMk")
    );

    // A window without an offset is UTC, whatever Prefer says.
    let naive = format!(
        "/v1.0/me/calendarView?startDateTime={}&endDateTime={}&$top=100",
        iso8601(from).trim_end_matches('Z'),
        iso8601(to).trim_end_matches('Z')
    );
    let naive = get(&devstack, &naive, Some(&token), &[PACIFIC]).await;
    assert_eq!(events(&naive).len(), all.len());

    let pacific = get(&devstack, &window, Some(&token), &[PACIFIC]).await;
    let local = events(&pacific)
        .into_iter()
        .find(|e| e["id"] == standup["id"])
        .unwrap();
    assert_eq!(local["start"]["timeZone"], "Pacific Standard Time");
    assert_eq!(clock(&local["start"]), "09:30", "{local}");
    assert_eq!(clock(&local["end"]), "09:45");
    assert_ne!(local["start"]["dateTime"], standup["start"]["dateTime"]);
    assert_eq!(
        pacific.headers["preference-applied"],
        "outlook.timezone=\"Pacific Standard Time\""
    );
    let iana = get(
        &devstack,
        &window,
        Some(&token),
        &[("Prefer", "outlook.timezone=\"America/Los_Angeles\"")],
    )
    .await;
    let same = events(&iana)
        .into_iter()
        .find(|e| e["id"] == standup["id"])
        .unwrap();
    assert_eq!(same["start"]["timeZone"], "America/Los_Angeles");
    assert_eq!(same["start"]["dateTime"], local["start"]["dateTime"]);

    let unknown_zone = get(
        &devstack,
        &window,
        Some(&token),
        &[("Prefer", "outlook.timezone=\"Mars/Olympus\"")],
    )
    .await;
    assert_error(&unknown_zone, 400, "TimeZoneNotSupportedException");
    let filtered = get(
        &devstack,
        &format!("{window}&$filter=subject%20eq%20'x'"),
        Some(&token),
        &[],
    )
    .await;
    assert_error(&filtered, 400, "ErrorInvalidUrlQuery");

    let far = now_seconds() + 400 * 86_400;
    let empty = get(&devstack, &view_path(far, far + 86_400), Some(&token), &[]).await;
    assert_eq!(empty.body["value"], json!([]));

    let (paged, pages) = all_pages(
        &devstack,
        &format!(
            "/v1.0/me/calendarView?startDateTime={}&endDateTime={}&$select=subject",
            iso8601(from),
            iso8601(to)
        ),
        &token,
        &[],
    )
    .await;
    assert_eq!(paged.len(), all.len());
    assert_eq!(pages, all.len().div_ceil(10), "ten a page");

    let none = devstack.graph_token("adele", &["Mail.Read"]);
    assert_error(
        &get(&devstack, &window, Some(&none), &[]).await,
        403,
        "ErrorAccessDenied",
    );
}

/// Days since 1970 of the `n`th Sunday of `month` (0 = last).
fn sunday(year: i64, month: u32, n: i64) -> i64 {
    if n == 0 {
        let last = days_from_civil(year, month, days_in_month(year, month));
        return last - i64::from(weekday(last));
    }
    let first = days_from_civil(year, month, 1);
    first + i64::from((7 - weekday(first)) % 7) + 7 * (n - 1)
}

/// The series' occurrences in the fortnight around local `day`, by start, UTC and Pacific.
async fn around(
    devstack: &Devstack,
    token: &str,
    subject: &str,
    day: i64,
) -> (Vec<Value>, Vec<Value>) {
    let window = view_path((day - 8) * 86_400, (day + 8) * 86_400);
    let utc = get(devstack, &window, Some(token), &[]).await;
    let local = get(devstack, &window, Some(token), &[PACIFIC]).await;
    let pick = |reply: &Reply| -> Vec<Value> {
        by_subject(&events(reply), subject)
            .into_iter()
            .cloned()
            .collect()
    };
    (pick(&utc), pick(&local))
}

/// The change date in the year the series' range covers it.
fn change_within(range: &Value, change: impl Fn(i64) -> i64) -> i64 {
    let day = |field: &str| {
        parse_iso8601(range[field].as_str().unwrap())
            .unwrap()
            .div_euclid(86_400)
    };
    let (first, last) = (day("startDate"), day("endDate"));
    let year = crate::datetime::civil_from_days(first).0;
    [year, year + 1]
        .into_iter()
        .map(change)
        .find(|change| (first + 7..last - 7).contains(change))
        .expect("the series spans the change")
}

#[tokio::test]
async fn weekly_series_expand_and_keep_their_wall_clock_across_daylight_saving() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Calendars.Read"]);
    let masters = get(
        &devstack,
        "/v1.0/me/events?$top=1000&$select=subject,type,recurrence,start",
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(masters.status, 200, "{}", masters.body);
    let masters = events(&masters);
    assert!(
        masters.iter().all(|e| e["type"] != "occurrence"),
        "/events lists masters"
    );
    let range = |subject: &str| by_subject(&masters, subject)[0]["recurrence"]["range"].clone();
    let pacific_range = range(PACIFIC_WEEKLY_SERIES);
    assert_eq!(pacific_range["recurrenceTimeZone"], "Pacific Standard Time");

    // The US: second Sunday of March, first Sunday of November; Mondays at 09:00 Pacific.
    for (change, hours) in [
        (
            change_within(&pacific_range, |y| sunday(y, 3, 2)),
            ["17:00", "16:00"],
        ),
        (
            change_within(&pacific_range, |y| sunday(y, 11, 1)),
            ["16:00", "17:00"],
        ),
    ] {
        let (utc, local) = around(&devstack, &token, PACIFIC_WEEKLY_SERIES, change).await;
        assert_eq!(utc.len(), 2, "a Monday either side");
        assert_eq!([clock(&utc[0]["start"]), clock(&utc[1]["start"])], hours);
        assert_eq!(
            [clock(&local[0]["start"]), clock(&local[1]["start"])],
            ["09:00", "09:00"]
        );
        assert!(
            utc.iter()
                .all(|o| o["type"] == "occurrence" && o["seriesMasterId"].is_string())
        );
        assert_eq!(utc[0]["seriesMasterId"], utc[1]["seriesMasterId"]);
        assert_ne!(utc[0]["id"], utc[1]["id"]);
    }

    // The EU: last Sundays of March and October; Tuesdays at 16:00 Berlin.
    let europe_range = range(EUROPE_WEEKLY_SERIES);
    for (change, hours) in [
        (
            change_within(&europe_range, |y| sunday(y, 3, 0)),
            ["15:00", "14:00"],
        ),
        (
            change_within(&europe_range, |y| sunday(y, 10, 0)),
            ["14:00", "15:00"],
        ),
    ] {
        let (utc, local) = around(&devstack, &token, EUROPE_WEEKLY_SERIES, change).await;
        assert_eq!(utc.len(), 2, "a Tuesday either side");
        assert_eq!([clock(&utc[0]["start"]), clock(&utc[1]["start"])], hours);
        // In the weeks between the US and the EU changes Berlin is eight hours ahead, not nine.
        assert_eq!(
            [clock(&local[0]["start"]), clock(&local[1]["start"])],
            if hours[0] == "15:00" {
                ["08:00", "07:00"]
            } else {
                ["07:00", "08:00"]
            }
        );
    }
}

#[tokio::test]
async fn occurrences_and_masters_are_gettable_and_bodies_need_calendars_read() {
    let devstack = start();
    let full = devstack.graph_token("adele", &["Calendars.Read"]);
    let (from, to) = local_day(&devstack, "adele", 1);
    let day = events(
        &get(
            &devstack,
            &view_path(from - 7 * 86_400, to),
            Some(&full),
            &[],
        )
        .await,
    );
    let occurrence = by_subject(&day, PACIFIC_WEEKLY_SERIES)[0].clone();
    let path = format!(
        "/v1.0/me/events/{}",
        segment(occurrence["id"].as_str().unwrap())
    );
    let got = get(&devstack, &path, Some(&full), &[PACIFIC]).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["id"], occurrence["id"]);
    assert_eq!(got.body["type"], "occurrence");
    assert_eq!(clock(&got.body["start"]), "09:00");
    assert_eq!(got.body["body"]["contentType"], "html");
    assert!(
        got.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/events/$entity")
    );

    let master_path = format!(
        "/v1.0/me/events/{}?$select=subject,type,recurrence",
        segment(occurrence["seriesMasterId"].as_str().unwrap())
    );
    let master = get(&devstack, &master_path, Some(&full), &[]).await;
    assert_eq!(master.body["type"], "seriesMaster");
    assert_eq!(
        master.body["recurrence"]["pattern"]["daysOfWeek"],
        json!(["monday"])
    );
    assert_eq!(master.body.get("body"), None, "not selected");

    let basic = devstack.graph_token("adele", &["Calendars.ReadBasic"]);
    let without = get(
        &devstack,
        &format!("{path}?$select=subject,body"),
        Some(&basic),
        &[],
    )
    .await;
    assert_eq!(without.status, 200);
    assert_eq!(
        without.body.get("body"),
        None,
        "ReadBasic never returns a body"
    );
    let text = get(
        &devstack,
        &path,
        Some(&full),
        &[("Prefer", "outlook.body-content-type=\"text\"")],
    )
    .await;
    assert_eq!(text.body["body"]["contentType"], "text");
    assert!(!text.body["body"]["content"].as_str().unwrap().contains('<'));

    assert_error(
        &get(&devstack, "/v1.0/me/events/AAMkADnope%3D", Some(&full), &[]).await,
        404,
        "ErrorItemNotFound",
    );
    assert_error(
        &get(&devstack, "/v1.0/me/events/42", Some(&full), &[]).await,
        400,
        "ErrorInvalidIdMalformed",
    );
    let alex = devstack.graph_token("alex", &["Calendars.Read"]);
    assert_error(
        &get(&devstack, &path, Some(&alex), &[]).await,
        404,
        "ErrorItemNotFound",
    );
}

#[tokio::test]
async fn tomorrow_adele_has_the_scenario_meetings_one_of_them_hostile() {
    let devstack = start();
    let token = devstack.graph_token("adele", &["Calendars.Read"]);
    let (from, to) = local_day(&devstack, "adele", 1);
    let tomorrow = events(&get(&devstack, &view_path(from, to), Some(&token), &[PACIFIC]).await);
    for subject in TOMORROW_MEETINGS {
        assert_eq!(by_subject(&tomorrow, subject).len(), 1, "{subject}");
    }
    let all_day = by_subject(&tomorrow, ALL_DAY_EVENT)[0];
    assert_eq!(all_day["isAllDay"], true);
    assert_eq!(all_day["showAs"], "free");
    assert_eq!(clock(&all_day["start"]), "00:00");
    let cancelled = by_subject(&tomorrow, "Canceled: Vendor demo")[0];
    assert_eq!(
        (
            cancelled["isCancelled"].clone(),
            cancelled["showAs"].clone()
        ),
        (json!(true), json!("free"))
    );
    let budget = by_subject(&tomorrow, "Q3 budget review")[0];
    assert_eq!(clock(&budget["start"]), "10:00");
    assert_eq!(budget["location"]["displayName"], "Conf Room Rainier");
    assert_eq!(budget["responseStatus"]["response"], "accepted");
    let offsite = by_subject(&tomorrow, "Offsite planning")[0];
    assert_eq!(offsite["showAs"], "tentative");
    assert_eq!(offsite["responseStatus"]["response"], "tentativelyAccepted");
    let northwind = by_subject(&tomorrow, "Northwind escalation call")[0];
    assert_eq!(northwind["isOrganizer"], true);
    assert!(northwind["attendees"].as_array().unwrap().iter().any(|a| {
        a["emailAddress"]
            == json!({ "name": "Northwind Traders", "address": "orders@northwind.example" })
    }));

    let hostile = by_subject(&tomorrow, HOSTILE_EVENT_SUBJECT)[0];
    assert!(hostile["subject"].as_str().unwrap().contains('\u{202e}'));
    let html = hostile["body"]["content"].as_str().unwrap();
    for hidden in HIDDEN_EVENT_TEXTS {
        assert!(html.contains(hidden), "{hidden}");
    }
    assert!(html.contains("display:none") && html.contains("font-size:0") && html.contains("<!--"));
    let path = format!(
        "/v1.0/me/events/{}",
        segment(hostile["id"].as_str().unwrap())
    );
    let text = get(
        &devstack,
        &path,
        Some(&token),
        &[("Prefer", "outlook.body-content-type=\"text\"")],
    )
    .await;
    let text = text.body["body"]["content"].as_str().unwrap();
    assert!(
        text.contains(HIDDEN_EVENT_TEXTS[0]),
        "Outlook's text keeps CSS-hidden text"
    );
    assert!(!text.contains(HIDDEN_EVENT_TEXTS[3]), "but drops comments");
}

#[tokio::test]
async fn a_created_event_answers_in_the_preferred_zone_and_joins_the_calendars() {
    let devstack = start();
    let body = json!({
        "subject": "Lunch with Alex",
        "body": { "contentType": "Text", "content": "Noon at the ramen place." },
        "start": { "dateTime": "2031-05-15T12:00:00", "timeZone": "Pacific Standard Time" },
        "end": { "dateTime": "2031-05-15T13:00:00", "timeZone": "Pacific Standard Time" },
        "location": { "displayName": "Ramen place" },
        "attendees": [{ "emailAddress": { "address": "alex@contoso.example", "name": "Alex Wilber" }, "type": "required" }],
        "transactionId": "7E163156-7762-4BEB-A1C6-729EA81755A7",
    })
    .to_string();
    let read = devstack.graph_token("adele", &["Calendars.Read"]);
    assert_error(
        &post(&devstack, "/v1.0/me/events", Some(&read), &[], &body).await,
        403,
        "ErrorAccessDenied",
    );
    let token = devstack.graph_token("adele", &["Calendars.ReadWrite"]);
    let eastern = ("Prefer", "outlook.timezone=\"America/New_York\"");
    let created = post(
        &devstack,
        "/v1.0/me/events",
        Some(&token),
        &[eastern],
        &body,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["start"],
        json!({ "dateTime": "2031-05-15T15:00:00.0000000", "timeZone": "America/New_York" })
    );
    assert_eq!(
        created.body["originalStartTimeZone"],
        "Pacific Standard Time"
    );
    assert_eq!(created.body["isOrganizer"], true);
    assert_eq!(created.body["body"]["contentType"], "html");
    let again = post(&devstack, "/v1.0/me/events", Some(&token), &[], &body).await;
    assert_eq!(
        again.body["id"], created.body["id"],
        "the same transactionId creates nothing new"
    );

    let recorded = devstack.created_events("adele");
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0]["start"]["dateTime"],
        "2031-05-15T19:00:00.0000000"
    );
    assert_eq!(
        recorded[0]["attendees"][0]["emailAddress"]["address"],
        "alex@contoso.example"
    );

    let at = parse_iso8601("2031-05-15T19:00:00Z").unwrap();
    let window = view_path(at - 3600, at + 3600);
    let mine = events(&get(&devstack, &window, Some(&token), &[]).await);
    assert_eq!(by_subject(&mine, "Lunch with Alex").len(), 1);
    let alex = devstack.graph_token("alex", &["Calendars.Read"]);
    let his = events(&get(&devstack, &window, Some(&alex), &[]).await);
    let invitation = by_subject(&his, "Lunch with Alex")[0];
    assert_eq!(invitation["showAs"], "tentative", "not answered yet");
    assert_eq!(invitation["responseStatus"]["response"], "none");

    for (bad, code) in [
        ("{not json".to_owned(), "UnableToDeserializePostBody"),
        (json!({ "subject": "x" }).to_string(), "ErrorInvalidRequest"),
        (
            json!({ "start": { "dateTime": "2031-05-15T12:00:00", "timeZone": "Mars/Olympus" },
                    "end": { "dateTime": "2031-05-15T13:00:00", "timeZone": "UTC" } })
            .to_string(),
            "TimeZoneNotSupportedException",
        ),
        (
            json!({ "start": { "dateTime": "2031-05-15T12:00:00", "timeZone": "UTC" },
                    "end": { "dateTime": "2031-05-15T11:00:00", "timeZone": "UTC" } })
            .to_string(),
            "ErrorInvalidRequest",
        ),
        (
            json!({ "start": { "dateTime": "noon", "timeZone": "UTC" },
                    "end": { "dateTime": "2031-05-15T11:00:00", "timeZone": "UTC" } })
            .to_string(),
            "ErrorInvalidParameter",
        ),
    ] {
        let reply = post(&devstack, "/v1.0/me/events", Some(&token), &[], &bad).await;
        assert_error(&reply, 400, code);
    }
    assert_eq!(devstack.created_events("adele").len(), 1);
}

/// A findMeetingTimes body for a window of Adele's tomorrow, Pacific wall-clock times.
fn find_body(attendees: &[&str], from: &str, to: &str, extra: Value) -> String {
    let mut body = json!({
        "attendees": attendees.iter().map(|a| json!({ "type": "required", "emailAddress": { "address": a } })).collect::<Vec<_>>(),
        "timeConstraint": {
            "activityDomain": "unrestricted",
            "timeSlots": [{
                "start": { "dateTime": from, "timeZone": "Pacific Standard Time" },
                "end": { "dateTime": to, "timeZone": "Pacific Standard Time" },
            }],
        },
        "meetingDuration": "PT30M",
        "returnSuggestionReasons": true,
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body.to_string()
}

/// `HH:MM` wall-clock on Adele's tomorrow, as a `dateTime`.
fn tomorrow_at(devstack: &Devstack, time: &str) -> String {
    let (from, _) = local_day(devstack, "adele", 1);
    let pacific = super::super::time_zone::find("Pacific Standard Time").unwrap();
    let date = &iso8601(pacific.to_local(from))[..10];
    format!("{date}T{time}:00")
}

async fn find(devstack: &Devstack, user: &str, body: &str) -> Reply {
    let token = devstack.graph_token(user, &["Calendars.Read.Shared"]);
    post(
        devstack,
        "/v1.0/me/findMeetingTimes",
        Some(&token),
        &[PACIFIC],
        body,
    )
    .await
}

#[tokio::test]
async fn find_meeting_times_suggests_the_free_half_hours() {
    let devstack = start();
    let at = |time| tomorrow_at(&devstack, time);
    let body = find_body(
        &["alex@contoso.example"],
        &at("15:30"),
        &at("17:00"),
        json!({}),
    );
    let plain = devstack.graph_token("adele", &["Calendars.Read"]);
    assert_error(
        &post(
            &devstack,
            "/v1.0/me/findMeetingTimes",
            Some(&plain),
            &[],
            &body,
        )
        .await,
        403,
        "ErrorAccessDenied",
    );
    let found = find(&devstack, "adele", &body).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["emptySuggestionsReason"], "");
    assert!(
        found.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#microsoft.graph.meetingTimeSuggestionsResult")
    );
    assert_eq!(
        found.headers["preference-applied"],
        "outlook.timezone=\"Pacific Standard Time\""
    );
    let suggestions = found.body["meetingTimeSuggestions"].as_array().unwrap();
    let slots: Vec<(&str, &str)> = suggestions
        .iter()
        .map(|s| {
            (
                clock(&s["meetingTimeSlot"]["start"]),
                clock(&s["meetingTimeSlot"]["end"]),
            )
        })
        .collect();
    // 15:30 is the offsite, which Alex accepted (busy); Adele is only tentative.
    assert_eq!(slots, [("16:00", "16:30"), ("16:30", "17:00")]);
    let first = &suggestions[0];
    assert_eq!(first["confidence"], 100.0);
    assert_eq!(first["order"], 1);
    assert_eq!(first["organizerAvailability"], "free");
    assert_eq!(first["attendeeAvailability"][0]["availability"], "free");
    assert_eq!(
        first["attendeeAvailability"][0]["attendee"]["emailAddress"]["address"],
        "alex@contoso.example"
    );
    assert_eq!(
        first["meetingTimeSlot"]["start"]["timeZone"],
        "Pacific Standard Time"
    );
    assert!(
        first["suggestionReason"]
            .as_str()
            .unwrap()
            .contains("all attendees are available")
    );

    // Ordered by confidence, then time; an outsider is "unknown" (49).
    let mixed = find_body(
        &["alex@contoso.example", "someone@fabrikam.example"],
        &at("15:00"),
        &at("17:00"),
        json!({ "maxCandidates": "1", "minimumAttendeePercentage": 0 }),
    );
    let mixed = find(&devstack, "adele", &mixed).await;
    let suggestions = mixed.body["meetingTimeSuggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 1, "maxCandidates");
    assert_eq!(suggestions[0]["confidence"], 74.5);
    assert_eq!(
        suggestions[0]["attendeeAvailability"][1]["availability"],
        "unknown"
    );
}

#[tokio::test]
async fn find_meeting_times_stays_in_working_hours() {
    let devstack = start();
    // The next weekday after tomorrow, 06:00–19:00 Pacific, work hours only.
    let mut offset = 2;
    let (day, _) = loop {
        let (from, to) = local_day(&devstack, "adele", offset);
        let pacific = super::super::time_zone::find("Pacific Standard Time").unwrap();
        if (1..=5).contains(&weekday(pacific.to_local(from).div_euclid(86_400))) {
            break (from, to);
        }
        offset += 1;
    };
    let pacific = super::super::time_zone::find("Pacific Standard Time").unwrap();
    let date = &iso8601(pacific.to_local(day))[..10];
    let mut body: Value = serde_json::from_str(&find_body(
        &["isaiah@contoso.example"],
        &format!("{date}T06:00:00"),
        &format!("{date}T19:00:00"),
        json!({ "meetingDuration": "PT1H" }),
    ))
    .unwrap();
    body["timeConstraint"]["activityDomain"] = json!("work");
    let found = find(&devstack, "adele", &body.to_string()).await;
    let suggestions = found.body["meetingTimeSuggestions"].as_array().unwrap();
    assert!(!suggestions.is_empty(), "{}", found.body);
    for suggestion in suggestions {
        let (start, end) = (
            clock(&suggestion["meetingTimeSlot"]["start"]).to_owned(),
            clock(&suggestion["meetingTimeSlot"]["end"]).to_owned(),
        );
        assert!(
            start.as_str() >= "08:00" && end.as_str() <= "17:00",
            "{start}–{end}"
        );
    }
    let orders: Vec<i64> = suggestions
        .iter()
        .map(|s| s["order"].as_i64().unwrap())
        .collect();
    assert_eq!(orders, (1..=suggestions.len() as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn find_meeting_times_says_why_there_is_nothing() {
    let devstack = start();
    let at = |time| tomorrow_at(&devstack, time);
    let reason = |reply: &Reply| {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["meetingTimeSuggestions"], json!([]));
        reply.body["emptySuggestionsReason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Adele is in the budget review 10:00–10:30.
    let busy = find_body(
        &["alex@contoso.example"],
        &at("10:00"),
        &at("10:30"),
        json!({}),
    );
    assert_eq!(
        reason(&find(&devstack, "adele", &busy).await),
        "organizerUnavailable"
    );
    // So is Megan; with the organizer optional, the attendees are the problem.
    let megan = find_body(
        &["megan@contoso.example"],
        &at("10:00"),
        &at("10:30"),
        json!({ "isOrganizerOptional": true }),
    );
    assert_eq!(
        reason(&find(&devstack, "adele", &megan).await),
        "attendeesUnavailable"
    );
    // Someone outside the tenant has unknown free/busy: 49 % is below 100 %.
    let outsider = find_body(
        &["alex@contoso.example", "someone@fabrikam.example"],
        &at("16:00"),
        &at("17:00"),
        json!({ "minimumAttendeePercentage": 100 }),
    );
    assert_eq!(
        reason(&find(&devstack, "adele", &outsider).await),
        "attendeesUnavailableOrUnknown"
    );
    // Conf Room Rainier hosts the budget review.
    let room = find_body(
        &[],
        &at("10:00"),
        &at("10:30"),
        json!({ "isOrganizerOptional": true, "locationConstraint": {
            "isRequired": true, "suggestLocation": false,
            "locations": [{ "displayName": "Conf Room Rainier", "locationEmailAddress": "rainier@contoso.example", "resolveAvailability": true }],
        } }),
    );
    assert_eq!(
        reason(&find(&devstack, "alex", &room).await),
        "locationsUnavailable"
    );
    // Twenty minutes cannot hold a half-hour meeting.
    let short = find_body(
        &["alex@contoso.example"],
        &at("16:00"),
        &at("16:20"),
        json!({}),
    );
    assert_eq!(reason(&find(&devstack, "adele", &short).await), "unknown");
}

#[tokio::test]
async fn find_meeting_times_validates_its_body_as_graph_does() {
    let devstack = start();
    let at = |time| tomorrow_at(&devstack, time);
    for (body, code) in [
        (
            find_body(
                &[],
                &at("16:00"),
                &at("17:00"),
                json!({ "meetingDuration": "InvalidTimeFormat" }),
            ),
            "RequestBodyRead",
        ),
        (
            find_body(&[], &at("17:00"), &at("16:00"), json!({})),
            "ErrorInvalidParameter",
        ),
        (
            find_body(
                &[],
                &at("16:00"),
                &at("17:00"),
                json!({ "minimumAttendeePercentage": 150 }),
            ),
            "ErrorInvalidParameter",
        ),
        (
            find_body(
                &[],
                &at("16:00"),
                &at("17:00"),
                json!({ "timeConstraint": { "activityDomain": "siesta" } }),
            ),
            "RequestBodyRead",
        ),
        ("[1, 2".to_owned(), "UnableToDeserializePostBody"),
    ] {
        assert_error(&find(&devstack, "adele", &body).await, 400, code);
    }
    let mut zone: Value =
        serde_json::from_str(&find_body(&[], &at("16:00"), &at("17:00"), json!({}))).unwrap();
    zone["timeConstraint"]["timeSlots"][0]["start"]["timeZone"] = json!("Mars/Olympus");
    assert_error(
        &find(&devstack, "adele", &zone.to_string()).await,
        400,
        "TimeZoneNotSupportedException",
    );
}
