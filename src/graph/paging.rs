//! Following `@odata.nextLink`, within bounds, with a cursor the AI client can continue from.
//!
//! Graph pages collections (messages come ten at a time) and says where the next page is with an
//! absolute `@odata.nextLink`, which must be followed as given, never rebuilt. A tool reads at
//! most a few pages and items per call; if more remain, the caller gets a [`Cursor`] to ask for
//! them in a later call (sealed by [`crate::signing`] on its way out, so it comes back unaltered
//! or not at all).
//!
//! A cursor only ever names a path under this server's own Graph API root. A next link pointing
//! anywhere else is not followed and not handed out, so a cursor can never send the user's Graph
//! token to another host.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use url::Url;

use super::{GraphClient, GraphError, GraphRequest};
use crate::outbound::Call;

/// Where to continue a listing: a next link relative to the API root (checked again when used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(String);

impl Cursor {
    /// The continuation's path and query, relative to the API root.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What one call read: the items, and a cursor if Graph has more.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Bounds of one call: no more than `max_pages` requests, and no next page once `max_items`
/// are read. Items are never dropped from a page read (the cursor could not bring them back),
/// so tools ask Graph for pages no larger than what they can use (`$top`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_pages: usize,
    pub max_items: usize,
}

#[derive(Deserialize)]
struct Collection<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// A cursor from a client could not be used.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidCursor;

impl GraphClient {
    /// Reads `request`, or the continuation `cursor`, following next links within `limits`.
    pub async fn list<T: DeserializeOwned>(
        &self,
        token: &str,
        request: &GraphRequest,
        cursor: Option<&Cursor>,
        limits: Limits,
        call: Call<'_>,
    ) -> Result<Result<Page<T>, InvalidCursor>, GraphError> {
        let mut url = match cursor {
            Some(cursor) => match self.cursor_url(cursor) {
                Some(url) => url,
                None => return Ok(Err(InvalidCursor)),
            },
            None => {
                let mut url = self
                    .api_root
                    .join(&request.path)
                    .expect("an encoded path joins the API root");
                url.query_pairs_mut().extend_pairs(&request.query);
                url
            }
        };
        let mut items = Vec::new();
        for _ in 0..limits.max_pages.max(1) {
            let page: Collection<T> = self.send_url(token, request, url, call).await?;
            items.extend(page.value);
            let next = page.next_link.and_then(|link| self.own_link(&link));
            match next {
                Some(next) if items.len() < limits.max_items => url = next,
                next => return Ok(Ok(self.page(items, next))),
            }
        }
        Ok(Ok(self.page(items, Some(url))))
    }

    fn page<T>(&self, items: Vec<T>, next: Option<Url>) -> Page<T> {
        Page {
            items,
            next: next.and_then(|url| self.cursor_for(&url)),
        }
    }

    /// A next link, if it points under this client's API root.
    fn own_link(&self, link: &str) -> Option<Url> {
        let url = Url::parse(link).ok()?;
        let same_origin = url.origin() == self.api_root.origin();
        (same_origin && url.path().starts_with(self.api_root.path())).then_some(url)
    }

    fn cursor_for(&self, url: &Url) -> Option<Cursor> {
        let relative = url.as_str().strip_prefix(self.api_root.as_str())?;
        Some(Cursor(relative.to_owned()))
    }

    fn cursor_url(&self, cursor: &Cursor) -> Option<Url> {
        let relative = &cursor.0;
        // Only a relative path: no scheme, no host, no way up and out of the API root.
        if relative.contains("://") || relative.starts_with('/') || relative.contains("..") {
            return None;
        }
        let url = self.api_root.join(relative).ok()?;
        self.own_link(url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::OutboundHttp;

    fn client() -> GraphClient {
        GraphClient::new(
            OutboundHttp::default(),
            &Url::parse("https://graph.microsoft.com").unwrap(),
        )
    }

    #[test]
    fn a_next_link_of_graph_becomes_a_cursor_and_back() {
        let client = client();
        let link = "https://graph.microsoft.com/v1.0/me/messages?%24skiptoken=abc&%24select=id";
        let url = client.own_link(link).unwrap();
        let cursor = client.cursor_for(&url).unwrap();
        assert!(!cursor.as_str().contains("graph.microsoft.com"));
        assert_eq!(client.cursor_url(&cursor).unwrap().as_str(), link);
    }

    #[test]
    fn links_and_cursors_elsewhere_are_refused() {
        let client = client();
        for link in [
            "https://evil.example/v1.0/me/messages",
            "http://graph.microsoft.com/v1.0/me",
            "https://graph.microsoft.com/beta/me",
        ] {
            assert!(client.own_link(link).is_none(), "{link}");
        }
        for relative in [
            "https://evil.example/v1.0/me",
            "//evil.example/v1.0/me",
            "/beta/me",
            "../beta/me",
            "me/../../beta/me",
        ] {
            let cursor = Cursor(relative.to_owned());
            assert!(client.cursor_url(&cursor).is_none(), "{relative}");
        }
    }
}
