//! Dates and times are the user's: outputs carry the mailbox's zone and the UTC offset in force
//! (right across a daylight-saving change), inputs without an offset are read on the user's
//! clock, Graph is asked to answer in the mailbox's zone, and a user whose mailbox names its
//! zone the IANA way or lives at +05:30 gets their own clock too.

use devstack::sample;
use serde_json::{Value, json};

use super::*;

/// The events with `subject` in `user`'s calendar between `start` and `end` (inputs as given).
async fn events_named(
    server: &TestServer,
    user: &str,
    subject: &str,
    start: &str,
    end: &str,
) -> Vec<Value> {
    let body = call_as(
        server,
        user,
        "list_events",
        json!({ "start": start, "end": end, "max_results": 100 }),
    )
    .await;
    structured(&body)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["subject"] == subject)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_weekly_meeting_keeps_its_local_time_across_the_us_daylight_saving_change() {
    let server = server();
    // Mondays 09:00 Pacific: 26 October 2026 is daylight time, 2 November standard time.
    let before = events_named(
        &server,
        "adele",
        sample::PACIFIC_WEEKLY_SERIES,
        "2026-10-26",
        "2026-10-26",
    )
    .await;
    let after = events_named(
        &server,
        "adele",
        sample::PACIFIC_WEEKLY_SERIES,
        "2026-11-02",
        "2026-11-02",
    )
    .await;
    assert_eq!(before.len(), 1, "{before:#?}");
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(before[0]["start"], "2026-10-26T09:00:00-07:00");
    assert_eq!(after[0]["start"], "2026-11-02T09:00:00-08:00");
    assert_eq!(before[0]["recurring"], true);
}

#[tokio::test]
async fn a_meeting_set_in_berlin_moves_on_a_pacific_clock_when_only_one_side_changed() {
    let server = server();
    // Tuesdays 16:00 Berlin. On 27 October 2026 Europe is back on standard time and the US is
    // not yet: 16:00 CET is 15:00 UTC, 08:00 PDT. A week later both are: 07:00 PST.
    let one_side = events_named(
        &server,
        "adele",
        sample::EUROPE_WEEKLY_SERIES,
        "2026-10-27",
        "2026-10-27",
    )
    .await;
    let both = events_named(
        &server,
        "adele",
        sample::EUROPE_WEEKLY_SERIES,
        "2026-11-03",
        "2026-11-03",
    )
    .await;
    assert_eq!(one_side[0]["start"], "2026-10-27T08:00:00-07:00");
    assert_eq!(both[0]["start"], "2026-11-03T07:00:00-08:00");
    // Johanna sees her own clock.
    let hers = events_named(
        &server,
        "johanna",
        sample::EUROPE_WEEKLY_SERIES,
        "2026-10-27",
        "2026-10-27",
    )
    .await;
    assert_eq!(hers[0]["start"], "2026-10-27T16:00:00+01:00");
}

#[tokio::test]
async fn a_time_without_offset_is_read_on_the_users_clock_and_graph_is_asked_in_utc() {
    let server = server();
    server.devstack.clear_requests();
    let events = events_named(
        &server,
        "adele",
        sample::PACIFIC_WEEKLY_SERIES,
        "2026-11-02T08:00",
        "2026-11-02T10:00",
    )
    .await;
    assert_eq!(events.len(), 1);
    let view = graph_requests(&server)
        .into_iter()
        .find(|request| request.path == "/v1.0/me/calendarView")
        .unwrap();
    let query = view.query.clone().unwrap();
    assert!(
        query.contains("startDateTime=2026-11-02T16%3A00%3A00Z"),
        "08:00 Pacific standard time is 16:00 UTC: {query}"
    );
    assert!(
        query.contains("endDateTime=2026-11-02T18%3A00%3A00Z"),
        "{query}"
    );
    assert_eq!(
        view.header("prefer"),
        Some("outlook.timezone=\"Pacific Standard Time\""),
        "Graph answers on the mailbox's clock"
    );
    // The same wall clock with an explicit offset is that exact instant instead.
    let explicit = events_named(
        &server,
        "adele",
        sample::PACIFIC_WEEKLY_SERIES,
        "2026-11-02T08:00:00-05:00",
        "2026-11-02T10:00:00-05:00",
    )
    .await;
    assert!(
        explicit.is_empty(),
        "08:00-10:00 Eastern is 05:00-07:00 Pacific"
    );
}

#[tokio::test]
async fn users_in_other_zones_see_their_own_clock() {
    let server = server();
    // Megan's mailbox names its zone the IANA way; Pradeep is at +05:30.
    for (user, offset) in [("megan", "-05:00"), ("pradeep", "+05:30")] {
        let body = call_as(&server, user, "list_events", json!({ "max_results": 100 })).await;
        let output = structured(&body);
        let events = output["events"].as_array().unwrap();
        assert!(!events.is_empty(), "{user}");
        for event in events.iter().filter(|event| event["all_day"] == false) {
            assert!(
                string(event, "start").ends_with(offset),
                "{user}: {event:#}"
            );
        }
        assert!(string(output, "start").ends_with(offset), "{output:#}");
    }
    let megan = call_as(&server, "megan", "list_events", json!({})).await;
    assert_eq!(structured(&megan)["time_zone"], "America/New_York");
}

#[tokio::test]
async fn a_bad_time_names_the_argument_and_the_window_limit_is_62_days() {
    let server = server();
    for (arguments, says) in [
        (json!({ "start": "tomorrow" }), "start"),
        (json!({ "start": "2026-12-01", "end": "2026-11-01" }), "end"),
        (json!({ "start": "2026-01-01", "end": "2026-06-01" }), "62"),
    ] {
        server.devstack.clear_requests();
        let body = call_as(&server, "adele", "list_events", arguments.clone()).await;
        let error = tool_error(&body);
        assert!(error.contains(says), "{arguments}: {error}");
        assert!(
            !graph_requests(&server)
                .iter()
                .any(|request| request.path == "/v1.0/me/calendarView"),
            "{arguments}"
        );
    }
}
