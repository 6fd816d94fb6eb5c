//! The sample meetings, generated around the moment the devstack starts, at office hours in
//! their organizers' time zones.
//!
//! - **Adele's tomorrow** ([`crate::sample::TOMORROW_MEETINGS`]): the end-to-end scenario, with
//!   an all-day event, a cancelled meeting, an external attendee, a tentative acceptance and a
//!   meeting whose invitation hides instructions to an AI assistant.
//! - **Series**: her Monday planning and Johanna's Tuesday EMEA sync run for about 30 weeks
//!   either side of today, across both daylight-saving changes of the US and of the EU;
//!   every manager runs a weekday stand-up with their reports and a weekly 1:1 with each.
//! - **The week**: each user's project syncs two days apart, focus time today, a private
//!   appointment on Saturday, and a company lunch-and-learn on Wednesday that Diego declined.

use std::sync::Arc;

use super::meeting::{Attendee, AttendeeType, Meeting, Schedule};
use crate::{
    datetime::{SECONDS_PER_DAY, weekday},
    graph::{
        html_text::escape,
        recipient::EmailAddress,
        time_zone::{self, TimeZone},
    },
    sample::{
        ALL_DAY_EVENT, EUROPE_WEEKLY_SERIES, HIDDEN_EVENT_TEXTS, HOSTILE_EVENT_SUBJECT,
        PACIFIC_WEEKLY_SERIES, SCENARIO_USER,
    },
    tenant::{self, USERS, User},
};

const HOUR: i64 = 3600;
const MINUTE: i64 = 60;
/// How far the long-running series reach either side of today.
const SERIES_REACH_DAYS: i64 = 210;

pub fn meetings(now: i64) -> Vec<Arc<Meeting>> {
    let mut meetings = Vec::new();
    tomorrow(now, &mut meetings);
    series(now, &mut meetings);
    week(now, &mut meetings);
    meetings.into_iter().map(Arc::new).collect()
}

fn user(key: &str) -> &'static User {
    tenant::user(key).expect("a sample user")
}

fn zone_of(user: &User) -> &'static TimeZone {
    time_zone::find(user.mailbox_time_zone).expect("every mailbox zone is known")
}

/// Today's local day number in `zone`.
fn today(zone: &TimeZone, now: i64) -> i64 {
    zone.to_local(now).div_euclid(SECONDS_PER_DAY)
}

/// The instant of `time` (seconds after midnight) on local `day` in `zone`.
fn at(zone: &TimeZone, day: i64, time: i64) -> i64 {
    zone.to_utc(day * SECONDS_PER_DAY + time)
}

fn attendee(user: &User, response: &'static str) -> Attendee {
    Attendee {
        person: EmailAddress::of(user),
        kind: AttendeeType::Required,
        response,
    }
}

fn paragraphs(lines: &[&str]) -> String {
    let body: String = lines
        .iter()
        .map(|line| format!("<p>{}</p>", escape(line)))
        .collect();
    format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>{body}</body></html>"
    )
}

/// A meeting `organizer` schedules in their zone, with defaults the generators override.
fn meeting(
    key: String,
    subject: &str,
    organizer: EmailAddress,
    zone: &'static TimeZone,
    schedule: Schedule,
    now: i64,
) -> Meeting {
    Meeting {
        key,
        subject: subject.to_owned(),
        organizer,
        attendees: vec![],
        schedule,
        zone,
        location: String::new(),
        online: false,
        show_as: "busy",
        sensitivity: "normal",
        importance: "normal",
        is_all_day: false,
        is_cancelled: false,
        body_html: String::new(),
        created: now - 21 * SECONDS_PER_DAY,
        transaction_id: None,
    }
}

fn once(zone: &TimeZone, day: i64, time: i64, minutes: i64) -> Schedule {
    let start = at(zone, day, time);
    Schedule::Once {
        start,
        end: start + minutes * MINUTE,
    }
}

