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
            Some(cursor) => match self.continuation_url(cursor.as_str()) {
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
    pub(crate) fn own_link(&self, link: &str) -> Option<Url> {
        let url = Url::parse(link).ok()?;
        let same_origin = url.origin() == self.api_root.origin();
        (same_origin && url.path().starts_with(self.api_root.path())).then_some(url)
    }

    pub(crate) fn cursor_for(&self, url: &Url) -> Option<Cursor> {
        let relative = url.as_str().strip_prefix(self.api_root.as_str())?;
        Some(Cursor(relative.to_owned()))
    }

    /// The URL a cursor's continuation (relative to the API root) stands for, if it stays under
    /// the API root. The continuation is appended to the root, never resolved against it, so no
    /// reference form (`https://host`, `//host`, `/path`) can leave Graph's host; the URL parser
    /// then removes dot segments (`..`, `%2e%2e`), and anything they lift out of the root is
    /// refused. This is the exact inverse of [`Self::cursor_for`]: a query may hold `..` or
    /// `://` (a `$search` phrase, a `$filter` on a web URL) and still come back.
    pub(crate) fn continuation_url(&self, relative: &str) -> Option<Url> {
        let url = Url::parse(&format!("{}{relative}", self.api_root)).ok()?;
        self.own_link(url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::outbound::OutboundHttp;

    const ROOT: &str = "https://graph.microsoft.com/v1.0/";

    /// Text the way next links and cursors are made of, with the pieces that could escape.
    fn link_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9_=&$%]{0,8}",
            Just("/".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just("..".to_owned()),
            Just("%2e%2E".to_owned()),
            Just("\\".to_owned()),
            Just("://".to_owned()),
            Just("//evil.example/".to_owned()),
            Just("@".to_owned()),
            Just("https:".to_owned()),
            Just(" ".to_owned()),
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        // The same properties as the `cursor` fuzz target.
        #[test]
        fn a_continuation_resolves_only_under_the_api_root(text in link_text()) {
            if let Some(url) = client().continuation_url(&text) {
                prop_assert!(url.as_str().starts_with(ROOT), "{:?} -> {}", text, url);
            }
        }

        #[test]
        fn a_next_link_under_the_api_root_survives_the_round_trip(text in link_text()) {
            let client = client();
            let link = format!("{ROOT}{text}");
            let Some(url) = client.own_link(&link) else { return Ok(()) };
            let cursor = client.cursor_for(&url);
            prop_assert!(cursor.is_some(), "{}", link);
            let resolved = client.continuation_url(cursor.unwrap().as_str());
            prop_assert_eq!(resolved, Some(url));
        }
    }

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
        assert_eq!(
            client.continuation_url(cursor.as_str()).unwrap().as_str(),
            link
        );
    }

    #[test]
    fn links_elsewhere_are_refused_and_continuations_stay_under_the_api_root() {
        let client = client();
        for link in [
            "https://evil.example/v1.0/me/messages",
            "http://graph.microsoft.com/v1.0/me",
            "https://graph.microsoft.com/beta/me",
        ] {
            assert!(client.own_link(link).is_none(), "{link}");
        }
        for relative in [
            "../beta/me",
            "me/../../beta/me",
            "%2e%2e/beta/me",
            "me\\..\\..\\beta",
        ] {
            assert!(client.continuation_url(relative).is_none(), "{relative}");
        }
        // A continuation that looks like another host or an absolute path is a path on Graph.
        for relative in [
            "https://evil.example/v1.0/me",
            "//evil.example/v1.0/me",
            "/beta/me",
        ] {
            let url = client.continuation_url(relative).unwrap();
            assert_eq!(url.host_str(), Some("graph.microsoft.com"), "{relative}");
            assert!(url.path().starts_with("/v1.0/"), "{relative} -> {url}");
        }
    }

    /// Found by the property test above (and the `cursor` fuzz target): cursors for these next
    /// links were refused, so the listing could not be continued.
    #[test]
    fn next_links_with_dots_or_a_backslash_come_back_from_their_cursor() {
        let client = client();
        for link in [
            "https://graph.microsoft.com/v1.0/me/messages?$search=%22a..b%22&$skiptoken=x",
            "https://graph.microsoft.com/v1.0/me/drive/root/search(q='x')?$filter=webUrl%20eq%20'https://contoso.example'",
            "https://graph.microsoft.com/v1.0/\\",
        ] {
            let url = client.own_link(link).unwrap();
            let cursor = client.cursor_for(&url).unwrap();
            assert_eq!(
                client.continuation_url(cursor.as_str()),
                Some(url),
                "{link}"
            );
        }
    }
}
