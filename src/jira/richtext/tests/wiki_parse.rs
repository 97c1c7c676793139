//! Reading wiki markup, construct by construct, including markup the writer never produces.

use super::{Block, Doc, Inline, ListItem, Marks, TableCell, doc, item, para, row, styled, t};

fn parse(wiki: &str) -> Doc {
    Doc::from_wiki(wiki)
}

fn one_para(wiki: &str) -> Vec<Inline> {
    match parse(wiki).blocks.as_slice() {
        [Block::Paragraph(content)] => content.clone(),
        other => panic!("expected one paragraph from {wiki:?}, got {other:?}"),
    }
}

#[test]
fn paragraphs_split_on_blank_lines_and_lines_join_with_breaks() {
    assert_eq!(
        parse("one\ntwo\n\n\n  three  \r\n"),
        doc(vec![para(vec![t("one"), Inline::HardBreak, t("two")]), para(vec![t("three")])])
    );
    assert_eq!(parse(""), Doc::default());
    assert_eq!(parse("\n \n\t\n"), Doc::default());
}

#[test]
fn headings() {
    for level in 1..=6u8 {
        let wiki = format!("h{level}. Title *x*");
        let content = vec![t("Title "), styled("x", Marks::BOLD)];
        assert_eq!(parse(&wiki), doc(vec![Block::Heading { level, content }]));
    }
    assert_eq!(parse("h7. no"), doc(vec![para(vec![t("h7. no")])]));
    assert_eq!(parse("h1.no space"), doc(vec![para(vec![t("h1.no space")])]));
}

#[test]
fn simple_marks() {
    let cases = [
        ("*b*", Marks::BOLD),
        ("_i_", Marks::ITALIC),
        ("-s-", Marks::STRIKE),
        ("+u+", Marks::UNDERLINE),
        ("{{c}}", Marks::CODE),
        ("{*}b{*}", Marks::BOLD),
        ("{_}i{_}", Marks::ITALIC),
    ];
    for (wiki, marks) in cases {
        assert_eq!(one_para(&format!("a {wiki} z")), vec![t("a "), styled(wiki_inner(wiki), marks), t(" z")], "{wiki}");
    }
}

fn wiki_inner(wiki: &str) -> &str {
    wiki.trim_matches(|c: char| "{}*_+-".contains(c))
}

#[test]
fn nested_marks() {
    let bold_italic = Marks { bold: true, italic: true, ..Marks::PLAIN };
    assert_eq!(one_para("*_both_*"), vec![styled("both", bold_italic)]);
    // Spaces at the edges of a run are moved outside it (wiki cannot write them inside).
    assert_eq!(
        one_para("*bold _and italic_*"),
        vec![styled("bold", Marks::BOLD), t(" "), styled("and italic", bold_italic)]
    );
}

#[test]
fn delimiters_inside_words_are_text() {
    assert_eq!(one_para("foo-bar_baz*qux+x"), vec![t("foo-bar_baz*qux+x")]);
    assert_eq!(one_para("a * b * c"), vec![t("a * b * c")]);
    assert_eq!(one_para("2*3*4"), vec![t("2*3*4")]);
    assert_eq!(one_para("*not closed"), vec![t("*not closed")]);
    assert_eq!(one_para("snake_case_name"), vec![t("snake_case_name")]);
}

#[test]
fn brace_marks_work_inside_words() {
    assert_eq!(one_para("mid{*}word{*}s"), vec![t("mid"), styled("word", Marks::BOLD), t("s")]);
}

#[test]
fn formatting_does_not_span_lines() {
    assert_eq!(one_para("*a\nb*"), vec![t("*a"), Inline::HardBreak, t("b*")]);
}

#[test]
fn links() {
    assert_eq!(one_para("[text|https://e.com]"), vec![Inline::link("https://e.com", "text")]);
    assert_eq!(one_para("[https://e.com]"), vec![Inline::link("https://e.com", "https://e.com")]);
    assert_eq!(
        one_para("[*bold* link|https://e.com]"),
        vec![Inline::Link { href: "https://e.com".into(), content: vec![styled("bold", Marks::BOLD), t(" link")] }]
    );
    assert_eq!(
        one_para("_see [it|http://x]_."),
        vec![
            styled("see", Marks::ITALIC),
            t(" "),
            Inline::Link { href: "http://x".into(), content: vec![styled("it", Marks::ITALIC)] },
            t(".")
        ]
    );
    assert_eq!(one_para("[a \\| b|http://x]"), vec![Inline::link("http://x", "a | b")]);
    assert_eq!(one_para("[] and [ unclosed"), vec![t("[] and [ unclosed")]);
}

#[test]
fn mentions() {
    assert_eq!(one_para("[~jdoe]"), vec![Inline::mention("jdoe")]);
    assert_eq!(
        one_para("hi [~accountid:5b10a2844c20165700ede21g]!"),
        vec![t("hi "), Inline::mention("5b10a2844c20165700ede21g"), t("!")]
    );
    assert_eq!(one_para("[~]"), vec![t("[~]")]);
}

#[test]
fn hard_breaks_escapes_and_references() {
    assert_eq!(one_para("a\\\\b"), vec![t("a"), Inline::HardBreak, t("b")]);
    assert_eq!(one_para("\\*not bold\\* \\[x\\] \\{y\\}"), vec![t("*not bold* [x] {y}")]);
    assert_eq!(one_para("C:\\path\\to"), vec![t("C:\\path\\to")]);
    assert_eq!(one_para("&#92;&#x41;&#38;&amp;&#;"), vec![t("\\A&&amp;&#;")]);
}

