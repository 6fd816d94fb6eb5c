//! The question a user of `cargo run` can ask an MCP client: "what is on my calendar tomorrow,
//! who is in those meetings, and what did they last mail me", answered from the sample tenant
//! with the tools a model would chain.

use devstack::sample;
use jiff::{Timestamp, tz::TimeZone};
use serde_json::json;

use super::*;

#[tokio::test]
async fn tomorrows_meetings_their_people_and_what_they_last_mailed() {
    let server = server();
    // The profile says which clock "tomorrow" is on.
    let profile = call_as(&server, "adele", "get_my_profile", json!({})).await;
    assert_eq!(structured(&profile)["timeZone"], "Pacific Standard Time");
    let now = Timestamp::try_from(server.devstack.graph_sample_time()).unwrap();
    let tomorrow = now
        .to_zoned_datetime(TimeZone::get("America/Los_Angeles").unwrap())
        .date()
        .tomorrow()
        .unwrap()
        .to_string();

    let events = call_as(
        &server,
        "adele",
        "list_events",
        json!({ "start": tomorrow, "end": tomorrow }),
    )
    .await;
    let events = structured(&events)["events"].as_array().unwrap().clone();
    for meeting in sample::TOMORROW_MEETINGS {
        assert!(
            events.iter().any(
                |event| string(event, "subject").starts_with(&meeting[..12.min(meeting.len())])
            ),
            "{meeting} is on tomorrow's calendar"
        );
    }
    let mut people: Vec<String> = events
        .iter()
        .flat_map(|event| {
            event["attendees"]
                .as_array()
                .unwrap()
                .iter()
                .chain(event.get("organizer"))
                .filter_map(|person| person["address"].as_str().map(str::to_lowercase))
                .collect::<Vec<_>>()
        })
        .filter(|address| address != "adele@contoso.example")
        .collect();
    people.sort();
    people.dedup();
    for sender in sample::SCENARIO_MAIL_SENDERS {
        assert!(
            people.contains(&sender.to_string()),
            "{sender} is in a meeting"
        );
        let mail = call_as(
            &server,
            "adele",
            "search_mail",
            json!({ "from": sender, "max_results": 1 }),
        )
        .await;
        let latest = &structured(&mail)["messages"][0];
        assert_eq!(latest["from"]["address"], *sender, "{sender}: {latest:#}");
        assert!(latest["preview"].is_string());
    }
}
