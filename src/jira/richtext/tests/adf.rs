//! ADF reading and writing, construct by construct.

use serde_json::{Value, json};

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, doc, item, para, row, styled, t};

fn adf(content: Value) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

/// Checks `from_adf(adf) == expected` and `to_adf(expected) == adf`.
fn both_ways(content: Value, expected: &Doc) {
    let value = adf(content);
    assert_eq!(&Doc::from_adf(&value), expected, "reading {value}");
    assert_eq!(expected.to_adf(), value, "writing {expected:?}");
}

#[test]
fn empty_doc() {
    both_ways(json!([]), &Doc::default());
    assert_eq!(Doc::default().to_adf(), json!({"type": "doc", "version": 1, "content": []}));
}

#[test]
fn paragraphs() {
    both_ways(
        json!([
            {"type": "paragraph", "content": [{"type": "text", "text": "one"}]},
            {"type": "paragraph", "content": []},
            {"type": "paragraph", "content": [{"type": "text", "text": " two "}]}
        ]),
        &doc(vec![para(vec![t("one")]), para(vec![]), para(vec![t(" two ")])]),
    );
}

#[test]
fn paragraph_without_content_reads_as_empty() {
    let value = adf(json!([{"type": "paragraph"}]));
    assert_eq!(Doc::from_adf(&value), doc(vec![para(vec![])]));
}

#[test]
fn headings_all_levels() {
    for level in 1..=6u8 {
        both_ways(
            json!([{"type": "heading", "attrs": {"level": level}, "content": [{"type": "text", "text": "Title"}]}]),
            &doc(vec![Block::Heading { level, content: vec![t("Title")] }]),
        );
    }
}

#[test]
fn heading_level_out_of_range_is_clamped() {
    let value = adf(json!([{"type": "heading", "attrs": {"level": 9}, "content": [{"type": "text", "text": "x"}]}]));
    assert_eq!(Doc::from_adf(&value), doc(vec![Block::Heading { level: 6, content: vec![t("x")] }]));
    let missing = adf(json!([{"type": "heading", "content": [{"type": "text", "text": "x"}]}]));
    assert_eq!(Doc::from_adf(&missing), doc(vec![Block::Heading { level: 1, content: vec![t("x")] }]));
}

#[test]
fn each_mark() {
    let cases = [
        ("strong", Marks::BOLD),
        ("em", Marks::ITALIC),
        ("underline", Marks::UNDERLINE),
        ("strike", Marks::STRIKE),
        ("code", Marks::CODE),
    ];
    for (name, marks) in cases {
        both_ways(
            json!([{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": name}]}]}]),
            &doc(vec![para(vec![styled("x", marks)])]),
        );
    }
}

#[test]
fn combined_marks_in_fixed_order() {
    let all = Marks { bold: true, italic: true, underline: true, strike: true, code: false };
    both_ways(
        json!([{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [
            {"type": "strong"}, {"type": "em"}, {"type": "underline"}, {"type": "strike"}
        ]}]}]),
        &doc(vec![para(vec![styled("x", all)])]),
    );
}

#[test]
fn code_mark_drops_other_marks_but_keeps_link() {
    let value = adf(json!([{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [
        {"type": "strong"}, {"type": "code"}, {"type": "link", "attrs": {"href": "https://e.com"}}
    ]}]}]));
    let expected =
        doc(vec![para(vec![Inline::Link { href: "https://e.com".into(), content: vec![styled("x", Marks::CODE)] }])]);
    assert_eq!(Doc::from_adf(&value), expected);
}

#[test]
fn links_group_adjacent_text_with_same_href() {
    let link = |text: &str, extra: Option<&str>| {
        let mut marks = vec![json!({"type": "link", "attrs": {"href": "https://e.com"}})];
        if let Some(extra) = extra {
            marks.insert(0, json!({"type": extra}));
        }
        json!({"type": "text", "text": text, "marks": marks})
    };
    both_ways(
        json!([{"type": "paragraph", "content": [
            {"type": "text", "text": "see "}, link("the ", None), link("docs", Some("strong")), {"type": "text", "text": "."}
        ]}]),
        &doc(vec![para(vec![
            t("see "),
            Inline::Link { href: "https://e.com".into(), content: vec![t("the "), styled("docs", Marks::BOLD)] },
            t("."),
        ])]),
    );
}

#[test]
fn mention_and_hard_break() {
    both_ways(
        json!([{"type": "paragraph", "content": [
            {"type": "mention", "attrs": {"id": "5fb82376aca10c006949f35b", "text": "@Person A"}},
            {"type": "hardBreak"},
            {"type": "mention", "attrs": {"id": "jdoe"}}
        ]}]),
        &doc(vec![para(vec![
            Inline::Mention { id: "5fb82376aca10c006949f35b".into(), text: "@Person A".into() },
            Inline::HardBreak,
            Inline::mention("jdoe"),
        ])]),
    );
}

