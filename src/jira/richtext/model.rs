//! The document model shared by the ADF and wiki-markup converters.

use serde::{Deserialize, Serialize};

/// A rich-text document: a sequence of blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    pub blocks: Vec<Block>,
}

/// A block-level node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A paragraph of inline content (may be empty: ADF keeps empty paragraphs).
    Paragraph(Vec<Inline>),
    /// A heading, `level` 1 to 6.
    Heading {
        level: u8,
        content: Vec<Inline>,
    },
    BulletList(Vec<ListItem>),
    OrderedList(Vec<ListItem>),
    /// Preformatted text; `language` is `None` for `{noformat}` and language-less code blocks.
    CodeBlock {
        language: Option<String>,
        text: String,
    },
    Quote(Vec<Block>),
    Table(Vec<TableRow>),
    /// A horizontal rule (`----`, ADF `rule`).
    Rule,
}

/// One item of a bullet or ordered list; nested lists live in `blocks`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItem {
    pub blocks: Vec<Block>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub cells: Vec<TableCell>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCell {
    /// `true` for ADF `tableHeader` / wiki `||h||`.
    pub header: bool,
    pub blocks: Vec<Block>,
}

/// An inline node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inline {
    /// A run of text with its formatting.
    Text { text: String, marks: Marks },
    /// A hyperlink around inline content (ADF `link` mark, wiki `[text|url]`).
    Link { href: String, content: Vec<Inline> },
    /// A user mention. `id` is the Cloud account id or the Data Center user name;
    /// `text` is the display text ADF carries (often `@Name`), empty when unknown.
    Mention { id: String, text: String },
    /// A line break inside a paragraph (ADF `hardBreak`, wiki `\\` or a single newline).
    HardBreak,
}

/// Character formatting of a text run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Marks {
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    /// Monospace (ADF `code` mark, wiki `{{x}}`). In normal form it excludes the other marks.
    pub code: bool,
}

impl Marks {
    pub const PLAIN: Marks = Marks { bold: false, italic: false, underline: false, strike: false, code: false };
    pub const BOLD: Marks = Marks { bold: true, ..Marks::PLAIN };
    pub const ITALIC: Marks = Marks { italic: true, ..Marks::PLAIN };
    pub const UNDERLINE: Marks = Marks { underline: true, ..Marks::PLAIN };
    pub const STRIKE: Marks = Marks { strike: true, ..Marks::PLAIN };
    pub const CODE: Marks = Marks { code: true, ..Marks::PLAIN };

    /// No formatting at all.
    pub fn is_plain(&self) -> bool {
        *self == Marks::PLAIN
    }

    /// Whether any of bold, italic, underline or strike is set (the marks wiki writes with delimiters).
    pub fn has_emphasis(&self) -> bool {
        self.bold || self.italic || self.underline || self.strike
    }
}

impl Inline {
    /// Unformatted text.
    pub fn text(text: impl Into<String>) -> Inline {
        Inline::Text { text: text.into(), marks: Marks::PLAIN }
    }

    /// Formatted text.
    pub fn styled(text: impl Into<String>, marks: Marks) -> Inline {
        Inline::Text { text: text.into(), marks }
    }

    /// A link whose visible text is `text`.
    pub fn link(href: impl Into<String>, text: impl Into<String>) -> Inline {
        Inline::Link { href: href.into(), content: vec![Inline::text(text)] }
    }

    /// A mention without display text.
    pub fn mention(id: impl Into<String>) -> Inline {
        Inline::Mention { id: id.into(), text: String::new() }
    }

    fn is_blank(&self) -> bool {
        match self {
            Inline::Text { text, .. } => text.trim().is_empty(),
            Inline::HardBreak => true,
            Inline::Link { .. } | Inline::Mention { .. } => false,
        }
    }
}

impl Block {
    /// A paragraph of unformatted text.
    pub fn paragraph(text: impl Into<String>) -> Block {
        Block::Paragraph(vec![Inline::text(text)])
    }

    /// Whether the block shows nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Block::Paragraph(content) | Block::Heading { content, .. } => content.iter().all(Inline::is_blank),
            Block::BulletList(items) | Block::OrderedList(items) => {
                items.iter().all(|item| item.blocks.iter().all(Block::is_blank))
            }
            Block::CodeBlock { text, .. } => text.trim().is_empty(),
            Block::Quote(blocks) => blocks.iter().all(Block::is_blank),
            Block::Table(rows) => rows.iter().flat_map(|r| &r.cells).all(|c| c.blocks.iter().all(Block::is_blank)),
            Block::Rule => false,
        }
    }
}

impl ListItem {
    /// An item holding one paragraph of unformatted text.
    pub fn plain(text: impl Into<String>) -> ListItem {
        ListItem { blocks: vec![Block::paragraph(text)] }
    }
}

impl TableCell {
    /// A cell holding one paragraph of unformatted text.
    pub fn plain(header: bool, text: impl Into<String>) -> TableCell {
        TableCell { header, blocks: vec![Block::paragraph(text)] }
    }
}

impl Doc {
    /// A document made of `blocks`.
    pub fn new(blocks: Vec<Block>) -> Doc {
        Doc { blocks }
    }

    /// Whether the document shows nothing but whitespace (no blocks, or only blank ones).
    pub fn is_empty(&self) -> bool {
        self.blocks.iter().all(Block::is_blank)
    }

    /// A document of unformatted text: paragraphs split on blank lines, single newlines
    /// become hard breaks. Leading and trailing blank lines are ignored.
    pub fn plain(text: &str) -> Doc {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut blocks = Vec::new();
        let mut lines: Vec<&str> = Vec::new();
        for line in text.split('\n') {
            if line.trim().is_empty() {
                push_plain_paragraph(&mut blocks, &mut lines);
            } else {
                lines.push(line);
            }
        }
        push_plain_paragraph(&mut blocks, &mut lines);
        Doc { blocks }
    }
}

fn push_plain_paragraph(blocks: &mut Vec<Block>, lines: &mut Vec<&str>) {
    if lines.is_empty() {
        return;
    }
    let mut content = Vec::new();
    for (i, line) in lines.drain(..).enumerate() {
        if i > 0 {
            content.push(Inline::HardBreak);
        }
        content.push(Inline::text(line));
    }
    blocks.push(Block::Paragraph(content));
}