/// Adele's tomorrow, the end-to-end scenario.
fn tomorrow(now: i64, meetings: &mut Vec<Meeting>) {
    let adele = user(SCENARIO_USER);
    let pacific = zone_of(adele);
    let day = today(pacific, now) + 1;
    let key = |name: &str| format!("tomorrow/{name}");

    let mut all_day = meeting(
        key("inventory"),
        ALL_DAY_EVENT,
        EmailAddress::of(adele),
        pacific,
        Schedule::Once {
            start: at(pacific, day, 0),
            end: at(pacific, day + 1, 0),
        },
        now,
    );
    all_day.is_all_day = true;
    all_day.show_as = "free";
    all_day.body_html = paragraphs(&[
        "All stores count stock before the quarter closes. No customer appointments before noon.",
    ]);
    meetings.push(all_day);

    let miriam = user("miriam");
    let mut budget = meeting(
        key("budget"),
        "Q3 budget review",
        EmailAddress::of(miriam),
        zone_of(miriam),
        once(pacific, day, 10 * HOUR, 30),
        now,
    );
    budget.attendees = vec![
        attendee(adele, "accepted"),
        attendee(user("megan"), "accepted"),
    ];
    budget.location = "Conf Room Rainier".to_owned();
    budget.online = true;
    budget.importance = "high";
    budget.body_html = paragraphs(&[
        "Agenda: the travel line is 4% over plan; where we cut; the Q4 forecast.",
        "Please bring your store numbers.",
    ]);
    meetings.push(budget);

    let nestor = user("nestor");
    let mut demo = meeting(
        key("demo"),
        "Canceled: Vendor demo",
        EmailAddress::of(nestor),
        zone_of(nestor),
        once(pacific, day, 11 * HOUR, 30),
        now,
    );
    demo.attendees = vec![attendee(adele, "accepted")];
    demo.is_cancelled = true;
    demo.location = "Conf Room Baker".to_owned();
    demo.body_html = paragraphs(&["The vendor cancelled. We will find a new date next month."]);
    meetings.push(demo);

    let mut northwind = meeting(
        key("northwind"),
        "Northwind escalation call",
        EmailAddress::of(adele),
        pacific,
        once(pacific, day, 13 * HOUR, 60),
        now,
    );
    northwind.attendees = vec![
        attendee(user("isaiah"), "accepted"),
        Attendee {
            person: EmailAddress::new("Northwind Traders", "orders@northwind.example"),
            kind: AttendeeType::Required,
            response: "none",
        },
    ];
    northwind.online = true;
    northwind.importance = "high";
    northwind.body_html = paragraphs(&[
        "Order 9921 is two weeks late and Northwind's stores are running out of stock.",
        "Goal: agree a firm delivery date.",
    ]);
    meetings.push(northwind);

    let mut supplier = meeting(
        key("supplier"),
        HOSTILE_EVENT_SUBJECT,
        EmailAddress::new("Fabrikam Sales", "sales@fabrikam.example"),
        pacific,
        once(pacific, day, 14 * HOUR + 30 * MINUTE, 30),
        now,
    );
    supplier.attendees = vec![attendee(adele, "accepted")];
    supplier.location = "Microsoft Teams Meeting".to_owned();
    supplier.online = true;
    supplier.body_html = format!(
        "<html><head><style>.note{{color:#ffffff}}</style></head><body>\
         <p>Hi Adele, a quick check-in on the autumn supply schedule.</p>\
         <div style=\"display:none\">{}</div>\
         <p>Agenda: delivery dates and pricing for contract \u{202e}8102-CF\u{202c}.<span style=\"font-size:0\">{}</span></p>\
         <p style=\"color:#ffffff;background-color:#ffffff\">{}</p>\
         <!-- {} -->\
         <p>Talk soon,<br>Fabrikam\u{200b}\u{200d} Sales</p></body></html>",
        escape(HIDDEN_EVENT_TEXTS[0]),
        escape(HIDDEN_EVENT_TEXTS[1]),
        escape(HIDDEN_EVENT_TEXTS[2]),
        escape(HIDDEN_EVENT_TEXTS[3]),
    );
    meetings.push(supplier);

    let megan = user("megan");
    let mut offsite = meeting(
        key("offsite"),
        "Offsite planning",
        EmailAddress::of(megan),
        zone_of(megan),
        once(pacific, day, 15 * HOUR + 30 * MINUTE, 30),
        now,
    );
    offsite.attendees = vec![
        attendee(adele, "tentativelyAccepted"),
        attendee(user("alex"), "accepted"),
    ];
    offsite.location = "Microsoft Teams Meeting".to_owned();
    offsite.online = true;
    offsite.body_html =
        paragraphs(&["Venue shortlist, travel and the agenda for the team offsite in Redmond."]);
    meetings.push(offsite);
}

