//! Outlook's limit of four concurrent requests per mailbox.
//!
//! Exchange Online serves mail, calendars, contacts, people, To Do and mailbox settings, and it
//! lets one application run at most four requests at a time against one mailbox. A fifth,
//! while four are in flight, is refused at once with 429, `Retry-After` and
//! `ApplicationThrottled` ("Application is over its MailboxConcurrency limit."); it was not
//! executed, so it may be retried. Other workloads (the directory, OneDrive, search) have no
//! such limit, so a client that fans out must bound only its Outlook calls.
//!
//! The devstack counts every request that arrives for a mailbox, admitted or not, and keeps
//! the highest count it saw: a test asserts on that peak to prove a client never had more than
//! four in flight. (Exchange counts per application and mailbox; the devstack's Graph serves
//! one application, the handler, so per mailbox is the same.)

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::error::GraphError;

/// Requests one application may have in flight against one mailbox.
pub const LIMIT: usize = 4;
/// What a refused request is told to wait, in seconds.
const RETRY_AFTER_SECONDS: u32 = 1;

/// The `/v1.0/me/…` segments Exchange serves.
const OUTLOOK_SEGMENTS: &[&str] = &[
    "messages",
    "mailFolders",
    "calendarView",
    "calendar",
    "events",
    "findMeetingTimes",
    "sendMail",
    "people",
    "todo",
    "mailboxSettings",
];

/// Whether a request for `path` runs against the caller's mailbox.
pub fn is_outlook(path: &str) -> bool {
    path.strip_prefix("/v1.0/me/").is_some_and(|rest| {
        let segment = rest.split(['/', '(']).next().unwrap_or_default();
        OUTLOOK_SEGMENTS.contains(&segment)
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    in_flight: usize,
    peak: usize,
}

/// In-flight requests per mailbox (user key).
#[derive(Debug, Default)]
pub struct MailboxConcurrency(Arc<Mutex<HashMap<&'static str, Counts>>>);

impl MailboxConcurrency {
    /// Admits a request for `mailbox`; `None` when [`LIMIT`] are already in flight, and the
    /// request must be refused ([`throttled`]). The slot is held until it is dropped.
    pub fn enter(&self, mailbox: &'static str) -> Option<Slot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = counts.entry(mailbox).or_default();
        entry.in_flight += 1;
        entry.peak = entry.peak.max(entry.in_flight);
        let slot = Slot {
            counts: self.0.clone(),
            mailbox,
        };
        if entry.in_flight > LIMIT {
            drop(counts);
            // Dropping the slot takes the refused request out of the count again.
            drop(slot);
            return None;
        }
        Some(slot)
    }

    /// The most requests ever in flight at once for `mailbox`, refused ones included.
    pub fn peak(&self, mailbox: &str) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(mailbox)
            .map_or(0, |counts| counts.peak)
    }
}

/// One admitted request; leaving frees the slot.
#[derive(Debug)]
pub struct Slot {
    counts: Arc<Mutex<HashMap<&'static str, Counts>>>,
    mailbox: &'static str,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = counts.get_mut(self.mailbox) {
            entry.in_flight -= 1;
        }
    }
}

/// Exchange's refusal of a request over the limit.
pub fn throttled() -> Response {
    let mut response = GraphError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "ApplicationThrottled",
        "Application is over its MailboxConcurrency limit.",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlook_paths_are_the_mailbox_resources_of_me() {
        for path in [
            "/v1.0/me/messages",
            "/v1.0/me/messages/AAMk=",
            "/v1.0/me/mailFolders/inbox/messages",
            "/v1.0/me/calendarView",
            "/v1.0/me/events/AAMk=",
            "/v1.0/me/findMeetingTimes",
            "/v1.0/me/sendMail",
            "/v1.0/me/people",
            "/v1.0/me/todo/lists",
            "/v1.0/me/mailboxSettings",
        ] {
            assert!(is_outlook(path), "{path}");
        }
        for path in [
            "/v1.0/me",
            "/v1.0/me/manager",
            "/v1.0/me/drive/root/children",
            "/v1.0/users",
            "/v1.0/search/query",
            "/v1.0/me/messagesX",
        ] {
            assert!(!is_outlook(path), "{path}");
        }
    }

    #[test]
    fn the_refusal_says_when_to_retry() {
        let refused = throttled();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn the_fifth_request_is_refused_and_counted_then_slots_free_up() {
        let concurrency = MailboxConcurrency::default();
        let slots: Vec<Slot> = (0..LIMIT)
            .map(|_| concurrency.enter("adele").unwrap())
            .collect();
        assert!(concurrency.enter("adele").is_none());
        assert!(concurrency.enter("alex").is_some(), "another mailbox");
        assert_eq!(concurrency.peak("adele"), LIMIT + 1);
        drop(slots);
        let again: Vec<Slot> = (0..LIMIT)
            .map(|_| concurrency.enter("adele").unwrap())
            .collect();
        assert_eq!(again.len(), LIMIT);
        assert_eq!(concurrency.peak("adele"), LIMIT + 1, "the peak stays");
        assert_eq!(concurrency.peak("megan"), 0);
    }
}
