//! Reading the JSON bodies of Outlook's POST endpoints (`sendMail`, `events`,
//! `findMeetingTimes`) as Outlook reads them.
//!
//! Outlook is lenient in ways clients come to rely on, and strict in others:
//!
//! - Property names match case-insensitively (`timeslots` works as well as `timeSlots`).
//! - Booleans and numbers may come as strings (`"isOrganizerOptional": "false"`,
//!   `"minimumAttendeePercentage": "100"`, as in Graph's own documentation examples).
//! - A body that is not JSON is 400 `UnableToDeserializePostBody`; a value of the wrong type
//!   is 400 `RequestBodyRead`, OData's "Cannot convert the literal …".
//! - A `dateTimeTimeZone` is a wall-clock `dateTime` plus the `timeZone` it is counted in
//!   (Windows or IANA name); an unknown zone is 400 `TimeZoneNotSupportedException`.

use serde_json::{Map, Value};

use super::{
    calendar::known_zone, error::GraphError, recipient::EmailAddress, time_zone::TimeZone,
};
use crate::datetime::parse_iso8601;

/// A request body, parsed; 400 as Outlook answers a body that is not JSON.
pub fn parse(bytes: &[u8]) -> Result<Value, GraphError> {
    serde_json::from_slice(bytes).map_err(|_| {
        GraphError::bad_request("UnableToDeserializePostBody", "were unable to deserialize ")
    })
}

fn wrong_type(value: &Value, expected: &str) -> GraphError {
    GraphError::bad_request(
        "RequestBodyRead",
        format!("Cannot convert the literal '{value}' to the expected type '{expected}'."),
    )
}

/// A JSON object whose properties are looked up the way Outlook does.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a>(&'a Map<String, Value>);

impl<'a> Object<'a> {
    /// The body itself, which must be an object.
    pub fn root(value: &'a Value) -> Result<Self, GraphError> {
        value
            .as_object()
            .map(Object)
            .ok_or_else(|| wrong_type(value, "microsoft.graph.entity"))
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
            .filter(|value| !value.is_null())
    }

    pub fn string(&self, name: &str) -> Result<Option<&'a str>, GraphError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(wrong_type(other, "Edm.String")),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, GraphError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(wrong_type(other, "Edm.Boolean")),
        }
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, GraphError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(number)) => Ok(number.as_f64()),
            Some(value @ Value::String(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| wrong_type(value, "Edm.Double")),
            Some(other) => Err(wrong_type(other, "Edm.Double")),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<Object<'a>>, GraphError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Object(map))),
            Some(other) => Err(wrong_type(other, "Edm.ComplexType")),
        }
    }

    /// The objects of an array property; missing or null is empty.
    pub fn array(&self, name: &str) -> Result<Vec<Object<'a>>, GraphError> {
        match self.get(name) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_object()
                        .map(Object)
                        .ok_or_else(|| wrong_type(item, "Edm.ComplexType"))
                })
                .collect(),
            Some(other) => Err(wrong_type(other, "Collection")),
        }
    }
}

/// The instant and zone of the `dateTimeTimeZone` property `name`, if present. The
/// `dateTime` is wall-clock time in `timeZone`; one written with an offset (`Z`, `-07:00`)
/// is taken as the instant it names.
pub fn date_time_time_zone(
    object: &Object<'_>,
    name: &str,
) -> Result<Option<(i64, &'static TimeZone)>, GraphError> {
    let Some(value) = object.object(name)? else {
        return Ok(None);
    };
    let invalid = |message: String| GraphError::bad_request("ErrorInvalidParameter", message);
    let text = value
        .string("dateTime")?
        .ok_or_else(|| invalid(format!("The property '{name}' needs a dateTime.")))?;
    let zone_name = value
        .string("timeZone")?
        .ok_or_else(|| invalid(format!("The property '{name}' needs a timeZone.")))?;
    let zone = known_zone(zone_name)?;
    let seconds = parse_iso8601(text)
        .filter(|_| text.contains('T'))
        .ok_or_else(|| invalid(format!("The value '{text}' of dateTime is invalid.")))?;
    let time = text.split_once('T').map_or("", |(_, time)| time);
    let has_offset = time.ends_with(['Z', 'z']) || time.contains(['+', '-']);
    let instant = if has_offset {
        seconds
    } else {
        zone.to_utc(seconds)
    };
    Ok(Some((instant, zone)))
}

/// The `emailAddress` of a recipient or attendee.
pub fn email_address(object: &Object<'_>) -> Result<EmailAddress, GraphError> {
    let email = object.object("emailAddress")?;
    let address = match email {
        Some(email) => email.string("address")?.unwrap_or_default(),
        None => "",
    };
    let name = match email {
        Some(email) => email.string("name")?.unwrap_or(address),
        None => address,
    };
    Ok(EmailAddress::new(name, address))
}

/// A `freeBusyStatus` value.
pub fn show_as(text: &str) -> Result<&'static str, GraphError> {
    [
        "free",
        "tentative",
        "busy",
        "oof",
        "workingElsewhere",
        "unknown",
    ]
    .into_iter()
    .find(|value| value.eq_ignore_ascii_case(text))
    .ok_or_else(|| {
        wrong_type(
            &Value::String(text.to_owned()),
            "microsoft.graph.freeBusyStatus",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn properties_match_any_case_and_scalars_may_be_strings() {
        let value = json!({ "TimeSlots": [{}], "isOrganizerOptional": "false",
                            "minimumAttendeePercentage": "100", "subject": null });
        let object = Object::root(&value).unwrap();
        assert_eq!(object.array("timeslots").unwrap().len(), 1);
        assert_eq!(object.boolean("isorganizeroptional").unwrap(), Some(false));
        assert_eq!(
            object.number("minimumAttendeePercentage").unwrap(),
            Some(100.0)
        );
        assert_eq!(object.string("subject").unwrap(), None);
        assert_eq!(
            object.string("minimumAttendeePercentage").unwrap(),
            Some("100")
        );
        let error = object.boolean("timeSlots").unwrap_err();
        assert_eq!(error.code, "RequestBodyRead");
        assert_eq!(
            parse(b"{oops").unwrap_err().code,
            "UnableToDeserializePostBody"
        );
    }

    #[test]
    fn date_times_are_wall_clock_in_their_zone() {
        let value = json!({
            "start": { "dateTime": "2025-07-01T09:00:00", "timeZone": "Pacific Standard Time" },
            "end": { "dateTime": "2025-07-01T09:00:00Z", "timeZone": "Pacific Standard Time" },
            "bad": { "dateTime": "tomorrow", "timeZone": "UTC" },
            "nowhere": { "dateTime": "2025-07-01T09:00:00", "timeZone": "Mars/Olympus" },
        });
        let object = Object::root(&value).unwrap();
        let (start, zone) = date_time_time_zone(&object, "start").unwrap().unwrap();
        assert_eq!(start, parse_iso8601("2025-07-01T16:00:00Z").unwrap());
        assert_eq!(zone.name, "Pacific Standard Time");
        let (end, _) = date_time_time_zone(&object, "end").unwrap().unwrap();
        assert_eq!(end, parse_iso8601("2025-07-01T09:00:00Z").unwrap());
        assert_eq!(
            date_time_time_zone(&object, "bad").unwrap_err().code,
            "ErrorInvalidParameter"
        );
        assert_eq!(
            date_time_time_zone(&object, "nowhere").unwrap_err().code,
            "TimeZoneNotSupportedException"
        );
        assert!(date_time_time_zone(&object, "missing").unwrap().is_none());
    }
}
