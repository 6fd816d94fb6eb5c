//! `$filter` on messages, parsed as strictly as Graph's OData parser parses it.
//!
//! The devstack understands clauses joined by `and`:
//!
//! - `receivedDateTime ge 2025-06-01T00:00:00Z` (also `sentDateTime`; `eq`, `ne`, `gt`, `ge`,
//!   `lt`, `le`): the value is an OData `DateTimeOffset` literal, unquoted, with its offset.
//! - `from/emailAddress/address eq 'adele@contoso.example'` (`eq`, `ne`; case-insensitive).
//! - `isRead eq false`, `hasAttachments eq true`, `isDraft ne true`.
//! - `importance eq 'high'`.
//!
//! A string literal is single-quoted, a quote inside it written twice (`'O''Neil'`); anything
//! left over after a complete expression is a syntax error, which is what keeps a value like
//! `x' or 1 eq 1 or 'a` from changing the query: it either stays inside its literal or fails.
//! `or`, `not`, parentheses, functions and other properties are refused with 400, rather than
//! ignored, because the devstack does not evaluate them.

use super::Message;
use crate::{datetime::parse_iso8601, graph::error::GraphError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Comparison {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// OData's name for the operator, as its type errors spell it.
    fn kind(self) -> &'static str {
        match self {
            Self::Eq => "Equal",
            Self::Ne => "NotEqual",
            Self::Gt => "GreaterThan",
            Self::Ge => "GreaterThanOrEqual",
            Self::Lt => "LessThan",
            Self::Le => "LessThanOrEqual",
        }
    }

    fn holds<T: PartialOrd>(self, left: &T, right: &T) -> bool {
        match self {
            Self::Eq => left == right,
            Self::Ne => left != right,
            Self::Gt => left > right,
            Self::Ge => left >= right,
            Self::Lt => left < right,
            Self::Le => left <= right,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Received(Comparison, i64),
    Sent(Comparison, i64),
    From(Comparison, String),
    Flag(&'static str, Comparison, bool),
    Importance(Comparison, String),
}

/// A parsed `$filter`: clauses that must all hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
}

fn syntax_error(position: usize, filter: &str) -> GraphError {
    GraphError::bad_request(
        "BadRequest",
        format!("Syntax error at position {position} in '{filter}'."),
    )
}

fn unsupported(what: &str) -> GraphError {
    GraphError::bad_request(
        "ErrorInvalidUrlQueryFilter",
        format!(
            "The devstack's Graph does not evaluate {what} in a message $filter: it supports \
             receivedDateTime, sentDateTime, from/emailAddress/address, isRead, hasAttachments, \
             isDraft and importance comparisons joined by 'and'."
        ),
    )
}

/// Words and string literals, with the position each starts at.
fn tokens(filter: &str) -> Result<Vec<(usize, Token)>, GraphError> {
    let mut tokens = Vec::new();
    let mut chars = filter.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some((_, '\'')) if chars.peek().map(|(_, c)| *c) == Some('\'') => {
                        chars.next();
                        text.push('\'');
                    }
                    Some((_, '\'')) => break,
                    Some((_, c)) => text.push(c),
                    None => {
                        return Err(GraphError::bad_request(
                            "BadRequest",
                            format!(
                                "There is an unterminated string literal at position {at} in \
                                 '{filter}'."
                            ),
                        ));
                    }
                }
            }
            tokens.push((at, Token::Text(text)));
        } else if c == '(' || c == ')' {
            return Err(unsupported("parentheses or functions"));
        } else {
            let mut word = String::new();
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() || c == '\'' || c == '(' || c == ')' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            tokens.push((at, Token::Word(word)));
        }
    }
    Ok(tokens)
}

