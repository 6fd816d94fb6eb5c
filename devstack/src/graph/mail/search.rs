//! `$search` on messages: a KQL query, the way Exchange reads it.
//!
//! The value is a double-quoted string (`$search="from:megan budget"`); a bare word works too.
//! Inside it:
//!
//! - **Free words** match the sender, the subject and the body: a word of theirs must start
//!   with the term (`invo` finds "Invoice"). A phrase in escaped quotes (`\"q3 budget\"`) must
//!   appear as written.
//! - **Property restrictions**: `from:`, `to:`, `cc:`, `bcc:`, `participants:`,
//!   `recipients:`, `subject:`, `body:`, `attachment:` (a file name), `hasAttachments:true`,
//!   `importance:high`, `kind:email`, and dates: `received:2025-06-01` (that UTC day),
//!   `received>=2025-06-01`, `received<=…`, `received>…`, `received<…`, likewise `sent`;
//!   dates also as `6/1/2025`.
//! - Terms side by side must all match (`AND` says so explicitly); `OR` between them matches
//!   either; `NOT` before a term excludes it. The keywords are upper case; in lower case they
//!   are words.
//!
//! Results come newest first, at most 1,000. An unbalanced quote is a syntax error (400), as in
//! Graph. (`isRead` is not searchable: `isread:false` is just a word.)

use super::Message;
use crate::{
    datetime::{SECONDS_PER_DAY, days_from_civil, parse_iso8601},
    graph::{error::GraphError, html_text},
};

