//! Plain text, `Doc::plain` and `Doc::is_empty`.

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, doc, item, para, row, styled, t};

#[test]
fn plain_splits_paragraphs_on_blank_lines() {
    assert_eq!(
        Doc::plain("one\ntwo\r\n\r\n  \nthree\n"),
        doc(vec![para(vec![t("one"), Inline::HardBreak, t("two")]), para(vec![t("three")])])
    );
    assert_eq!(Doc::plain(""), Doc::default());
    assert_eq!(Doc::plain("\n\n"), Doc::default());
    assert_eq!(Doc::plain("*not bold*").to_wiki(), "\\*not bold\\*");
}

#[test]
fn plain_text_round_trips_through_plain() {
    let text = "First paragraph\nwith a second line\n\nSecond *paragraph* [x]";
    assert_eq!(Doc::plain(text).to_plain_text(), text);
}

#[test]
fn is_empty() {
    assert!(Doc::default().is_empty());
    assert!(doc(vec![para(vec![]), para(vec![t("  "), Inline::HardBreak])]).is_empty());
    assert!(Doc::from_adf(&serde_json::json!({"type": "doc", "version": 1, "content": []})).is_empty());
    assert!(Doc::from_wiki("  \n\n").is_empty());
    assert!(!Doc::plain("x").is_empty());
    assert!(!doc(vec![Block::Rule]).is_empty());
    assert!(!doc(vec![para(vec![Inline::mention("m")])]).is_empty());
    assert!(!doc(vec![Block::BulletList(vec![ListItem::plain("x")])]).is_empty());
}

#[test]
fn inline_rendering() {
    let d = doc(vec![para(vec![
        styled("bold", Marks::BOLD),
        t(" "),
        Inline::link("https://e.com", "site"),
        t(" "),
        Inline::link("https://e.com", "https://e.com"),
        t(" "),
        Inline::Mention { id: "1".into(), text: "@Ann".into() },
        t(" "),
        Inline::Mention { id: "2".into(), text: "Bob".into() },
        t(" "),
        Inline::mention("jdoe"),
        Inline::HardBreak,
        t("next"),
    ])]);
    assert_eq!(d.to_plain_text(), "bold site (https://e.com) https://e.com @Ann @Bob @jdoe\nnext");
}

#[test]
fn block_rendering() {
    let d = doc(vec![
        Block::Heading { level: 1, content: vec![t("Title")] },
        Block::BulletList(vec![
            item(vec![t("a")], vec![Block::OrderedList(vec![ListItem::plain("a1"), ListItem::plain("a2")])]),
            item(vec![t("b"), Inline::HardBreak, t("b2")], vec![]),
        ]),
        Block::CodeBlock { language: None, text: "code\n  indented".into() },
        Block::Quote(vec![para(vec![t("q1")]), para(vec![t("q2")])]),
        Block::Table(vec![
            row(vec![TableCell::plain(true, "h1"), TableCell::plain(true, "h2")]),
            row(vec![TableCell::plain(false, "c1"), TableCell::plain(false, "c2")]),
        ]),
        Block::Rule,
    ]);
    let expected =
        "Title\n\n- a\n  1. a1\n  2. a2\n- b\n  b2\n\ncode\n  indented\n\n> q1\n> \n> q2\n\nh1 | h2\nc1 | c2\n\n----";
    assert_eq!(d.to_plain_text(), expected);
}

#[test]
fn module_doc_example() {
    let doc = Doc::from_wiki("h1. Title\n\nSome *bold* text, see [docs|https://example.com].");
    assert_eq!(Doc::from_adf(&doc.to_adf()), doc);
    assert_eq!(doc.to_wiki(), "h1. Title\n\nSome *bold* text, see [docs|https://example.com].");
    assert_eq!(doc.to_plain_text(), "Title\n\nSome bold text, see docs (https://example.com).");
}
