//! Checks on tool arguments that run before any Graph call: a value a tool cannot use is a tool
//! error naming the argument and the fix, and nothing is sent.
//!
//! Request building already keeps every argument data (segments are encoded one by one, OData
//! literals escaped, search terms quoted); these checks refuse what has no business in an id or
//! a query at all (control characters, absurd lengths) so a mistaken or hostile value changes
//! nothing and says why.

use super::ToolError;

/// The longest id a tool accepts: Graph's ids are a few hundred characters at most.
const MAX_ID_CHARS: usize = 1024;

/// A Graph id (message, event, drive item, user): printable, no whitespace, bounded.
pub fn id<'a>(name: &str, value: &'a str) -> Result<&'a str, ToolError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ToolError::argument(
            name,
            "it is empty",
            format!("Pass the `{name}` another tool returned."),
        ));
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(ToolError::argument(
            name,
            format!("it is longer than {MAX_ID_CHARS} characters"),
            format!("Pass the `{name}` exactly as another tool returned it."),
        ));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ToolError::argument(
            name,
            "it contains spaces or control characters, which no Microsoft 365 id has",
            format!("Pass the `{name}` exactly as another tool returned it."),
        ));
    }
    Ok(value)
}

/// Free text (a search query, a name): no control characters, at most `max_chars`.
pub fn text<'a>(name: &str, value: &'a str, max_chars: usize) -> Result<&'a str, ToolError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ToolError::argument(
            name,
            "it is empty",
            format!("Pass a non-empty `{name}`."),
        ));
    }
    if value.chars().count() > max_chars {
        return Err(ToolError::argument(
            name,
            format!("it is longer than {max_chars} characters"),
            format!("Shorten `{name}` to a few words."),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ToolError::argument(
            name,
            "it contains line breaks or control characters",
            format!("Pass `{name}` on one line."),
        ));
    }
    Ok(value)
}

/// An e-mail address: the shape Exchange accepts, checked before it reaches a request.
pub fn address<'a>(name: &str, value: &'a str) -> Result<&'a str, ToolError> {
    let value = value.trim();
    let valid = value.len() <= 320
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && value.matches('@').count() == 1
        && !value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>\"'(),;:[]\\".contains(c));
    if valid {
        Ok(value)
    } else {
        Err(ToolError::argument(
            name,
            format!("`{}` is not an e-mail address", value.escape_debug()),
            "Use a plain address such as adele@contoso.com; find addresses with find_people.",
        ))
    }
}

/// How many items a list tool returns per call: `max_results`, clamped to `1..=max`.
pub fn max_results(requested: Option<u32>, default: u32, max: u32) -> u32 {
    requested.unwrap_or(default).clamp(1, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_what_no_id_has() {
        assert_eq!(id("event_id", " AAMkAD/a+b=!x ").unwrap(), "AAMkAD/a+b=!x");
        for bad in ["", " ", "a b", "a\nb", "a\u{0}b", &"x".repeat(2000)] {
            let error = id("event_id", bad).unwrap_err();
            assert!(error.message.contains("`event_id`"), "{error:?}");
        }
    }

    #[test]
    fn text_is_one_bounded_line() {
        assert_eq!(text("query", "  budget Q3 ", 10).unwrap(), "budget Q3");
        assert!(text("query", "a\nb", 10).is_err());
        assert!(text("query", "", 10).is_err());
        assert!(text("query", "ééééééééééé", 10).is_err());
        assert!(text("query", "ééééééééé", 10).is_ok());
    }

    #[test]
    fn addresses_are_plain_addresses() {
        assert!(address("to", "adele@contoso.com").is_ok());
        for bad in [
            "adele",
            "@contoso.com",
            "adele@contoso",
            "a@b@c.com",
            "Adele <adele@contoso.com>",
            "adele@contoso.com\nBcc: x@evil.example",
            "a'b@c.com",
        ] {
            assert!(address("to", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_results_is_clamped() {
        assert_eq!(max_results(None, 10, 50), 10);
        assert_eq!(max_results(Some(0), 10, 50), 1);
        assert_eq!(max_results(Some(500), 10, 50), 50);
    }
}
