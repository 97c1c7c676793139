//! Normal form.

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, doc, item, para, row, styled, t};

fn norm(d: Doc) -> Doc {
    d.normalised()
}

#[test]
fn merges_runs_and_drops_empty_ones() {
    let d = doc(vec![para(vec![t("a"), t(""), t("b"), styled("c", Marks::BOLD), styled("d", Marks::BOLD)])]);
    assert_eq!(norm(d), doc(vec![para(vec![t("ab"), styled("cd", Marks::BOLD)])]));
}

#[test]
fn code_excludes_other_marks() {
    let d = doc(vec![para(vec![styled("x", Marks { bold: true, code: true, ..Marks::PLAIN })])]);
    assert_eq!(norm(d), doc(vec![para(vec![styled("x", Marks::CODE)])]));
}

#[test]
fn links_hold_only_text() {
    let d = doc(vec![para(vec![
        Inline::Link { href: "h".into(), content: vec![t("a"), Inline::HardBreak, t("b"), Inline::mention("m")] },
        Inline::Link { href: "h".into(), content: vec![t("c")] },
        Inline::Link { href: "empty".into(), content: vec![] },
        Inline::Link { href: "outer".into(), content: vec![Inline::link("inner", "x")] },
    ])]);
    let expected = doc(vec![para(vec![
        Inline::link("h", "a"),
        Inline::HardBreak,
        Inline::link("h", "b"),
        Inline::mention("m"),
        Inline::link("h", "c"),
        Inline::link("empty", "empty"),
        Inline::link("inner", "x"),
    ])]);
    assert_eq!(norm(d), expected);
}

#[test]
fn newlines_in_text_become_breaks() {
    let d = doc(vec![para(vec![t("a\r\n\nb")])]);
    assert_eq!(norm(d), doc(vec![para(vec![t("a"), Inline::HardBreak, Inline::HardBreak, t("b")])]));
}

#[test]
fn block_nesting_follows_adf() {
    let d = doc(vec![
        Block::Heading { level: 0, content: vec![t("h")] },
        Block::BulletList(vec![]),
        Block::Quote(vec![]),
        Block::Table(vec![row(vec![])]),
        Block::Quote(vec![
            Block::Heading { level: 2, content: vec![t("qh")] },
            Block::Quote(vec![para(vec![t("inner")])]),
            Block::Rule,
        ]),
        Block::OrderedList(vec![ListItem {
            blocks: vec![
                Block::BulletList(vec![ListItem::plain("a")]),
                Block::BulletList(vec![ListItem::plain("b")]),
                Block::Table(vec![row(vec![TableCell::plain(false, "cell")])]),
            ],
        }]),
        Block::CodeBlock { language: Some(" ".into()), text: "x\r\ny".into() },
    ]);
    let expected = doc(vec![
        Block::Heading { level: 1, content: vec![t("h")] },
        Block::Quote(vec![para(vec![t("qh")]), para(vec![t("inner")])]),
        Block::OrderedList(vec![item(
            vec![],
            vec![Block::BulletList(vec![ListItem::plain("a"), ListItem::plain("b")]), para(vec![t("cell")])],
        )]),
        Block::CodeBlock { language: None, text: "x\ny".into() },
    ]);
    assert_eq!(norm(d), expected);
}

#[test]
fn cells_are_never_empty_and_tables_do_not_nest() {
    let nested = Block::Table(vec![row(vec![TableCell::plain(true, "n")])]);
    let d = doc(vec![Block::Table(vec![row(vec![
        TableCell { header: false, blocks: vec![] },
        TableCell { header: false, blocks: vec![nested] },
    ])])]);
    let expected = doc(vec![Block::Table(vec![row(vec![
        TableCell { header: false, blocks: vec![para(vec![])] },
        TableCell::plain(false, "n"),
    ])])]);
    assert_eq!(norm(d), expected);
}

#[test]
fn normalise_is_idempotent_on_examples() {
    let d = Doc::from_wiki("* a\n** b\n\n||x||y||\n|{{c}}|*d*|\n\n{quote}\nq\n{quote}");
    assert_eq!(d.clone().normalised(), d);
}
