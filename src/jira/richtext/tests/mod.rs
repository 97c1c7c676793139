//! Tests of the rich-text module.

mod adf;
mod degrade;
mod generators;
mod normal;
mod props;
mod samples;
mod text;
mod wiki_parse;
mod wiki_write;

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, TableRow};

fn t(text: &str) -> Inline {
    Inline::text(text)
}

fn styled(text: &str, marks: Marks) -> Inline {
    Inline::styled(text, marks)
}

fn para(content: Vec<Inline>) -> Block {
    Block::Paragraph(content)
}

fn doc(blocks: Vec<Block>) -> Doc {
    Doc { blocks }
}

fn item(content: Vec<Inline>, nested: Vec<Block>) -> ListItem {
    let mut blocks = vec![Block::Paragraph(content)];
    blocks.extend(nested);
    ListItem { blocks }
}

fn row(cells: Vec<TableCell>) -> TableRow {
    TableRow { cells }
}

/// Parses `wiki`, checks the result, and checks that writing it gives `wiki` back.
fn wiki_both_ways(wiki: &str, expected: &Doc) {
    assert_eq!(&Doc::from_wiki(wiki), expected, "parsing {wiki:?}");
    assert_eq!(expected.to_wiki(), wiki, "writing {expected:?}");
}