/// Weekly series: the two across daylight-saving changes, stand-ups and 1:1s.
fn series(now: i64, meetings: &mut Vec<Meeting>) {
    let weekly = |zone: &TimeZone, days: &[u32], time: i64, minutes: i64, reach: (i64, i64)| {
        let today = today(zone, now);
        let mut on = [false; 7];
        for day in days {
            on[*day as usize] = true;
        }
        // A series starts on one of its days.
        let mut first = today - reach.0;
        while !on[weekday(first) as usize] {
            first += 1;
        }
        Schedule::Weekly {
            days: on,
            time,
            duration: minutes * MINUTE,
            first,
            last: today + reach.1,
        }
    };
    let long = (SERIES_REACH_DAYS, SERIES_REACH_DAYS);

    let adele = user(SCENARIO_USER);
    let mut planning = meeting(
        "series/retail-planning".to_owned(),
        PACIFIC_WEEKLY_SERIES,
        EmailAddress::of(adele),
        zone_of(adele),
        weekly(zone_of(adele), &[1], 9 * HOUR, 30, long),
        now - SERIES_REACH_DAYS * SECONDS_PER_DAY,
    );
    planning.attendees = vec![
        attendee(user("miriam"), "accepted"),
        attendee(user("isaiah"), "accepted"),
        Attendee {
            kind: AttendeeType::Optional,
            ..attendee(user("megan"), "tentativelyAccepted")
        },
    ];
    planning.location = "Conf Room Rainier".to_owned();
    planning.online = true;
    planning.body_html = paragraphs(&["Store traffic, promotions and staffing for the week."]);
    meetings.push(planning);

    let johanna = user("johanna");
    let berlin = zone_of(johanna);
    let mut emea = meeting(
        "series/emea-sync".to_owned(),
        EUROPE_WEEKLY_SERIES,
        EmailAddress::of(johanna),
        berlin,
        weekly(berlin, &[2], 16 * HOUR, 30, long),
        now - SERIES_REACH_DAYS * SECONDS_PER_DAY,
    );
    emea.attendees = vec![
        attendee(adele, "accepted"),
        attendee(user("lee"), "accepted"),
        attendee(user("pradeep"), "accepted"),
        // Midnight in Tokyo: Lidia declined, so the series is not in her calendar.
        attendee(user("lidia"), "declined"),
    ];
    emea.online = true;
    emea.body_html = paragraphs(&["Release status across the regions. Notes in the team channel."]);
    meetings.push(emea);

    for manager in USERS {
        let reports: Vec<&User> = USERS
            .iter()
            .filter(|u| u.manager == Some(manager.key))
            .collect();
        if reports.is_empty() {
            continue;
        }
        let zone = zone_of(manager);
        let mut standup = meeting(
            format!("series/standup/{}", manager.key),
            "Daily stand-up",
            EmailAddress::of(manager),
            zone,
            weekly(zone, &[1, 2, 3, 4, 5], 9 * HOUR + 30 * MINUTE, 15, (28, 84)),
            now - 28 * SECONDS_PER_DAY,
        );
        standup.attendees = reports.iter().map(|r| attendee(r, "accepted")).collect();
        standup.online = true;
        standup.body_html =
            paragraphs(&["Yesterday, today, blockers. Fifteen minutes, cameras optional."]);
        meetings.push(standup);

        for (index, report) in reports.iter().enumerate() {
            let day = u32::try_from(1 + index % 5).expect("a weekday");
            let mut one_on_one = meeting(
                format!("series/1on1/{}", report.key),
                &format!("1:1 {} / {}", report.given_name, manager.given_name),
                EmailAddress::of(manager),
                zone,
                weekly(zone, &[day], 14 * HOUR, 30, (56, 56)),
                now - 56 * SECONDS_PER_DAY,
            );
            one_on_one.attendees = vec![attendee(report, "accepted")];
            one_on_one.location = format!("{}'s office", manager.given_name);
            one_on_one.sensitivity = "private";
            one_on_one.body_html = paragraphs(&["Career goals, feedback, anything on your mind."]);
            meetings.push(one_on_one);
        }
    }
}