/// The most messages a search returns.
pub const MAX_RESULTS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Any(Vec<Expr>),
    All(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Text(String),
    Property(&'static str, String),
    Date(&'static str, Range, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Day,
    From,
    After,
    Until,
    Before,
}

const TEXT_PROPERTIES: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "participants",
    "recipients",
    "subject",
    "body",
    "attachment",
    "hasattachments",
    "hasattachment",
    "importance",
    "kind",
];

/// A parsed search.
#[derive(Debug, Clone, PartialEq)]
pub struct Search(Expr);

fn syntax_error(search: &str, position: usize) -> GraphError {
    GraphError::bad_request(
        "BadRequest",
        format!("Syntax error: character '\"' is not valid at position {position} in '{search}'."),
    )
}

impl Search {
    pub fn parse(search: &str) -> Result<Self, GraphError> {
        let trimmed = search.trim();
        let inner = match trimmed.strip_prefix('"') {
            Some(rest) => rest
                .strip_suffix('"')
                .filter(|inner| !inner.ends_with('\\') || inner.ends_with("\\\\"))
                .ok_or_else(|| syntax_error(search, trimmed.len()))?,
            None => trimmed,
        };
        let tokens = tokenize(inner).map_err(|position| syntax_error(search, position + 1))?;
        if tokens.is_empty() {
            return Err(GraphError::bad_request(
                "BadRequest",
                "The $search query option needs a search term.",
            ));
        }
        let mut position = 0;
        let expr = any(&tokens, &mut position, search)?;
        Ok(Self(expr))
    }

    pub fn matches(&self, message: &Message) -> bool {
        evaluate(&self.0, message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Phrase(String),
    /// `property:` or `property>=` directly followed by a phrase.
    Restriction(String, String),
}

/// Words, `\"phrases\"` and restrictions; `Err(position)` at a bare quote.
fn tokenize(inner: &str) -> Result<Vec<Token>, usize> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = inner.char_indices().collect();
    let mut index = 0;
    let phrase = |index: &mut usize| -> Result<String, usize> {
        // At `\"`: read to the next `\"`.
        *index += 2;
        let mut text = String::new();
        while *index < chars.len() {
            if chars[*index].1 == '\\' && chars.get(*index + 1).map(|c| c.1) == Some('"') {
                *index += 2;
                return Ok(text);
            }
            if chars[*index].1 == '"' {
                return Err(chars[*index].0);
            }
            text.push(chars[*index].1);
            *index += 1;
        }
        Err(inner.len())
    };
    while index < chars.len() {
        let (at, c) = chars[index];
        if c.is_whitespace() {
            index += 1;
        } else if c == '"' {
            return Err(at);
        } else if c == '\\' && chars.get(index + 1).map(|c| c.1) == Some('"') {
            tokens.push(Token::Phrase(phrase(&mut index)?));
        } else {
            let mut word = String::new();
            while index < chars.len() && !chars[index].1.is_whitespace() {
                let c = chars[index].1;
                if c == '"' {
                    return Err(chars[index].0);
                }
                if c == '\\' && chars.get(index + 1).map(|c| c.1) == Some('"') {
                    if word.ends_with([':', '=', '>', '<']) {
                        let value = phrase(&mut index)?;
                        tokens.push(Token::Restriction(std::mem::take(&mut word), value));
                        break;
                    }
                    return Err(chars[index + 1].0);
                }
                word.push(c);
                index += 1;
            }
            if !word.is_empty() {
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// `a OR b OR c`
fn any(tokens: &[Token], position: &mut usize, search: &str) -> Result<Expr, GraphError> {
    let mut alternatives = vec![all(tokens, position, search)?];
    while tokens.get(*position) == Some(&Token::Word("OR".to_owned())) {
        *position += 1;
        alternatives.push(all(tokens, position, search)?);
    }
    Ok(if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        Expr::Any(alternatives)
    })
}

/// `a b AND c`
fn all(tokens: &[Token], position: &mut usize, search: &str) -> Result<Expr, GraphError> {
    let mut terms = Vec::new();
    let dangling = || {
        GraphError::bad_request(
            "BadRequest",
            format!("The $search query '{search}' ends with an operator."),
        )
    };
    loop {
        match tokens.get(*position) {
            None => break,
            Some(Token::Word(word)) if word == "OR" => break,
            Some(Token::Word(word)) if word == "AND" => {
                *position += 1;
                if terms.is_empty() || tokens.get(*position).is_none() {
                    return Err(dangling());
                }
            }
            Some(Token::Word(word)) if word == "NOT" => {
                *position += 1;
                let term = tokens.get(*position).ok_or_else(dangling)?;
                *position += 1;
                terms.push(Expr::Not(Box::new(Expr::Term(term_of(term, search)?))));
            }
            Some(token) => {
                *position += 1;
                terms.push(Expr::Term(term_of(token, search)?));
            }
        }
    }
    if terms.is_empty() {
        return Err(dangling());
    }
    Ok(if terms.len() == 1 {
        terms.remove(0)
    } else {
        Expr::All(terms)
    })
}

fn term_of(token: &Token, search: &str) -> Result<Term, GraphError> {
    let (head, quoted) = match token {
        Token::Phrase(phrase) => return Ok(Term::Text(phrase.clone())),
        Token::Word(word) => (word.as_str(), None),
        Token::Restriction(head, value) => (head.as_str(), Some(value.as_str())),
    };
    let Some(at) = head.find([':', '=', '>', '<']) else {
        return Ok(Term::Text(head.to_owned()));
    };
    let (name, rest) = head.split_at(at);
    let operator: String = rest.chars().take_while(|c| ":=<>".contains(*c)).collect();
    let value = quoted.unwrap_or(&rest[operator.len()..]).to_owned();
    let lower = name.to_ascii_lowercase();
    if let Some(property) = ["received", "sent"].into_iter().find(|p| *p == lower) {
        let range = match operator.as_str() {
            ":" | "=" => Range::Day,
            ">=" => Range::From,
            ">" => Range::After,
            "<=" => Range::Until,
            "<" => Range::Before,
            _ => return Err(bad_date(search, &value)),
        };
        let day = day(&value).ok_or_else(|| bad_date(search, &value))?;
        return Ok(Term::Date(property, range, day));
    }
    match TEXT_PROPERTIES.iter().find(|p| **p == lower) {
        Some(property) if operator == ":" => Ok(Term::Property(property, value)),
        // An unknown property, or a URL: the whole thing is a word.
        _ => Ok(Term::Text(format!("{head}{}", quoted.unwrap_or_default()))),
    }
}

fn bad_date(search: &str, value: &str) -> GraphError {
    GraphError::bad_request(
        "BadRequest",
        format!("The date '{value}' in the $search query '{search}' is not valid."),
    )
}

/// Midnight UTC of `2025-06-01` or `6/1/2025`.
fn day(text: &str) -> Option<i64> {
    if text.len() == 10 && text.as_bytes()[4] == b'-' {
        return parse_iso8601(text);
    }
    let mut parts = text.split('/');
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let year: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * SECONDS_PER_DAY)
}

/// Lower-case words of `text`, split at anything not alphanumeric.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `term` matches `text`: one word as a word prefix, several as a phrase.
fn mentions(text: &str, term: &str) -> bool {
    let wanted = words(term);
    let have = words(text);
    match wanted.as_slice() {
        [] => false,
        [one] => have.iter().any(|word| word.starts_with(one.as_str())),
        several => have
            .windows(several.len())
            .any(|window| window.iter().zip(several).all(|(have, want)| have == want)),
    }
}

fn evaluate(expr: &Expr, message: &Message) -> bool {
    match expr {
        Expr::Any(alternatives) => alternatives.iter().any(|e| evaluate(e, message)),
        Expr::All(terms) => terms.iter().all(|e| evaluate(e, message)),
        Expr::Not(term) => !evaluate(term, message),
        Expr::Term(term) => term_matches(term, message),
    }
}

fn term_matches(term: &Term, message: &Message) -> bool {
    let person = |address: &super::EmailAddress, value: &str| {
        address.address.eq_ignore_ascii_case(value)
            || mentions(&address.address, value)
            || mentions(&address.name, value)
    };
    let body = || html_text::to_text(&message.html);
    match term {
        Term::Text(text) => {
            mentions(&message.subject, text)
                || mentions(&body(), text)
                || person(&message.from, text)
        }
        Term::Property(property, value) => match *property {
            "from" => person(&message.from, value),
            "to" => message.to.iter().any(|a| person(a, value)),
            "cc" => message.cc.iter().any(|a| person(a, value)),
            "bcc" => message.bcc.iter().any(|a| person(a, value)),
            "recipients" => message
                .to
                .iter()
                .chain(&message.cc)
                .chain(&message.bcc)
                .any(|a| person(a, value)),
            "participants" => std::iter::once(&message.from)
                .chain(&message.to)
                .chain(&message.cc)
                .chain(&message.bcc)
                .any(|a| person(a, value)),
            "subject" => mentions(&message.subject, value),
            "body" => mentions(&body(), value),
            "attachment" => message.attachments.iter().any(|a| mentions(&a.name, value)),
            "hasattachments" | "hasattachment" => {
                let wanted = matches!(value.to_ascii_lowercase().as_str(), "true" | "yes");
                message.has_attachments() == wanted
            }
            "importance" => message.importance.eq_ignore_ascii_case(value),
            _ => value.eq_ignore_ascii_case("email"),
        },
        Term::Date(property, range, day) => {
            let at = if *property == "sent" {
                message.received - 2
            } else {
                message.received
            };
            let end = day + SECONDS_PER_DAY;
            match range {
                Range::Day => (*day..end).contains(&at),
                Range::From => at >= *day,
                Range::After => at >= end,
                Range::Until => at < end,
                Range::Before => at < *day,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_into_terms() {
        assert_eq!(
            Search::parse("\"from:megan budget\"").unwrap().0,
            Expr::All(vec![
                Expr::Term(Term::Property("from", "megan".to_owned())),
                Expr::Term(Term::Text("budget".to_owned())),
            ])
        );
        assert_eq!(
            Search::parse("\"received>=2025-06-01 AND hasAttachments:true\"")
                .unwrap()
                .0,
            Expr::All(vec![
                Expr::Term(Term::Date(
                    "received",
                    Range::From,
                    parse_iso8601("2025-06-01").unwrap()
                )),
                Expr::Term(Term::Property("hasattachments", "true".to_owned())),
            ])
        );
        assert_eq!(
            Search::parse("invoice OR NOT \\\"q3 budget\\\"").unwrap().0,
            Expr::Any(vec![
                Expr::Term(Term::Text("invoice".to_owned())),
                Expr::Not(Box::new(Expr::Term(Term::Text("q3 budget".to_owned())))),
            ])
        );
        assert_eq!(
            Search::parse("\"subject:\\\"q3 budget\\\"\"").unwrap().0,
            Expr::Term(Term::Property("subject", "q3 budget".to_owned()))
        );
        assert_eq!(
            Search::parse("\"https://contoso.example/x\"").unwrap().0,
            Expr::Term(Term::Text("https://contoso.example/x".to_owned()))
        );
        assert_eq!(day("6/1/2025"), parse_iso8601("2025-06-01"));
    }

    #[test]
    fn malformed_queries_are_400() {
        for bad in [
            "\"unbalanced",
            "\"a\"b\"",
            "\"\"",
            "\"AND\"",
            "\"budget AND\"",
            "\"received>=yesterday\"",
            "\"received=>2025-01-01\"",
            "\"x\\\"",
        ] {
            assert!(Search::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn words_match_prefixes_and_phrases_match_in_order() {
        assert!(mentions("Invoice 4471 overdue", "invo"));
        assert!(mentions("orders@northwind.example", "northwind"));
        assert!(!mentions("Invoice 4471 overdue", "voice"));
        assert!(mentions("The Q3 budget review", "q3 budget"));
        assert!(!mentions("The budget for Q3", "q3 budget"));
    }
}
