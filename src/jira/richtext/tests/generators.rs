//! Generators of documents for the property tests.
//!
//! - [`wiki_doc`]: documents in normal form that wiki markup can carry exactly (see the crate docs):
//!   text full of wiki special characters, spaces inside and around runs but not at the edges of a
//!   paragraph, heading, item or cell, nor just inside bold/italic/underline/strike runs.
//! - [`any_doc`]: any document in normal form (everything ADF can carry): arbitrary nesting, spaces
//!   anywhere, empty paragraphs, mentions with display text, newlines in text.

use proptest::collection::vec;
use proptest::prelude::*;

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, TableRow};

const SPECIALS: &[char] = &[
    '*', '_', '-', '+', '{', '}', '[', ']', '|', '!', '^', '~', '\\', '#', '&', '?', '.', ':', '(', ')', ';', '/', '"',
];

const LETTERS: &[char] = &['a', 'b', 'h', 'q', 'x', '1', '2', 'é'];

fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        5 => prop::sample::select(LETTERS.to_vec()),
        2 => Just(' '),
        5 => prop::sample::select(SPECIALS.to_vec()),
    ]
}

fn non_space_char() -> impl Strategy<Value = char> {
    prop_oneof![prop::sample::select(LETTERS.to_vec()), prop::sample::select(SPECIALS.to_vec())]
}

fn text(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    vec(text_char(), len).prop_map(|chars| chars.into_iter().collect())
}

/// Text without spaces at its edges.
fn core_text() -> impl Strategy<Value = String> {
    prop_oneof![
        non_space_char().prop_map(String::from),
        (non_space_char(), text(0..=5), non_space_char()).prop_map(|(a, mid, b)| format!("{a}{mid}{b}")),
    ]
}

fn emphasis() -> impl Strategy<Value = Marks> {
    (1u8..16).prop_map(|f| Marks {
        bold: f & 1 != 0,
        italic: f & 2 != 0,
        underline: f & 4 != 0,
        strike: f & 8 != 0,
        code: false,
    })
}

fn run() -> impl Strategy<Value = Inline> {
    prop_oneof![
        3 => text(1..=8).prop_map(Inline::text),
        2 => (core_text(), emphasis()).prop_map(|(t, m)| Inline::styled(t, m)),
        1 => text(1..=6).prop_map(|t| Inline::styled(t, Marks::CODE)),
    ]
}

fn href() -> impl Strategy<Value = String> {
    prop_oneof!["https://[a-z0-9._~*#?&=-]{1,10}", "mailto:[a-z]{1,5}@[a-z]{1,5}\\.org", "[a-z#^~][a-z0-9/_.-]{0,6}",]
}

fn link() -> impl Strategy<Value = Inline> {
    prop_oneof![
        (href(), vec(run(), 1..=3)).prop_map(|(href, content)| Inline::Link { href, content }),
        href().prop_map(|h| Inline::link(h.clone(), h)),
    ]
}

fn mention_id() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-z0-9._-]{0,8}", "[0-9a-f]{24}", "[0-9]{6}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}"]
}

fn inline() -> impl Strategy<Value = Inline> {
    prop_oneof![
        8 => run(),
        2 => link(),
        1 => mention_id().prop_map(Inline::mention),
        2 => Just(Inline::HardBreak),
    ]
}