impl Filter {
    pub fn parse(filter: &str) -> Result<Self, GraphError> {
        let tokens = tokens(filter)?;
        let mut clauses = Vec::new();
        let mut rest = tokens.as_slice();
        loop {
            let [
                (at, property),
                (op_at, operator),
                (value_at, value),
                tail @ ..,
            ] = rest
            else {
                return Err(syntax_error(filter.len(), filter));
            };
            let Token::Word(property) = property else {
                return Err(syntax_error(*at, filter));
            };
            let comparison = match operator {
                Token::Word(word) => Comparison::parse(word).ok_or_else(|| {
                    if ["or", "not", "has", "in"].contains(&word.as_str()) {
                        unsupported(&format!("'{word}'"))
                    } else {
                        syntax_error(*op_at, filter)
                    }
                })?,
                Token::Text(_) => return Err(syntax_error(*op_at, filter)),
            };
            clauses.push(clause(property, comparison, value, *value_at, filter)?);
            match tail {
                [] => break,
                [(_, Token::Word(and)), after @ ..] if and == "and" => rest = after,
                [(_, Token::Word(word)), ..] if word == "or" => {
                    return Err(unsupported("'or'"));
                }
                [(at, _), ..] => return Err(syntax_error(*at, filter)),
            }
        }
        Ok(Self { clauses })
    }

    /// The property the first clause compares: what a `$orderby` must start with.
    pub fn first_property(&self) -> &'static str {
        match self.clauses[0] {
            Clause::Received(..) => "receivedDateTime",
            Clause::Sent(..) => "sentDateTime",
            Clause::From(..) => "from/emailAddress/address",
            Clause::Flag(name, ..) => name,
            Clause::Importance(..) => "importance",
        }
    }

    pub fn matches(&self, message: &Message) -> bool {
        self.clauses.iter().all(|clause| match clause {
            Clause::Received(comparison, at) => comparison.holds(&message.received, at),
            Clause::Sent(comparison, at) => comparison.holds(&(message.received - 2), at),
            Clause::From(comparison, address) => comparison.holds(
                &message.from.address.to_ascii_lowercase(),
                &address.to_ascii_lowercase(),
            ),
            Clause::Flag(name, comparison, value) => {
                let actual = match *name {
                    "isRead" => message.is_read,
                    "isDraft" => message.is_draft,
                    _ => message.has_attachments(),
                };
                comparison.holds(&actual, value)
            }
            Clause::Importance(comparison, importance) => {
                comparison.holds(&message.importance.to_owned(), &importance.to_lowercase())
            }
        })
    }
}

