//! Normal form: the canonical, content-preserving shape that every converter returns.
//!
//! Inline rules:
//! - empty text runs are dropped, `\r` is removed, a `\n` inside text becomes a [`Inline::HardBreak`];
//! - a `code` run carries no other mark but its link (ADF forbids `code` with `strong`, `em`, ...);
//! - adjacent runs with equal marks and equal link are merged;
//! - a link holds only text runs: a mention or hard break inside a link splits it, a link inside a
//!   link takes the inner address, adjacent links to the same address are merged, and a link
//!   without any text shows its address as text.
//!
//! Block rules (what ADF allows where):
//! - heading levels are clamped to 1..=6, an empty code-block language becomes `None`;
//! - lists without items, quotes without blocks and tables without cells are dropped;
//! - in a list item or a quote, a heading becomes a paragraph, a quote or table is replaced by the
//!   blocks it contains, and a rule is dropped;
//! - in a table cell a nested table is replaced by the blocks of its cells; an empty cell gets an
//!   empty paragraph;
//! - a list item starts with a paragraph or a code block (an empty paragraph is inserted if not),
//!   and adjacent lists of the same kind inside one item are merged.

use super::model::{Block, Doc, Inline, ListItem, Marks, TableCell, TableRow};

impl Doc {
    /// Brings the document into normal form (see the module documentation of `normalise.rs`).
    pub fn normalise(&mut self) {
        let blocks = std::mem::take(&mut self.blocks);
        self.blocks = blocks_in(blocks, Ctx::Top);
    }

