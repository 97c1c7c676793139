//! Writing wiki markup, construct by construct; each case also reads back to the same document.

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, doc, item, para, row, styled, t, wiki_both_ways};

fn p(content: Vec<Inline>) -> Doc {
    doc(vec![para(content)])
}

#[test]
fn paragraphs_and_headings() {
    wiki_both_ways("one\n\ntwo", &doc(vec![para(vec![t("one")]), para(vec![t("two")])]));
    wiki_both_ways("h3. Title", &doc(vec![Block::Heading { level: 3, content: vec![t("Title")] }]));
    wiki_both_ways("h1. ", &doc(vec![Block::Heading { level: 1, content: vec![] }]));
}

#[test]
fn marks_use_simple_delimiters_at_word_boundaries() {
    wiki_both_ways(
        "a *b* _i_ +u+ -s- {{c}} z",
        &p(vec![
            t("a "),
            styled("b", Marks::BOLD),
            t(" "),
            styled("i", Marks::ITALIC),
            t(" "),
            styled("u", Marks::UNDERLINE),
            t(" "),
            styled("s", Marks::STRIKE),
            t(" "),
            styled("c", Marks::CODE),
            t(" z"),
        ]),
    );
    let all = Marks { bold: true, italic: true, underline: true, strike: true, code: false };
    wiki_both_ways("*_+-all-+_*", &p(vec![styled("all", all)]));
    wiki_both_ways(
        "(*x*), \"_y_\".",
        &p(vec![t("("), styled("x", Marks::BOLD), t("), \""), styled("y", Marks::ITALIC), t("\".")]),
    );
}

#[test]
fn marks_use_braces_inside_words() {
    wiki_both_ways("mid{*}word{*}s", &p(vec![t("mid"), styled("word", Marks::BOLD), t("s")]));
    wiki_both_ways("{*}a{*}{_}b{_}", &p(vec![styled("a", Marks::BOLD), styled("b", Marks::ITALIC)]));
    wiki_both_ways("x{{code}}y", &p(vec![t("x"), styled("code", Marks::CODE), t("y")]));
}

#[test]
fn spaces_move_out_of_marks_and_edges_are_trimmed() {
    let d = p(vec![t("  a"), styled(" b ", Marks::BOLD), t("c  ")]);
    assert_eq!(d.to_wiki(), "a *b* c");
    assert_eq!(Doc::from_wiki(&d.to_wiki()), p(vec![t("a "), styled("b", Marks::BOLD), t(" c")]));
}

#[test]
fn special_characters_are_escaped() {
    let cases = [
        ("a*b", "a*b"),
        ("a * b", "a \\* b"),
        ("x-y - z", "x-y \\- z"),
        ("{braces} [brackets] |bar|", "\\{braces\\} \\[brackets\\] \\|bar\\|"),
        ("Hi! !img!", "Hi! \\!img\\!"),
        ("??cite??", "?\\?cite?\\?"),
        ("x^2^ ~sub~", "x^2\\^ \\~sub\\~"),
        ("# not a list", "\\# not a list"),
        ("issue #12", "issue #12"),
        ("h1. not a heading", "h1&#46; not a heading"),
        ("bq. not a quote", "bq&#46; not a quote"),
        ("----", "\\-\\-\\-\\-"),
        ("C:\\dir\\file", "C:\\dir\\file"),
        ("back\\*", "back&#92;\\*"),
        ("end\\", "end&#92;"),
        ("&#65; & more &", "&#38;#65; & more &#38;"),
        ("_under_score_", "\\_under_score\\_"),
        ("{code}", "\\{code\\}"),
    ];
    for (text, wiki) in cases {
        wiki_both_ways(wiki, &p(vec![t(text)]));
    }
}

#[test]
fn hard_breaks() {
    wiki_both_ways("a\nb", &p(vec![t("a"), Inline::HardBreak, t("b")]));
    wiki_both_ways("a\\\\\\\\b", &p(vec![t("a"), Inline::HardBreak, Inline::HardBreak, t("b")]));
    wiki_both_ways("a \\\\b", &p(vec![t("a "), Inline::HardBreak, t("b")]));
    wiki_both_ways("\\\\a\\\\", &p(vec![Inline::HardBreak, t("a"), Inline::HardBreak]));
    wiki_both_ways("a\n\\# b", &p(vec![t("a"), Inline::HardBreak, t("# b")]));
    wiki_both_ways(
        "* a\\\\b",
        &doc(vec![Block::BulletList(vec![item(vec![t("a"), Inline::HardBreak, t("b")], vec![])])]),
    );
}

#[test]
fn links_and_mentions() {
    wiki_both_ways("[text|https://e.com/a_b]", &p(vec![Inline::link("https://e.com/a_b", "text")]));
    wiki_both_ways("[https://e.com]", &p(vec![Inline::link("https://e.com", "https://e.com")]));
    wiki_both_ways(
        "[*b* \\| c|https://e.com]",
        &p(vec![Inline::Link { href: "https://e.com".into(), content: vec![styled("b", Marks::BOLD), t(" | c")] }]),
    );
    wiki_both_ways("[\\~home|~home]", &p(vec![Inline::link("~home", "~home")]));
    wiki_both_ways(
        "[~jdoe] [~accountid:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077]",
        &p(vec![Inline::mention("jdoe"), t(" "), Inline::mention("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077")]),
    );
    wiki_both_ways("[~accountid:5fb82376aca10c006949f35b]", &p(vec![Inline::mention("5fb82376aca10c006949f35b")]));
}

