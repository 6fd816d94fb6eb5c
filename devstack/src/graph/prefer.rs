//! The `Prefer` header preferences Outlook honours (RFC 7240):
//!
//! - `outlook.body-content-type="text"`: message and event bodies as plain text instead of
//!   HTML (the default).
//! - `outlook.timezone="Pacific Standard Time"`: calendar times in that zone instead of UTC.
//!
//! A client may send several preferences in one header, comma-separated, or several headers.
//! Outlook confirms what it applied in `Preference-Applied`.

use axum::http::{HeaderMap, HeaderValue, header};

const PREFER: header::HeaderName = header::HeaderName::from_static("prefer");

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Preferences {
    pub text_bodies: bool,
    pub time_zone: Option<String>,
}

impl Preferences {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut preferences = Self::default();
        for value in headers.get_all(PREFER) {
            let Ok(value) = value.to_str() else { continue };
            for preference in value.split(',') {
                let (name, value) = preference.split_once('=').unwrap_or((preference, ""));
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "outlook.body-content-type" => {
                        preferences.text_bodies = value.eq_ignore_ascii_case("text");
                    }
                    "outlook.timezone" => preferences.time_zone = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        preferences
    }
}

/// `Preference-Applied` for the preferences honoured.
pub fn applied(preferences: &[String]) -> Option<(header::HeaderName, HeaderValue)> {
    if preferences.is_empty() {
        return None;
    }
    let value = HeaderValue::from_str(&preferences.join(","))
        .expect("preferences are echoed from a valid header");
    Some((header::HeaderName::from_static("preference-applied"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_are_read_from_lists_and_repeated_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            PREFER,
            "odata.maxpagesize=5, Outlook.Body-Content-Type=\"text\""
                .parse()
                .unwrap(),
        );
        headers.append(
            PREFER,
            "outlook.timezone=\"Pacific Standard Time\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            Preferences::from_headers(&headers),
            Preferences {
                text_bodies: true,
                time_zone: Some("Pacific Standard Time".to_owned()),
            }
        );
        assert_eq!(
            Preferences::from_headers(&HeaderMap::new()),
            Preferences::default()
        );
    }
}
