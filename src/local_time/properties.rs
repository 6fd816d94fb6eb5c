//! Properties that hold for any instant in any zone: what this module writes, it reads back.
//!
//! The zones are chosen for their awkward rules: half- and quarter-hour offsets, a 30-minute
//! DST shift (Lord Howe), DST that starts at midnight (Havana) or pauses for Ramadan
//! (Casablanca), a skipped calendar day (Apia, 30 December 2011) and a pre-1972 offset that is
//! not whole minutes (Monrovia). Instants range over 1800–2400, so historical rules and the
//! rules projected into the future are both exercised.

use jiff::{Timestamp, civil::Date};
use proptest::prelude::*;

use super::{
    UserZone, Window, WindowLimits, floor_to_second, format_local, from_graph, parse_end_instant,
    parse_instant, to_graph, to_graph_utc,
};

const ZONES: &[&str] = &[
    "Pacific Standard Time",
    "W. Europe Standard Time",
    "India Standard Time",
    "Tokyo Standard Time",
    "GMT Standard Time",
    "UTC",
    "Europe/London",
    "America/Sao_Paulo",
    "America/St_Johns",
    "America/Havana",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Africa/Casablanca",
    "Africa/Monrovia",
];

/// 1800-01-01T00:00:00Z and 2400-01-01T00:00:00Z.
const FIRST_SECOND: i64 = -5_364_662_400;
const LAST_SECOND: i64 = 13_569_465_600;

fn zone() -> impl Strategy<Value = UserZone> {
    prop::sample::select(ZONES).prop_map(|name| UserZone::from_mailbox(name).unwrap())
}

fn whole_second() -> impl Strategy<Value = Timestamp> {
    (FIRST_SECOND..LAST_SECOND).prop_map(|second| Timestamp::from_second(second).unwrap())
}

fn any_instant() -> impl Strategy<Value = Timestamp> {
    (FIRST_SECOND..LAST_SECOND, 0..1_000_000_000i32)
        .prop_map(|(second, nanosecond)| Timestamp::new(second, nanosecond).unwrap())
}

fn date() -> impl Strategy<Value = Date> {
    whole_second().prop_map(|ts| ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
}

proptest! {
    #[test]
    fn what_is_shown_reads_back_as_the_same_instant(ts in any_instant(), zone in zone()) {
        let shown = format_local(ts, &zone);
        prop_assert_eq!(parse_instant(&shown, &zone), Ok(floor_to_second(ts)), "{}", shown);
    }

    #[test]
    fn what_is_written_to_graph_reads_back_as_the_same_instant(
        ts in any_instant(),
        zone in zone(),
    ) {
        let written = to_graph(ts, &zone);
        prop_assert_eq!(
            from_graph(&written.date_time, &written.time_zone),
            Ok(floor_to_second(ts)),
            "{:?}",
            written
        );
    }

    #[test]
    fn a_query_bound_reads_back_as_the_same_instant(ts in any_instant(), zone in zone()) {
        prop_assert_eq!(parse_instant(&to_graph_utc(ts), &zone), Ok(floor_to_second(ts)));
    }

    /// Any wall clock the zone shows, given without offset, reads back to an instant showing
    /// that wall clock: the same instant, or the earlier one when the clock shows it twice.
    #[test]
    fn every_wall_clock_the_zone_shows_reads_back_to_itself(ts in whole_second(), zone in zone()) {
        let wall_clock = zone.time_zone().to_datetime(ts);
        let read = parse_instant(&wall_clock.to_string(), &zone).unwrap();
        prop_assert_eq!(zone.time_zone().to_datetime(read), wall_clock);
        prop_assert!(read <= ts);
    }

    /// A date as an end is where the next day starts; equal to the date's own start only for
    /// a day the zone skipped altogether.
    #[test]
    fn a_date_as_an_end_is_where_the_next_day_starts(day in date(), zone in zone()) {
        let text = day.to_string();
        let start = parse_instant(&text, &zone).unwrap();
        let end = parse_end_instant(&text, &zone).unwrap();
        prop_assert_eq!(end, parse_instant(&day.tomorrow().unwrap().to_string(), &zone).unwrap());
        prop_assert!(end >= start);
    }

    /// The default window is a week on the user's clock: seven days of 24 hours, give or take
    /// the DST shifts in between.
    #[test]
    fn the_default_window_is_a_week_on_the_users_clock(now in any_instant(), zone in zone()) {
        let limits = WindowLimits { default_days: 7, max_days: 62 };
        let window = Window::from_inputs(None, None, &zone, now, limits).unwrap();
        prop_assert_eq!(window.start(), floor_to_second(now));
        let hours = window.end().duration_since(window.start()).as_secs() / 3600;
        prop_assert!((7 * 24 - 2..=7 * 24 + 2).contains(&hours), "{} hours", hours);
    }
}