fn inlines(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Inline>> {
    vec(inline(), len)
}

fn code_block() -> impl Strategy<Value = Block> {
    let language = prop::option::of(prop::sample::select(vec!["java", "rust", "c++", "go", "c#"]));
    let text = vec(prop_oneof![4 => text_char(), 1 => Just('\n'), 1 => Just('\t')], 0..=20)
        .prop_map(|c| c.into_iter().collect::<String>())
        .prop_filter("no closing tag", |t| !t.contains("{code}") && !t.contains("{noformat}"));
    (language, text).prop_map(|(l, text)| Block::CodeBlock { language: l.map(str::to_string), text })
}

fn list(depth: u32, item_blocks: BoxedStrategy<Vec<Block>>) -> BoxedStrategy<Block> {
    let item = if depth == 0 {
        item_blocks.prop_map(|blocks| ListItem { blocks }).boxed()
    } else {
        (item_blocks.clone(), vec(list(depth - 1, item_blocks), 0..=2))
            .prop_map(|(mut blocks, nested)| {
                blocks.extend(nested);
                ListItem { blocks }
            })
            .boxed()
    };
    (any::<bool>(), vec(item, 1..=3))
        .prop_map(|(ordered, items)| if ordered { Block::OrderedList(items) } else { Block::BulletList(items) })
        .boxed()
}

fn table(cell_blocks: BoxedStrategy<Vec<Block>>) -> impl Strategy<Value = Block> {
    let cell = (any::<bool>(), cell_blocks).prop_map(|(header, blocks)| TableCell { header, blocks });
    vec(vec(cell, 1..=3).prop_map(|cells| TableRow { cells }), 1..=3).prop_map(Block::Table)
}

fn one_paragraph(len: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Block>> {
    inlines(len).prop_map(|c| vec![Block::Paragraph(c)]).boxed()
}

/// Documents wiki markup carries exactly.
pub(super) fn wiki_doc() -> impl Strategy<Value = Doc> {
    let paragraph = inlines(1..=6).prop_map(Block::Paragraph).boxed();
    let quote =
        vec(prop_oneof![paragraph.clone(), list(1, one_paragraph(0..=3)), code_block()], 1..=3).prop_map(Block::Quote);
    let block = prop_oneof![
        4 => paragraph,
        1 => (1u8..=6, inlines(0..=4)).prop_map(|(level, content)| Block::Heading { level, content }),
        2 => list(2, one_paragraph(0..=4)),
        1 => code_block(),
        1 => quote,
        1 => table(one_paragraph(0..=3)),
        1 => Just(Block::Rule),
    ];
    vec(block, 0..=5).prop_map(|blocks| wiki_fix(Doc { blocks }.normalised()))
}

/// Trims what wiki trims (edges of paragraphs, headings, items and cells) and drops the paragraphs
/// that become empty where wiki cannot show an empty paragraph.
fn wiki_fix(doc: Doc) -> Doc {
    Doc { blocks: fix_blocks(doc.blocks, false) }.normalised()
}

fn fix_blocks(blocks: Vec<Block>, keep_empty: bool) -> Vec<Block> {
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Paragraph(content) => {
                let content = trim(content);
                if keep_empty || !content.is_empty() {
                    out.push(Block::Paragraph(content));
                }
            }
            Block::Heading { level, content } => out.push(Block::Heading { level, content: trim(content) }),
            Block::BulletList(items) => out.push(Block::BulletList(fix_items(items))),
            Block::OrderedList(items) => out.push(Block::OrderedList(fix_items(items))),
            Block::Quote(inner) => out.push(Block::Quote(fix_blocks(inner, false))),
            Block::Table(rows) => out.push(Block::Table(fix_rows(rows))),
            other => out.push(other),
        }
    }
    out
}

fn fix_items(items: Vec<ListItem>) -> Vec<ListItem> {
    items.into_iter().map(|i| ListItem { blocks: fix_blocks(i.blocks, true) }).collect()
}

fn fix_rows(rows: Vec<TableRow>) -> Vec<TableRow> {
    let cell = |c: TableCell| TableCell { header: c.header, blocks: fix_blocks(c.blocks, true) };
    rows.into_iter().map(|r| TableRow { cells: r.cells.into_iter().map(cell).collect() }).collect()
}

fn trim(mut content: Vec<Inline>) -> Vec<Inline> {
    while let Some(Inline::Text { text, marks }) = content.first_mut() {
        if marks.code {
            break;
        }
        *text = text.trim_start().to_string();
        if !text.is_empty() {
            break;
        }
        content.remove(0);
    }
    while let Some(Inline::Text { text, marks }) = content.last_mut() {
        if marks.code {
            break;
        }
        *text = text.trim_end().to_string();
        if !text.is_empty() {
            break;
        }
        content.pop();
    }
    content
}

fn any_inline() -> impl Strategy<Value = Inline> {
    let any_marks =
        any::<[bool; 5]>().prop_map(|f| Marks { bold: f[0], italic: f[1], underline: f[2], strike: f[3], code: f[4] });
    let any_text = vec(prop_oneof![4 => text_char(), 1 => Just('\n'), 1 => Just('\u{a0}')], 0..=8)
        .prop_map(|c| c.into_iter().collect::<String>());
    let leaf = prop_oneof![
        6 => (any_text, any_marks).prop_map(|(t, m)| Inline::styled(t, m)),
        1 => (mention_id(), "(@[A-Z][a-z]{0,5})?").prop_map(|(id, text)| Inline::Mention { id, text }),
        1 => Just(Inline::HardBreak),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        (href(), vec(inner, 0..=3)).prop_map(|(href, content)| Inline::Link { href, content })
    })
}

/// Any document (normalised).
pub(super) fn any_doc() -> impl Strategy<Value = Doc> {
    let paragraph = vec(any_inline(), 0..=5).prop_map(Block::Paragraph);
    let leaf = prop_oneof![
        4 => paragraph,
        1 => (0u8..=8, vec(any_inline(), 0..=4)).prop_map(|(level, content)| Block::Heading { level, content }),
        1 => code_block(),
        1 => Just(Block::Rule),
    ];
    let block = leaf.prop_recursive(3, 24, 4, |inner| {
        let blocks = vec(inner.clone(), 0..=3).boxed();
        prop_oneof![list(0, blocks.clone()), vec(inner, 0..=3).prop_map(Block::Quote), table(blocks),]
    });
    vec(block, 0..=5).prop_map(|blocks| Doc { blocks }.normalised())
}

