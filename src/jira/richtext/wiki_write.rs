//! [`Doc`] to and from wiki markup, block level.
//!
//! Writing: blocks are separated by blank lines (empty paragraphs are skipped). A quote of one
//! paragraph is `bq. `, any other `{quote}...{quote}`. A code block with a language is
//! `{code:lang}`, without one `{noformat}` (a bare `{code}` means Java in Jira); if the text holds
//! the closing tag the other form is used. What wiki cannot nest is flattened onto the line:
//! a list item's or a table cell's blocks other than its first paragraph (and an item's nested
//! lists) are appended after `\\` breaks, code as `{{monospace}}` lines, other blocks as their text.
//!
//! Reading (`wiki_block.rs`, `wiki_inline.rs`) ends with the writer's canonical form of inline
//! content (`wiki_write_inline.rs`), so that what was read writes back as it reads.

use super::model::{Block, Doc, Inline, ListItem, Marks, TableRow};
use super::text::block_text;
use super::wiki_block::parse_blocks;
use super::wiki_write_inline::{canonical, write_inlines};

impl Doc {
    /// Parses Jira wiki markup. Never fails; the result is in normal form.
    pub fn from_wiki(s: &str) -> Doc {
        let src = s.replace("\r\n", "\n").replace('\r', "\n");
        let mut doc = Doc { blocks: parse_blocks(&src) }.normalised();
        canonical_blocks(&mut doc.blocks);
        doc
    }

    /// Writes the document (in normal form) as Jira wiki markup.
    pub fn to_wiki(&self) -> String {
        let doc = self.clone().normalised();
        blocks(&doc.blocks)
    }
}

/// Applies the writer's canonical form to all inline content, so that what was read writes back
/// as it reads: e.g. `_a [b|url]_` reads as italic `a`, a plain space, and an italic link.
fn canonical_blocks(blocks: &mut [Block]) {
    for block in blocks {
        match block {
            Block::Paragraph(content) | Block::Heading { content, .. } => *content = canonical(content),
            Block::BulletList(items) | Block::OrderedList(items) => {
                items.iter_mut().for_each(|item| canonical_blocks(&mut item.blocks))
            }
            Block::Quote(inner) => canonical_blocks(inner),
            Block::Table(rows) => {
                rows.iter_mut().flat_map(|r| &mut r.cells).for_each(|c| canonical_blocks(&mut c.blocks))
            }
            Block::CodeBlock { .. } | Block::Rule => {}
        }
    }
}

fn blocks(blocks: &[Block]) -> String {
    let parts: Vec<String> = blocks.iter().map(block).filter(|s| !s.is_empty()).collect();
    parts.join("\n\n")
}

fn block(block: &Block) -> String {
    let mut out = String::new();
    match block {
        Block::Paragraph(content) => write_inlines(&mut out, content, true, None),
        Block::Heading { level, content } => {
            out.push_str(&format!("h{level}. "));
            write_inlines(&mut out, content, false, None);
        }
        Block::BulletList(items) => list(&mut out, items, "*"),
        Block::OrderedList(items) => list(&mut out, items, "#"),
        Block::CodeBlock { language, text } => code_block(&mut out, language.as_deref(), text),
        Block::Quote(inner) => quote(&mut out, inner),
        Block::Table(rows) => table(&mut out, rows),
        Block::Rule => out.push_str("----"),
    }
    out
}

fn code_block(out: &mut String, language: Option<&str>, text: &str) {
    let safe = |l: &&str| l.chars().all(|c| c.is_ascii_alphanumeric() || "+#._-".contains(c));
    let code = match language.filter(safe) {
        Some(lang) if !text.contains("{code}") => format!("code:{lang}"),
        None if !text.contains("{noformat}") => "noformat".to_string(),
        _ if text.contains("{code}") => "noformat".to_string(),
        _ => "code".to_string(),
    };
    let close = code.split(':').next().unwrap_or("noformat");
    out.push_str(&format!("{{{code}}}\n{text}\n{{{close}}}"));
}

fn quote(out: &mut String, inner: &[Block]) {
    let shown: Vec<Block> =
        inner.iter().filter(|b| !matches!(b, Block::Paragraph(c) if canonical(c).is_empty())).cloned().collect();
    match shown.as_slice() {
        [] => {}
        [Block::Paragraph(content)] => {
            out.push_str("bq. ");
            write_inlines(out, content, false, None);
        }
        _ => out.push_str(&format!("{{quote}}\n{}\n{{quote}}", blocks(&shown))),
    }
}

fn list(out: &mut String, items: &[ListItem], prefix: &str) {
    for item in items {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(prefix);
        out.push(' ');
        let (line, nested) = item_parts(item);
        write_inlines(out, &line, false, None);
        for sub in nested {
            match sub {
                Block::BulletList(items) => list(out, items, &format!("{prefix}*")),
                Block::OrderedList(items) => list(out, items, &format!("{prefix}#")),
                _ => {}
            }
        }
    }
}

/// The inline content of an item's line and its nested lists.
fn item_parts(item: &ListItem) -> (Vec<Inline>, Vec<&Block>) {
    let (lists, others): (Vec<&Block>, Vec<&Block>) =
        item.blocks.iter().partition(|b| matches!(b, Block::BulletList(_) | Block::OrderedList(_)));
    (flatten(&others), lists)
}

/// Blocks as one line of inline content, separated by hard breaks.
fn flatten(blocks: &[&Block]) -> Vec<Inline> {
    let mut line = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        if i > 0 {
            line.push(Inline::HardBreak);
        }
        line.extend(block_inlines(b));
    }
    line
}

fn block_inlines(block: &Block) -> Vec<Inline> {
    match block {
        Block::Paragraph(content) | Block::Heading { content, .. } => content.clone(),
        Block::CodeBlock { text, .. } => lines(text, Marks::CODE),
        other => lines(&block_text(other), Marks::PLAIN),
    }
}

fn lines(text: &str, marks: Marks) -> Vec<Inline> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push(Inline::HardBreak);
        }
        out.push(Inline::styled(line, marks));
    }
    out
}

fn table(out: &mut String, rows: &[TableRow]) {
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            out.push('\n');
        }
        for cell in &row.cells {
            out.push_str(if cell.header { "||" } else { "|" });
            let content = flatten(&cell.blocks.iter().collect::<Vec<_>>());
            let before = out.len();
            write_inlines(out, &content, false, Some('|'));
            if out.len() == before {
                out.push(' ');
            }
        }
        out.push_str(if row.cells.last().is_some_and(|c| c.header) { "||" } else { "|" });
    }
}