    /// The document in normal form.
    pub fn normalised(mut self) -> Doc {
        self.normalise();
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Item,
    Quote,
    Cell,
}

fn blocks_in(blocks: Vec<Block>, ctx: Ctx) -> Vec<Block> {
    let mut out = Vec::new();
    for block in blocks {
        block_in(block, ctx, &mut out);
    }
    out
}

fn block_in(block: Block, ctx: Ctx, out: &mut Vec<Block>) {
    let nested = matches!(ctx, Ctx::Item | Ctx::Quote);
    match block {
        Block::Paragraph(content) => out.push(Block::Paragraph(inlines(content))),
        Block::Heading { content, .. } if nested => out.push(Block::Paragraph(inlines(content))),
        Block::Heading { level, content } => {
            out.push(Block::Heading { level: level.clamp(1, 6), content: inlines(content) })
        }
        Block::BulletList(items) => push_list(out, items, Block::BulletList),
        Block::OrderedList(items) => push_list(out, items, Block::OrderedList),
        Block::CodeBlock { language, text } => {
            let language = language.filter(|l| !l.trim().is_empty());
            out.push(Block::CodeBlock { language, text: text.replace('\r', "") })
        }
        Block::Quote(inner) if nested => out.extend(blocks_in(inner, ctx)),
        Block::Quote(inner) => {
            let inner = blocks_in(inner, Ctx::Quote);
            if !inner.is_empty() {
                out.push(Block::Quote(inner));
            }
        }
        Block::Table(rows) if ctx != Ctx::Top => {
            let cells = rows.into_iter().flat_map(|r| r.cells);
            out.extend(blocks_in(cells.flat_map(|c| c.blocks).collect(), ctx));
        }
        Block::Table(rows) => push_table(out, rows),
        Block::Rule if nested => {}
        Block::Rule => out.push(Block::Rule),
    }
}

fn push_list(out: &mut Vec<Block>, items: Vec<ListItem>, make: fn(Vec<ListItem>) -> Block) {
    let items: Vec<ListItem> = items.into_iter().map(list_item).collect();
    if !items.is_empty() {
        out.push(make(items));
    }
}

fn list_item(item: ListItem) -> ListItem {
    let mut blocks: Vec<Block> = Vec::new();
    for block in blocks_in(item.blocks, Ctx::Item) {
        match (blocks.last_mut(), block) {
            (Some(Block::BulletList(prev)), Block::BulletList(more)) => prev.extend(more),
            (Some(Block::OrderedList(prev)), Block::OrderedList(more)) => prev.extend(more),
            (_, block) => blocks.push(block),
        }
    }
    if !matches!(blocks.first(), Some(Block::Paragraph(_) | Block::CodeBlock { .. })) {
        blocks.insert(0, Block::Paragraph(Vec::new()));
    }
    ListItem { blocks }
}

fn push_table(out: &mut Vec<Block>, rows: Vec<TableRow>) {
    let rows: Vec<TableRow> = rows
        .into_iter()
        .map(|row| TableRow { cells: row.cells.into_iter().map(cell).collect() })
        .filter(|row| !row.cells.is_empty())
        .collect();
    if !rows.is_empty() {
        out.push(Block::Table(rows));
    }
}

fn cell(cell: TableCell) -> TableCell {
    let mut blocks = blocks_in(cell.blocks, Ctx::Cell);
    if blocks.is_empty() {
        blocks.push(Block::Paragraph(Vec::new()));
    }
    TableCell { header: cell.header, blocks }
}

/// A flattened inline: text carries its link address.
enum Atom {
    Text(String, Marks, Option<String>),
    Mention(String, String),
    Break,
}

/// Normalises a sequence of inlines (see the module documentation).
pub(super) fn inlines(content: Vec<Inline>) -> Vec<Inline> {
    let mut atoms = Vec::new();
    flatten(content, None, &mut atoms);
    regroup(atoms)
}

fn flatten(content: Vec<Inline>, href: Option<&str>, atoms: &mut Vec<Atom>) {
    for inline in content {
        match inline {
            Inline::Text { text, marks } => push_text(atoms, &text, marks, href),
            Inline::Mention { id, text } => atoms.push(Atom::Mention(id, text)),
            Inline::HardBreak => atoms.push(Atom::Break),
            Inline::Link { href, content } => flatten_link(&href, content, atoms),
        }
    }
}

fn flatten_link(href: &str, content: Vec<Inline>, atoms: &mut Vec<Atom>) {
    if !has_text(&content) {
        push_text(atoms, href, Marks::PLAIN, Some(href));
    }
    flatten(content, Some(href), atoms);
}

fn has_text(content: &[Inline]) -> bool {
    content.iter().any(|inline| match inline {
        Inline::Text { text, .. } => !text.replace(['\r', '\n'], "").is_empty(),
        Inline::Link { content, .. } => has_text(content),
        Inline::Mention { .. } | Inline::HardBreak => false,
    })
}

fn push_text(atoms: &mut Vec<Atom>, text: &str, marks: Marks, href: Option<&str>) {
    let marks = if marks.code { Marks::CODE } else { marks };
    let text = text.replace('\r', "");
    for (i, piece) in text.split('\n').enumerate() {
        if i > 0 {
            atoms.push(Atom::Break);
        }
        if piece.is_empty() {
            continue;
        }
        if let Some(Atom::Text(prev, prev_marks, prev_href)) = atoms.last_mut() {
            if *prev_marks == marks && prev_href.as_deref() == href {
                prev.push_str(piece);
                continue;
            }
        }
        atoms.push(Atom::Text(piece.to_string(), marks, href.map(str::to_string)));
    }
}

fn regroup(atoms: Vec<Atom>) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    for atom in atoms {
        match atom {
            Atom::Break => out.push(Inline::HardBreak),
            Atom::Mention(id, text) => out.push(Inline::Mention { id, text }),
            Atom::Text(text, marks, None) => out.push(Inline::Text { text, marks }),
            Atom::Text(text, marks, Some(href)) => push_linked(&mut out, text, marks, href),
        }
    }
    out
}

fn push_linked(out: &mut Vec<Inline>, text: String, marks: Marks, href: String) {
    if let Some(Inline::Link { href: prev, content }) = out.last_mut() {
        if *prev == href {
            content.push(Inline::Text { text, marks });
            return;
        }
    }
    out.push(Inline::Link { href, content: vec![Inline::Text { text, marks }] });
}