fn clause(
    property: &str,
    comparison: Comparison,
    value: &Token,
    at: usize,
    filter: &str,
) -> Result<Clause, GraphError> {
    let incompatible = |left: &str, right: &str| {
        GraphError::bad_request(
            "BadRequest",
            format!(
                "A binary operator with incompatible types was detected. Found operand types \
                 '{left}' and '{right}' for operator kind '{}'.",
                comparison.kind()
            ),
        )
    };
    let right_type = |value: &Token| match value {
        Token::Text(_) => "Edm.String",
        Token::Word(word) if word == "true" || word == "false" => "Edm.Boolean",
        Token::Word(_) => "Edm.DateTimeOffset",
    };
    let known = |name: &str| property.eq_ignore_ascii_case(name);
    if known("receivedDateTime") || known("sentDateTime") {
        let Token::Word(word) = value else {
            return Err(incompatible("Edm.DateTimeOffset", "Edm.String"));
        };
        let time = word.split_once('T').map_or("", |(_, time)| time);
        let has_offset = time.ends_with(['Z', 'z']) || time.contains(['+', '-']);
        let instant = parse_iso8601(word).filter(|_| has_offset).ok_or_else(|| {
            GraphError::bad_request(
                "BadRequest",
                format!(
                    "The DateTimeOffset text '{word}' should be in format \
                     'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid \
                     range."
                ),
            )
        })?;
        return Ok(if known("receivedDateTime") {
            Clause::Received(comparison, instant)
        } else {
            Clause::Sent(comparison, instant)
        });
    }
    if known("from/emailAddress/address") {
        let Token::Text(address) = value else {
            return Err(incompatible("Edm.String", right_type(value)));
        };
        if !matches!(comparison, Comparison::Eq | Comparison::Ne) {
            return Err(unsupported("ordering comparisons of addresses"));
        }
        return Ok(Clause::From(comparison, address.clone()));
    }
    for flag in ["isRead", "hasAttachments", "isDraft"] {
        if known(flag) {
            let value = match value {
                Token::Word(word) if word == "true" => true,
                Token::Word(word) if word == "false" => false,
                Token::Word(_) => return Err(syntax_error(at, filter)),
                Token::Text(_) => return Err(incompatible("Edm.Boolean", "Edm.String")),
            };
            if !matches!(comparison, Comparison::Eq | Comparison::Ne) {
                return Err(incompatible("Edm.Boolean", "Edm.Boolean"));
            }
            return Ok(Clause::Flag(flag, comparison, value));
        }
    }
    if known("importance") {
        let Token::Text(importance) = value else {
            return Err(incompatible(
                "microsoft.graph.importance",
                right_type(value),
            ));
        };
        return Ok(Clause::Importance(comparison, importance.clone()));
    }
    if super::MESSAGE
        .properties
        .iter()
        .any(|name| name.eq_ignore_ascii_case(property.split('/').next().unwrap_or_default()))
    {
        return Err(unsupported(&format!("'{property}'")));
    }
    Err(GraphError::bad_request(
        "RequestBroker--ParseUri",
        format!(
            "Could not find a property named '{property}' on type \
             'Microsoft.OutlookServices.Message'."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(filter: &str) -> &'static str {
        Filter::parse(filter).unwrap_err().code
    }

    #[test]
    fn clauses_joined_by_and() {
        let filter = Filter::parse(
            "receivedDateTime ge 2025-01-31T00:00:00Z and from/emailAddress/address eq \
             'O''Neil@contoso.example' and isRead eq false and hasAttachments eq true",
        )
        .unwrap();
        assert_eq!(
            filter.clauses,
            [
                Clause::Received(
                    Comparison::Ge,
                    parse_iso8601("2025-01-31T00:00:00Z").unwrap()
                ),
                Clause::From(Comparison::Eq, "O'Neil@contoso.example".to_owned()),
                Clause::Flag("isRead", Comparison::Eq, false),
                Clause::Flag("hasAttachments", Comparison::Eq, true),
            ]
        );
        assert_eq!(filter.first_property(), "receivedDateTime");
        assert_eq!(
            Filter::parse("isRead eq true and receivedDateTime le 2025-01-31T00:00:00-08:00")
                .unwrap()
                .first_property(),
            "isRead"
        );
    }

    #[test]
    fn anything_else_is_a_400() {
        for (filter, expected) in [
            ("receivedDateTime ge '2025-01-31T00:00:00Z'", "BadRequest"),
            ("receivedDateTime ge 2025-01-31", "BadRequest"),
            ("receivedDateTime ge yesterday", "BadRequest"),
            (
                "from/emailAddress/address eq 'a' or isRead eq true",
                "ErrorInvalidUrlQueryFilter",
            ),
            (
                "from/emailAddress/address eq 'x' or 1 eq 1 or 'a'",
                "ErrorInvalidUrlQueryFilter",
            ),
            ("from/emailAddress/address eq 'it's'", "BadRequest"),
            ("from/emailAddress/address eq 'unterminated", "BadRequest"),
            ("from/emailAddress/address eq adele", "BadRequest"),
            ("isRead eq 'false'", "BadRequest"),
            ("isRead eq false AND hasAttachments eq true", "BadRequest"),
            ("startswith(subject,'x')", "ErrorInvalidUrlQueryFilter"),
            ("subject eq 'x'", "ErrorInvalidUrlQueryFilter"),
            ("shoeSize eq 42", "RequestBroker--ParseUri"),
            ("isRead", "BadRequest"),
            ("isRead eq false and", "BadRequest"),
            ("isRead eq false isRead", "BadRequest"),
            ("", "BadRequest"),
        ] {
            assert_eq!(code(filter), expected, "{filter}");
        }
    }
}
