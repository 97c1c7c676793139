//! Rich text for Jira: one document model ([`Doc`]) read from and written to
//! Atlassian Document Format (ADF, Jira Cloud REST v3) and wiki markup (Jira Data Center REST v2),
//! and rendered as plain text.
//!
//! ```text
//! let doc = Doc::from_wiki("h1. Title\n\nSome *bold* text, see [docs|https://example.com].");
//! assert_eq!(Doc::from_adf(&doc.to_adf()), doc);
//! assert_eq!(doc.to_wiki(), "h1. Title\n\nSome *bold* text, see [docs|https://example.com].");
//! assert_eq!(doc.to_plain_text(), "Title\n\nSome bold text, see docs (https://example.com).");
//! ```
//! (This example runs as the unit test `tests::text::module_doc_example`.)
//!
//! # Normal form
//! Every reader returns a document in normal form and every writer normalises a copy first
//! ([`Doc::normalise`], rules in `normalise.rs`): runs merged, no empty runs, `code` alone with
//! its link, links holding only text, and block nesting limited to what ADF allows.
//! For documents in normal form `Doc -> ADF -> Doc` is the identity.
//!
//! # What wiki markup cannot carry
//! `Doc -> wiki -> Doc` is the identity for documents in normal form that also keep to what wiki
//! can say:
//! - no empty paragraphs outside list items and table cells, no spaces at the edges of a paragraph,
//!   heading, list item or table cell, nor just inside a bold, italic, underlined or struck run
//!   (the writer trims or moves them);
//! - a list item is one paragraph followed by nested lists of alternating kinds, a table cell is
//!   one paragraph (other content is flattened onto the line with `\\` breaks);
//! - a quote holds paragraphs, lists and code blocks;
//! - mentions carry no display text (wiki has only the id) and their ids hold none of
//!   `[ ] | \ { }` nor control characters (such a mention is written as the text `@id`);
//! - link addresses hold no spaces nor any of `[ ] | \ { }` (those are percent-encoded);
//! - code-block languages are made of `[A-Za-z0-9+#._-]` (others are dropped), and a code block's
//!   text holds neither `{code}` nor `{noformat}` (if it holds one, the other tag is used and a
//!   language is dropped).
//!
//! Reading wiki applies the writer's canonical form (spaces moved out of runs, edges trimmed), so
//! wiki that was read writes back the same way; `from_wiki(to_wiki(d))` is always stable after one
//! round. Hard breaks are written as a newline inside top-level and `{quote}` paragraphs when that
//! reads back the same, else (and in headings, items, cells) as `\\`.
//!
//! Mentions are written `[~accountid:ID]` when the id looks like a Cloud account id (24 lower-case
//! letters and digits, or `NNN:uuid`), else `[~ID]`; both forms read back to the bare id.
//!
//! # Unsupported constructs
//! - ADF nodes the model lacks degrade to readable content, never vanishing (see `adf_read.rs`):
//!   a panel or expand becomes its content, a status/emoji/placeholder its text, a date its day, an
//!   inline or block card a link showing its address, media `[attachment]`, an unknown node its
//!   content or text (`[TYPE]` for an unknown empty leaf). Unknown marks are dropped, and so are attributes the model has no
//!   place for (an ordered list's start number, table layout and column spans, colours).
//! - Wiki markup the model lacks stays readable text: the tags of `{color}`, `{panel}` and
//!   `{anchor}` are dropped (a panel's or code block's title becomes a bold paragraph), anything
//!   else — `^sup^`, `~sub~`, `??cite??`, `!image.png!`, emoticons, unknown `{macro}` tags — is kept
//!   literally as text (and escaped when written back, so it keeps reading as text).

mod adf_read;
mod adf_write;
mod model;
mod normalise;
mod text;
mod wiki_block;
mod wiki_escape;
mod wiki_inline;
mod wiki_write;
mod wiki_write_inline;

#[cfg(test)]
mod tests;

pub use model::{Block, Doc, Inline, ListItem, Marks, TableCell, TableRow};