#[test]
fn link_addresses_are_encoded() {
    let d = p(vec![Inline::link("http://x/a b|c]", "t")]);
    assert_eq!(d.to_wiki(), "[t|http://x/a%20b%7Cc%5D]");
}

#[test]
fn mention_text_is_lost_and_odd_ids_become_text() {
    let d = p(vec![Inline::Mention { id: "jdoe".into(), text: "@John Doe".into() }]);
    assert_eq!(d.to_wiki(), "[~jdoe]");
    let odd = p(vec![Inline::mention("a]b")]);
    assert_eq!(odd.to_wiki(), "@a\\]b");
}

#[test]
fn lists() {
    let d = doc(vec![Block::BulletList(vec![
        item(
            vec![t("a")],
            vec![
                Block::BulletList(vec![ListItem::plain("a1")]),
                Block::OrderedList(vec![item(vec![t("a1n")], vec![Block::BulletList(vec![ListItem::plain("deep")])])]),
            ],
        ),
        item(vec![], vec![]),
        ListItem::plain("# hash"),
    ])]);
    wiki_both_ways("* a\n** a1\n*# a1n\n*#* deep\n* \n* # hash", &d);
    wiki_both_ways(
        "# one\n# two\n\n* other list",
        &doc(vec![
            Block::OrderedList(vec![ListItem::plain("one"), ListItem::plain("two")]),
            Block::BulletList(vec![ListItem::plain("other list")]),
        ]),
    );
}

#[test]
fn list_items_flatten_what_wiki_cannot_nest() {
    let d = doc(vec![Block::BulletList(vec![ListItem {
        blocks: vec![
            para(vec![t("first")]),
            Block::BulletList(vec![ListItem::plain("sub")]),
            para(vec![t("second")]),
            Block::CodeBlock { language: None, text: "x\ny".into() },
        ],
    }])]);
    assert_eq!(d.to_wiki(), "* first\\\\second\\\\{{x}}\\\\{{y}}\n** sub");
}

#[test]
fn code_blocks() {
    wiki_both_ways(
        "{code:rust}\nfn main() {}\n{code}",
        &doc(vec![Block::CodeBlock { language: Some("rust".into()), text: "fn main() {}".into() }]),
    );
    wiki_both_ways(
        "{noformat}\n*raw*\n\n{noformat}",
        &doc(vec![Block::CodeBlock { language: None, text: "*raw*\n".into() }]),
    );
    wiki_both_ways("{noformat}\n\n{noformat}", &doc(vec![Block::CodeBlock { language: None, text: String::new() }]));
    wiki_both_ways(
        "{code}\nsee {noformat}\n{code}",
        &doc(vec![Block::CodeBlock { language: None, text: "see {noformat}".into() }]),
    );
    let with_close = doc(vec![Block::CodeBlock { language: Some("java".into()), text: "{code}".into() }]);
    assert_eq!(with_close.to_wiki(), "{noformat}\n{code}\n{noformat}");
}

#[test]
fn quotes() {
    wiki_both_ways("bq. short", &doc(vec![Block::Quote(vec![para(vec![t("short")])])]));
    wiki_both_ways(
        "{quote}\nfirst\nline\n\n* item\n\n{code:sh}\n{quote}\n{code}\n{quote}",
        &doc(vec![Block::Quote(vec![
            para(vec![t("first"), Inline::HardBreak, t("line")]),
            Block::BulletList(vec![ListItem::plain("item")]),
            Block::CodeBlock { language: Some("sh".into()), text: "{quote}".into() },
        ])]),
    );
}

#[test]
fn tables() {
    let d = doc(vec![Block::Table(vec![
        row(vec![
            TableCell { header: true, blocks: vec![para(vec![styled("h1", Marks::BOLD)])] },
            TableCell::plain(true, "h2"),
        ]),
        row(vec![TableCell { header: false, blocks: vec![para(vec![])] }, TableCell::plain(false, "a|b")]),
        row(vec![TableCell::plain(true, "side"), TableCell::plain(false, "c")]),
    ])]);
    wiki_both_ways("||*h1*||h2||\n| |a\\|b|\n||side|c|", &d);
}

#[test]
fn table_cells_flatten_blocks() {
    let d = doc(vec![Block::Table(vec![row(vec![TableCell {
        header: false,
        blocks: vec![para(vec![t("a")]), Block::BulletList(vec![ListItem::plain("b")])],
    }])])]);
    assert_eq!(d.to_wiki(), "|a\\\\\\- b|");
}

#[test]
fn rule_and_empty() {
    wiki_both_ways("----", &doc(vec![Block::Rule]));
    assert_eq!(Doc::default().to_wiki(), "");
    assert_eq!(doc(vec![para(vec![]), para(vec![t(" ")])]).to_wiki(), "");
}