#[test]
fn nested_mixed_lists() {
    let li = |text: &str| json!({"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]});
    both_ways(
        json!([{"type": "bulletList", "content": [
            {"type": "listItem", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "a"}]},
                {"type": "orderedList", "content": [li("a1"), li("a2")]}
            ]},
            li("b")
        ]}]),
        &doc(vec![Block::BulletList(vec![
            item(vec![t("a")], vec![Block::OrderedList(vec![ListItem::plain("a1"), ListItem::plain("a2")])]),
            ListItem::plain("b"),
        ])]),
    );
}

#[test]
fn code_blocks() {
    both_ways(
        json!([
            {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [{"type": "text", "text": "fn main() {}\n"}]},
            {"type": "codeBlock", "content": []}
        ]),
        &doc(vec![
            Block::CodeBlock { language: Some("rust".into()), text: "fn main() {}\n".into() },
            Block::CodeBlock { language: None, text: String::new() },
        ]),
    );
}

#[test]
fn blockquote() {
    both_ways(
        json!([{"type": "blockquote", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "q"}]},
            {"type": "bulletList", "content": [{"type": "listItem", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "i"}]}
            ]}]}
        ]}]),
        &doc(vec![Block::Quote(vec![para(vec![t("q")]), Block::BulletList(vec![ListItem::plain("i")])])]),
    );
}

#[test]
fn table_with_header_and_cells() {
    let cell = |ty: &str, text: &str| json!({"type": ty, "attrs": {}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]});
    both_ways(
        json!([{"type": "table", "attrs": {"isNumberColumnEnabled": false, "layout": "default"}, "content": [
            {"type": "tableRow", "content": [cell("tableHeader", "h1"), cell("tableHeader", "h2")]},
            {"type": "tableRow", "content": [cell("tableCell", "c1"), cell("tableCell", "c2")]}
        ]}]),
        &doc(vec![Block::Table(vec![
            row(vec![TableCell::plain(true, "h1"), TableCell::plain(true, "h2")]),
            row(vec![TableCell::plain(false, "c1"), TableCell::plain(false, "c2")]),
        ])]),
    );
}

#[test]
fn rule() {
    both_ways(json!([{"type": "rule"}]), &doc(vec![Block::Rule]));
}

#[test]
fn text_newlines_become_hard_breaks() {
    let value = adf(json!([{"type": "paragraph", "content": [{"type": "text", "text": "a\r\nb"}]}]));
    assert_eq!(Doc::from_adf(&value), doc(vec![para(vec![t("a"), Inline::HardBreak, t("b")])]));
}

#[test]
fn garbage_never_panics() {
    let values = [
        json!(null),
        json!(42),
        json!("text"),
        json!([]),
        json!({}),
        json!({"type": "doc"}),
        json!({"type": "doc", "content": "nope"}),
        json!({"type": "doc", "content": [null, 1, {"content": [{"text": 5}]}]}),
        json!({"type": "doc", "content": [{"type": "table", "content": [{"type": "paragraph"}]}]}),
        json!({"type": "doc", "content": [{"type": "bulletList", "content": [{"type": "text", "text": "loose"}]}]}),
    ];
    for value in values {
        let doc = Doc::from_adf(&value);
        let _ = (doc.to_adf(), doc.to_wiki(), doc.to_plain_text());
    }
}

#[test]
fn loose_text_keeps_its_words() {
    let value =
        json!({"type": "doc", "content": [{"type": "bulletList", "content": [{"type": "text", "text": "loose"}]}]});
    assert_eq!(Doc::from_adf(&value).to_plain_text(), "- loose");
    let bare = json!({"type": "paragraph", "content": [{"type": "text", "text": "bare node"}]});
    assert_eq!(Doc::from_adf(&bare), doc(vec![para(vec![t("bare node")])]));
}

#[test]
fn writes_valid_nesting() {
    // A heading inside a list item and a table inside a quote are not valid ADF: they are flattened.
    let d = doc(vec![
        Block::BulletList(vec![ListItem { blocks: vec![Block::Heading { level: 2, content: vec![t("h")] }] }]),
        Block::Quote(vec![Block::Table(vec![row(vec![TableCell::plain(false, "c")])]), Block::Rule]),
    ]);
    let expected = adf(json!([
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "h"}]}
        ]}]},
        {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "c"}]}]}
    ]));
    assert_eq!(d.to_adf(), expected);
}