/// A readable word: nothing wiki escapes, so it must show as it is.
fn word() -> impl Strategy<Value = String> {
    "[a-z]{4,8}"
}

type Adf = (serde_json::Value, Vec<String>);

fn text_node(w: String) -> Adf {
    (serde_json::json!({"type": "text", "text": w}), vec![w])
}

/// An inline node the model lacks (or a text run with marks it lacks),
/// with the words it shows.
fn unsupported_inline() -> impl Strategy<Value = Adf> {
    use serde_json::json;
    prop_oneof![
        word().prop_map(|w| (json!({"type": "status", "attrs": {"text": w, "color": "blue", "localId": "1"}}), vec![w])),
        word().prop_map(|w| (json!({"type": "emoji", "attrs": {"shortName": format!(":{w}:"), "text": w}}), vec![w])),
        word().prop_map(|w| (json!({"type": "placeholder", "attrs": {"text": w}}), vec![w])),
        word().prop_map(|w| (json!({"type": "inlineCard", "attrs": {"url": format!("https://example.com/{w}")}}), vec![w])),
        word().prop_map(|w| (json!({"type": "mediaInline", "attrs": {"id": "1", "name": w}}), vec![w])),
        word().prop_map(|w| (json!({"type": "fooWidget", "attrs": {"text": w}}), vec![w])),
        word().prop_map(|w| {
            let marks = json!([{"type": "textColor", "attrs": {"color": "#ff5630"}}, {"type": "subsup", "attrs": {"type": "sub"}}]);
            (json!({"type": "text", "text": w, "marks": marks}), vec![w])
        }),
    ]
}

fn inline_run() -> impl Strategy<Value = Vec<Adf>> {
    vec(prop_oneof![2 => word().prop_map(text_node), 3 => unsupported_inline()], 1..=4)
}

fn paragraph_of(nodes: Vec<Adf>) -> Adf {
    let (content, words): (Vec<_>, Vec<_>) = nodes.into_iter().unzip();
    (serde_json::json!({"type": "paragraph", "content": content}), words.concat())
}

fn wrap(ty: &str, attrs: serde_json::Value, inner: Vec<Adf>) -> Adf {
    let (content, words): (Vec<_>, Vec<_>) = inner.into_iter().unzip();
    (serde_json::json!({"type": ty, "attrs": attrs, "content": content}), words.concat())
}

/// A block the model lacks, holding supported and unsupported content,
/// with every word inside it.
pub(super) fn unsupported_block() -> impl Strategy<Value = Adf> {
    use serde_json::json;
    let media = word().prop_map(|w| {
        let media = json!({"type": "media", "attrs": {"id": "abc", "type": "file", "collection": "c", "alt": w}});
        (json!({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [media]}), vec![w])
    });
    let leaf = prop_oneof![
        3 => inline_run().prop_map(paragraph_of),
        1 => media,
        1 => word().prop_map(|w| (json!({"type": "blockCard", "attrs": {"url": format!("https://example.com/{w}")}}), vec![w])),
        1 => word().prop_map(|w| (json!({"type": "extension", "attrs": {"extensionKey": w, "extensionType": "x"}}), vec![w])),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        let blocks = vec(inner, 1..=3);
        prop_oneof![
            blocks.clone().prop_map(|b| wrap("panel", json!({"panelType": "info"}), b)),
            (word(), blocks.clone()).prop_map(|(title, b)| {
                let (v, words) = wrap("expand", json!({"title": title}), b);
                (v, [vec![title], words].concat())
            }),
            blocks.clone().prop_map(|b| wrap("nestedExpand", json!({}), b)),
            blocks.clone().prop_map(|b| {
                let column = wrap("layoutColumn", json!({"width": 50}), b);
                wrap("layoutSection", json!({}), vec![column])
            }),
            blocks.clone().prop_map(|b| wrap("bodiedExtension", json!({"extensionKey": "k"}), b)),
            blocks.clone().prop_map(|b| wrap("unknownContainer", json!({}), b)),
            vec(inline_run(), 1..=3).prop_map(|items| {
                let items = items.into_iter().map(|i| wrap("taskItem", json!({"state": "TODO", "localId": "t"}), i));
                wrap("taskList", json!({"localId": "l"}), items.collect())
            }),
            vec(inline_run(), 1..=3).prop_map(|items| {
                let items = items.into_iter().map(|i| wrap("decisionItem", json!({"state": "DECIDED"}), i));
                wrap("decisionList", json!({}), items.collect())
            }),
            // Inside what the model knows: list items, quotes, table cells.
            blocks.clone().prop_map(|b| wrap("bulletList", json!({}), vec![wrap("listItem", json!({}), b)])),
            blocks.clone().prop_map(|b| wrap("blockquote", json!({}), b)),
            blocks.prop_map(|b| {
                let cell = wrap("tableCell", json!({}), b);
                wrap("table", json!({}), vec![wrap("tableRow", json!({}), vec![cell])])
            }),
        ]
    })
}