#[test]
fn lists_nested_and_mixed() {
    let wiki = "* a\n** a1\n*# a1n\n* b\n\n# one\n## two\n### three";
    let expected = doc(vec![
        Block::BulletList(vec![
            item(
                vec![t("a")],
                vec![Block::BulletList(vec![ListItem::plain("a1")]), Block::OrderedList(vec![ListItem::plain("a1n")])],
            ),
            ListItem::plain("b"),
        ]),
        Block::OrderedList(vec![item(
            vec![t("one")],
            vec![Block::OrderedList(vec![item(
                vec![t("two")],
                vec![Block::OrderedList(vec![ListItem::plain("three")])],
            )])],
        )]),
    ]);
    assert_eq!(parse(wiki), expected);
}

#[test]
fn list_oddities() {
    // A skipped level gets an empty item, a dash is a bullet, a following line continues the item.
    assert_eq!(
        parse("*** deep\n- dash\ncontinued"),
        doc(vec![Block::BulletList(vec![
            item(
                vec![],
                vec![Block::BulletList(vec![item(vec![], vec![Block::BulletList(vec![ListItem::plain("deep")])])])]
            ),
            item(vec![t("dash"), Inline::HardBreak, t("continued")], vec![]),
        ])])
    );
    assert_eq!(
        parse("* a\n# b"),
        doc(vec![Block::BulletList(vec![ListItem::plain("a")]), Block::OrderedList(vec![ListItem::plain("b")])])
    );
    assert_eq!(parse("*bold* text"), doc(vec![para(vec![styled("bold", Marks::BOLD), t(" text")])]));
    assert_eq!(parse("-- not a list"), doc(vec![para(vec![t("-- not a list")])]));
}

#[test]
fn tables() {
    let wiki = "||h1||h2||\n|c1|[l|http://x]|\n| |x||h|";
    let expected = doc(vec![Block::Table(vec![
        row(vec![TableCell::plain(true, "h1"), TableCell::plain(true, "h2")]),
        row(vec![
            TableCell::plain(false, "c1"),
            TableCell { header: false, blocks: vec![para(vec![Inline::link("http://x", "l")])] },
        ]),
        row(vec![
            TableCell { header: false, blocks: vec![para(vec![])] },
            TableCell::plain(false, "x"),
            TableCell::plain(true, "h"),
        ]),
    ])]);
    assert_eq!(parse(wiki), expected);
}

#[test]
fn code_and_noformat() {
    let wiki = "{code:java}\nint x = 1; // *not bold*\n{code}\n{code:title=A.java|language=kotlin}\nval y\n{code}\n{noformat}\n{quote} raw\n{noformat}\n{code}inline{code}";
    let expected = doc(vec![
        Block::CodeBlock { language: Some("java".into()), text: "int x = 1; // *not bold*".into() },
        para(vec![styled("A.java", Marks::BOLD)]),
        Block::CodeBlock { language: Some("kotlin".into()), text: "val y".into() },
        Block::CodeBlock { language: None, text: "{quote} raw".into() },
        Block::CodeBlock { language: None, text: "inline".into() },
    ]);
    assert_eq!(parse(wiki), expected);
    assert_eq!(parse("{code}\nunclosed"), doc(vec![Block::CodeBlock { language: None, text: "unclosed".into() }]));
}

#[test]
fn quotes() {
    assert_eq!(
        parse("bq. short *q*"),
        doc(vec![Block::Quote(vec![para(vec![t("short "), styled("q", Marks::BOLD)])])])
    );
    assert_eq!(
        parse("{quote}\nfirst\n\n* item\n{quote}\nafter"),
        doc(vec![
            Block::Quote(vec![para(vec![t("first")]), Block::BulletList(vec![ListItem::plain("item")])]),
            para(vec![t("after")])
        ])
    );
    assert_eq!(parse("{quote}one line{quote}"), doc(vec![Block::Quote(vec![para(vec![t("one line")])])]));
    assert_eq!(
        parse("{quote}{{quote}} text{quote}"),
        doc(vec![Block::Quote(vec![para(vec![styled("quote", Marks::CODE), t(" text")])])])
    );
}

#[test]
fn rule() {
    assert_eq!(parse("a\n----\nb"), doc(vec![para(vec![t("a")]), Block::Rule, para(vec![t("b")])]));
    assert_eq!(parse("---"), doc(vec![para(vec![t("---")])]));
}

#[test]
fn unsupported_markup_stays_readable() {
    assert_eq!(one_para("{color:red}red{color} text"), vec![t("red text")]);
    assert_eq!(
        one_para("x^2^ H~2~O ??cite?? !pic.png|thumbnail! (y) {unknown}"),
        vec![t("x^2^ H~2~O ??cite?? !pic.png|thumbnail! (y) {unknown}")]
    );
    assert_eq!(
        parse("{panel:title=Note|borderStyle=dashed}\nInside panel\n{panel}"),
        doc(vec![para(vec![styled("Note", Marks::BOLD)]), para(vec![t("Inside panel")])])
    );
    assert_eq!(parse("{anchor:here}Text"), doc(vec![para(vec![t("Text")])]));
}

#[test]
fn pathological_input_is_fast_and_safe() {
    let stars = "*a ".repeat(20_000);
    let brackets = "[".repeat(20_000);
    let braces = "{{".repeat(20_000);
    let deep = format!("{} deep", "*".repeat(500));
    for input in [stars, brackets, braces, deep, "\\".repeat(1001), "&#99999999;".into()] {
        let d = parse(&input);
        let _ = (d.to_wiki(), d.to_adf(), d.to_plain_text());
    }
}
