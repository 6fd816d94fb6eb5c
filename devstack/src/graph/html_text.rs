//! How Outlook turns an HTML body into text for `Prefer: outlook.body-content-type="text"`.
//!
//! It keeps the words and drops the markup: tags, comments, `<head>`, `<style>` and `<script>`
//! contents, with block elements and `<br>` becoming line breaks and entities decoded. What it
//! does *not* do is render CSS, so text hidden with `display:none`, a zero font size or white
//! on white comes through as ordinary text. The devstack converts the same way on purpose: a
//! client that asks Graph for text to get "what the user sees" gets the hidden instructions
//! too, which is the mistake the hostile samples are there to catch.

/// Elements whose whole content is dropped, not just their tags.
const DROPPED: &[&str] = &["head", "style", "script", "title"];
/// Elements that start a new line.
const BLOCKS: &[&str] = &[
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol",
];

pub fn to_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&decode(&rest[..open]));
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if !tag.starts_with('/') && DROPPED.contains(&name.as_str()) {
            let end = format!("</{name}");
            rest = rest
                .to_ascii_lowercase()
                .find(&end)
                .and_then(|at| rest[at..].find('>').map(|close| &rest[at + close + 1..]))
                .unwrap_or("");
            continue;
        }
        if BLOCKS.contains(&name.as_str()) && !text.is_empty() && !text.ends_with('\n') {
            text.push_str("\r\n");
        }
    }
    text.push_str(&decode(rest));
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn decode(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// `text` escaped for HTML element content or a quoted attribute.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_goes_hidden_text_stays() {
        let html = "<html><head><style>.x{display:none}</style><title>T</title></head><body>\
                    <p>Hi&nbsp;Adele,</p><!-- a comment --><div style=\"display:none\">hidden \
                    words</div><p>Fish &amp; chips<br>at noon</p></body></html>";
        assert_eq!(
            to_text(html),
            "Hi Adele,\r\nhidden words\r\nFish & chips\r\nat noon"
        );
        assert_eq!(to_text("plain"), "plain");
        assert_eq!(to_text("<p>unclosed <b"), "unclosed");
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
