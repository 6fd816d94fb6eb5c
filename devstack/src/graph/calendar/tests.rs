use super::*;
use crate::{
    datetime::{SECONDS_PER_DAY, weekday},
    sample::{EUROPE_WEEKLY_SERIES, PACIFIC_WEEKLY_SERIES, TOMORROW_MEETINGS},
    tenant::{self, USERS},
};

/// A Wednesday evening in June, Pacific time.
const NOW: i64 = 1_750_276_800; // 2025-06-18T20:00:00Z

#[test]
fn every_calendar_has_a_week_of_meetings_and_copies_share_their_meeting() {
    let calendars = Calendars::new(sample_meetings(NOW));
    for user in USERS {
        let meetings = calendars.of(user);
        let week = Calendars::view(
            &meetings,
            NOW - 3 * SECONDS_PER_DAY,
            NOW + 3 * SECONDS_PER_DAY,
        );
        assert!(week.len() >= 8, "{}: {}", user.key, week.len());
        assert!(week.windows(2).all(|pair| pair[0].start <= pair[1].start));
        assert!(week.iter().any(|i| i.meeting.subject == "Focus time"));
        assert!(week.iter().all(|i| i.end > i.start));
    }
    // Adele's stand-up is Miriam's: the same meeting in both calendars, with two ids.
    let adele = tenant::user("adele").unwrap();
    let miriam = tenant::user("miriam").unwrap();
    let standup = |user| {
        calendars
            .of(user)
            .into_iter()
            .find(|m| {
                m.subject == "Daily stand-up" && m.organizer.address == miriam.user_principal_name
            })
            .unwrap()
    };
    let (hers, organizers) = (standup(adele), standup(miriam));
    assert_eq!(hers.key, organizers.key);
    assert_ne!(hers.instance().id(adele), organizers.instance().id(miriam));
    // Lidia declined the EMEA sync: it is not in her calendar.
    let lidia = tenant::user("lidia").unwrap();
    assert!(
        !calendars
            .of(lidia)
            .iter()
            .any(|m| m.subject == EUROPE_WEEKLY_SERIES)
    );
}

#[test]
fn adeles_tomorrow_is_the_scenario_in_her_zone() {
    let calendars = Calendars::new(sample_meetings(NOW));
    let adele = tenant::user("adele").unwrap();
    let pacific = time_zone::find(adele.mailbox_time_zone).unwrap();
    let tomorrow = pacific.to_local(NOW).div_euclid(SECONDS_PER_DAY) + 1;
    let from = pacific.to_utc(tomorrow * SECONDS_PER_DAY);
    let meetings = calendars.of(adele);
    let subjects: Vec<&str> = Calendars::view(&meetings, from, from + SECONDS_PER_DAY)
        .iter()
        .map(|i| i.meeting.subject.as_str())
        .collect();
    for subject in TOMORROW_MEETINGS {
        assert!(subjects.contains(subject), "{subject} in {subjects:?}");
    }
    // Thursday: the stand-up too.
    assert_eq!(weekday(tomorrow), 4);
    assert!(subjects.contains(&"Daily stand-up"));
}

#[test]
fn the_long_series_cross_both_daylight_saving_changes() {
    let calendars = Calendars::new(sample_meetings(NOW));
    let adele = tenant::user("adele").unwrap();
    let meetings = calendars.of(adele);
    for (subject, zone) in [
        (PACIFIC_WEEKLY_SERIES, "Pacific Standard Time"),
        (EUROPE_WEEKLY_SERIES, "W. Europe Standard Time"),
    ] {
        let series = meetings.iter().find(|m| m.subject == subject).unwrap();
        let zone = time_zone::find(zone).unwrap();
        let occurrences =
            series.occurrences(NOW - 220 * SECONDS_PER_DAY, NOW + 220 * SECONDS_PER_DAY);
        let offsets: std::collections::BTreeSet<i64> = occurrences
            .iter()
            .map(|o| zone.offset_at(o.start))
            .collect();
        assert_eq!(offsets.len(), 2, "{subject}: standard and daylight time");
        let local_times: std::collections::BTreeSet<i64> = occurrences
            .iter()
            .map(|o| zone.to_local(o.start).rem_euclid(SECONDS_PER_DAY))
            .collect();
        assert_eq!(local_times.len(), 1, "{subject}: one wall-clock time");
        // Winter before summer before winter: both changes are inside.
        let first = zone.offset_at(occurrences[0].start);
        let last = zone.offset_at(occurrences.last().unwrap().start);
        assert_eq!(first, last);
    }
}
