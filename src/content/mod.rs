//! Untrusted content from Microsoft 365, reduced to what a person would see.
//!
//! Mail bodies, event descriptions, files and search hits are written by whoever sent or shared
//! them, and this server hands them to an AI model. A model reads every character it is given,
//! so anything a person would not see (text hidden by CSS, white on white, HTML comments,
//! zero-width and bidirectional control characters, a worksheet marked hidden) is a channel for
//! instructions the user never saw. The functions here turn content into the plain text a
//! person reading it would see, and bound its size, before a tool puts it in a result:
//!
//! - [`html::visible_text`]: an HTML body as the text a mail client would show, with the
//!   targets of its links written out.
//! - [`text::clean`]: removes invisible and direction-control characters from any string
//!   (subjects and names too); [`text::truncate`]: cuts a text to `max_chars` and says so.
//! - [`documents::extract`]: the text of a file (plain text, Markdown, CSV, JSON, HTML, Word,
//!   Excel, PowerPoint, PDF), within size limits that hostile files cannot get around.
//!
//! Everything here is a pure function of its input, never logs content, and never panics on
//! hostile input. What these functions do not do is make content trustworthy: a visible
//! sentence can still say "ignore your instructions". The tools that call them mark their
//! output as data from Microsoft 365, which is the other half of the defence.

mod color;
pub mod documents;
pub mod html;
pub mod text;
