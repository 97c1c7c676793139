//! Plain-text rendering.
//!
//! Blocks are separated by blank lines, hard breaks are newlines. Formatting is dropped; a link
//! shows its text followed by ` (address)` when the two differ; a mention is `@` and its display
//! text (or its id when it has none). List items start with `- ` or `1. `, nested ones are indented
//! by two spaces; quote lines start with `> `; table cells are separated by ` | `; code blocks keep
//! their text as is; a rule is `----`.

use super::model::{Block, Doc, Inline, ListItem, TableRow};

impl Doc {
    /// The document as plain text.
    pub fn to_plain_text(&self) -> String {
        self.blocks.iter().map(block_text).collect::<Vec<_>>().join("\n\n")
    }
}

/// The plain text of one block.
pub(super) fn block_text(block: &Block) -> String {
    match block {
        Block::Paragraph(content) | Block::Heading { content, .. } => inline_text(content),
        Block::BulletList(items) => list_text(items, false),
        Block::OrderedList(items) => list_text(items, true),
        Block::CodeBlock { text, .. } => text.clone(),
        Block::Quote(inner) => prefix_lines(&inner.iter().map(block_text).collect::<Vec<_>>().join("\n\n"), "> "),
        Block::Table(rows) => rows.iter().map(row_text).collect::<Vec<_>>().join("\n"),
        Block::Rule => "----".to_string(),
    }
}

/// The plain text of inline content.
pub(super) fn inline_text(content: &[Inline]) -> String {
    let mut out = String::new();
    for inline in content {
        match inline {
            Inline::Text { text, .. } => out.push_str(text),
            Inline::Link { href, content } => {
                let text = inline_text(content);
                out.push_str(&text);
                if text.trim() != href.trim() && !href.is_empty() {
                    out.push_str(&format!(" ({href})"));
                }
            }
            Inline::Mention { id, text } => {
                let name = text.trim().trim_start_matches('@');
                out.push('@');
                out.push_str(if name.is_empty() { id } else { name });
            }
            Inline::HardBreak => out.push('\n'),
        }
    }
    out
}

fn list_text(items: &[ListItem], ordered: bool) -> String {
    let mut lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let marker = if ordered { format!("{}. ", i + 1) } else { "- ".to_string() };
        let body = item.blocks.iter().map(block_text).collect::<Vec<_>>().join("\n");
        let indent = " ".repeat(marker.chars().count());
        let body = prefix_lines(&body, &indent);
        lines.push(format!("{marker}{}", &body[indent.len().min(body.len())..]));
    }
    lines.join("\n")
}

fn row_text(row: &TableRow) -> String {
    let cells = row.cells.iter().map(|c| {
        let text = c.blocks.iter().map(block_text).collect::<Vec<_>>().join(" ");
        text.split('\n').map(str::trim).collect::<Vec<_>>().join(" ")
    });
    cells.collect::<Vec<_>>().join(" | ")
}

fn prefix_lines(text: &str, prefix: &str) -> String {
    text.split('\n').map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}