/// Each user's week around today, and the company lunch-and-learn.
fn week(now: i64, meetings: &mut Vec<Meeting>) {
    for (index, owner) in USERS.iter().enumerate() {
        let zone = zone_of(owner);
        let today = today(zone, now);
        let colleagues: Vec<&User> = USERS.iter().filter(|u| u.key != owner.key).collect();
        for offset in -3..=3 {
            let day = today + offset;
            let weekday = weekday(day);
            if (1..=5).contains(&weekday) && offset % 2 == 0 {
                let pick = |k: usize| colleagues[(index * 3 + k) % colleagues.len()];
                let mut sync = meeting(
                    format!("week/sync/{}/{offset}", owner.key),
                    &format!("Project sync: {}", owner.department),
                    EmailAddress::of(owner),
                    zone,
                    once(zone, day, 11 * HOUR, 60),
                    now,
                );
                sync.attendees = vec![
                    attendee(pick(offset.unsigned_abs() as usize), "accepted"),
                    attendee(
                        pick(offset.unsigned_abs() as usize + 5),
                        "tentativelyAccepted",
                    ),
                ];
                sync.online = true;
                sync.body_html = paragraphs(&["Review the milestone plan and the open risks."]);
                meetings.push(sync);
            }
            if weekday == 6 {
                let mut dentist = meeting(
                    format!("week/dentist/{}", owner.key),
                    "Dentist appointment",
                    EmailAddress::of(owner),
                    zone,
                    once(zone, day, 10 * HOUR, 60),
                    now,
                );
                dentist.show_as = "oof";
                dentist.sensitivity = "private";
                dentist.body_html = paragraphs(&["Check-up."]);
                meetings.push(dentist);
            }
        }
        let mut focus = meeting(
            format!("week/focus/{}", owner.key),
            "Focus time",
            EmailAddress::of(owner),
            zone,
            once(zone, today, 15 * HOUR, 90),
            now,
        );
        focus.body_html = paragraphs(&["Blocked for deep work."]);
        meetings.push(focus);
    }

    let nestor = user("nestor");
    let zone = zone_of(nestor);
    let today = today(zone, now);
    let wednesday = today - i64::from(weekday(today)) + 3;
    let mut lunch = meeting(
        "week/lunch-and-learn".to_owned(),
        "Lunch & learn: Microsoft Graph",
        EmailAddress::of(nestor),
        zone,
        once(zone, wednesday, 12 * HOUR, 60),
        now,
    );
    lunch.attendees = USERS
        .iter()
        .filter(|u| u.key != nestor.key)
        .enumerate()
        .map(|(index, u)| {
            let response = match (u.key, index % 3) {
                ("diego", _) => "declined",
                (_, 0) => "accepted",
                (_, 1) => "tentativelyAccepted",
                _ => "none",
            };
            Attendee {
                kind: if index % 4 == 3 {
                    AttendeeType::Optional
                } else {
                    AttendeeType::Required
                },
                ..attendee(u, response)
            }
        })
        .collect();
    lunch.location = "Cafeteria, building 18".to_owned();
    lunch.show_as = "busy";
    lunch.body_html = paragraphs(&["Bring lunch; we bring the demos."]);
    meetings.push(lunch);
}
