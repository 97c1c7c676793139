//! Property tests: round trips and robustness.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::Doc;
use super::generators::{any_doc, unsupported_block, wiki_doc};

/// The letters of the plain text, sorted: what must survive any conversion (list numbers,
/// ordering of flattened blocks and formatting may change).
fn letters(d: &Doc) -> Vec<char> {
    let mut letters: Vec<char> = d.to_plain_text().chars().filter(|c| c.is_alphabetic()).collect();
    letters.sort_unstable();
    letters
}

fn without_mention_text(mut d: Doc) -> Doc {
    fn clear(blocks: &mut [super::Block]) {
        use super::{Block, Inline};
        for block in blocks {
            match block {
                Block::Paragraph(c) | Block::Heading { content: c, .. } => c.iter_mut().for_each(|i| {
                    if let Inline::Mention { text, .. } = i {
                        text.clear();
                    }
                }),
                Block::BulletList(items) | Block::OrderedList(items) => {
                    items.iter_mut().for_each(|i| clear(&mut i.blocks))
                }
                Block::Quote(inner) => clear(inner),
                Block::Table(rows) => rows.iter_mut().flat_map(|r| &mut r.cells).for_each(|c| clear(&mut c.blocks)),
                Block::CodeBlock { .. } | Block::Rule => {}
            }
        }
    }
    clear(&mut d.blocks);
    d
}

fn markup_string() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "*",
        "_",
        "-",
        "+",
        "{",
        "}",
        "[",
        "]",
        "|",
        "||",
        "!",
        "^",
        "~",
        "\\",
        "\\\\",
        "#",
        "&#92;",
        "&",
        " ",
        "\n",
        "\n\n",
        "a",
        "b ",
        "h1. ",
        "bq. ",
        "----",
        "{code}",
        "{code:java}",
        "{noformat}",
        "{quote}",
        "{panel:title=T}",
        "{panel}",
        "{color:red}",
        "{color}",
        "{{",
        "}}",
        "{*}",
        "[~",
        "[a|",
        "http://x",
        "* ",
        "# ",
        "*# ",
        "- ",
    ]);
    prop::collection::vec(pieces, 0..30).prop_map(|p| p.concat())
}

fn adf_value() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(vec![
        "doc",
        "paragraph",
        "text",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "blockquote",
        "table",
        "tableRow",
        "tableCell",
        "tableHeader",
        "rule",
        "mention",
        "hardBreak",
        "panel",
        "status",
        "emoji",
        "inlineCard",
        "mediaSingle",
        "media",
        "expand",
        "date",
        "taskList",
        "taskItem",
        "foo",
    ]);
    let leaf = (types.clone(), "[a-z *_]{0,6}", prop::option::of(0u64..8)).prop_map(|(ty, text, level)| {
        json!({"type": ty, "text": text, "attrs": {"level": level, "text": text, "url": text, "id": text},
               "marks": [{"type": "strong"}, {"type": "link", "attrs": {"href": text}}]})
    });
    leaf.prop_recursive(4, 40, 5, move |inner| {
        (types.clone(), prop::collection::vec(inner, 0..5))
            .prop_map(|(ty, content)| json!({"type": ty, "content": content}))
    })
}

/// 512 cases per property unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 512;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn doc_adf_doc_is_identity(d in any_doc()) {
        prop_assert_eq!(Doc::from_adf(&d.to_adf()), d);
    }

    #[test]
    fn normalise_is_idempotent(d in any_doc()) {
        prop_assert_eq!(d.clone().normalised(), d);
    }

    #[test]
    fn doc_wiki_doc_is_identity(d in wiki_doc()) {
        let wiki = d.to_wiki();
        prop_assert_eq!(Doc::from_wiki(&wiki), d, "wiki: {:?}", wiki);
    }

    #[test]
    fn adf_wiki_adf_is_identity(d in wiki_doc()) {
        let adf = d.to_adf();
        let wiki = Doc::from_adf(&adf).to_wiki();
        prop_assert_eq!(Doc::from_wiki(&wiki).to_adf(), adf, "wiki: {:?}", wiki);
    }

    #[test]
    fn wiki_of_any_doc_is_stable_and_keeps_letters(d in any_doc()) {
        // Wiki has no mention display text: compare documents without it.
        let d = without_mention_text(d);
        let wiki = d.to_wiki();
        let back = Doc::from_wiki(&wiki);
        prop_assert_eq!(back.to_wiki(), wiki.clone(), "wiki: {:?}", wiki);
        prop_assert_eq!(letters(&back), letters(&d), "wiki: {:?}", wiki);
    }

    #[test]
    fn any_wiki_parses_to_a_stable_normal_doc(s in markup_string()) {
        let d = Doc::from_wiki(&s);
        prop_assert_eq!(d.clone().normalised(), d.clone());
        prop_assert_eq!(Doc::from_adf(&d.to_adf()), d.clone());
        let wiki = d.to_wiki();
        prop_assert_eq!(Doc::from_wiki(&wiki).to_wiki(), wiki.clone(), "from {:?} wrote {:?}", s, wiki);
        let _ = d.to_plain_text();
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let d = Doc::from_wiki(&s);
        let _ = (d.to_adf(), d.to_wiki(), d.to_plain_text(), Doc::plain(&s).to_wiki());
    }

    #[test]
    fn arbitrary_adf_never_panics_and_is_stable(v in adf_value()) {
        let d = Doc::from_adf(&v);
        prop_assert_eq!(Doc::from_adf(&d.to_adf()), d.clone());
        let _ = (d.to_wiki(), d.to_plain_text());
    }

    #[test]
    fn unsupported_nodes_keep_their_words(blocks in prop::collection::vec(unsupported_block(), 1..=4)) {
        let (content, words): (Vec<Value>, Vec<Vec<String>>) = blocks.into_iter().unzip();
        let adf = json!({"type": "doc", "version": 1, "content": content});
        let d = Doc::from_adf(&adf);
        let (plain, wiki) = (d.to_plain_text(), d.to_wiki());
        for w in words.concat() {
            prop_assert!(plain.contains(&w), "{:?} vanished from the plain text {:?} of {}", w, plain, adf);
            prop_assert!(wiki.contains(&w), "{:?} vanished from the wiki {:?} of {}", w, wiki, adf);
        }
    }

    #[test]
    fn plain_text_round_trips_through_plain(s in "[a-z *\\[\\]{}|\\\\]{0,10}(\n{1,3}[a-z*#]{1,10}){0,4}") {
        let d = Doc::plain(&s);
        let lines: Vec<&str> = s.split('\n').collect();
        let expected = lines.join("\n");
        let expected = collapse_blank_lines(expected.trim_matches('\n'));
        prop_assert_eq!(d.to_plain_text(), expected);
    }
}

/// Runs of blank lines become one blank line (paragraph separator).
fn collapse_blank_lines(s: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in s.split('\n') {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}
