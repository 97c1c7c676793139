//! ADF nodes the model has no place for degrade to readable text: they never vanish.

use serde_json::{Value, json};

use super::{Block, Doc, Inline, Marks, doc, para, styled, t};

fn in_doc(blocks: Value) -> Doc {
    Doc::from_adf(&json!({"type": "doc", "version": 1, "content": blocks}))
}

fn in_paragraph(inline: Value) -> Doc {
    in_doc(json!([{"type": "paragraph", "content": [{"type": "text", "text": "before "}, inline]}]))
}

/// The text must show in the plain text, and read back from the wiki markup and the ADF written.
fn shows(d: &Doc, needle: &str) {
    assert!(d.to_plain_text().contains(needle), "{needle:?} missing from plain text of {d:?}");
    let from_wiki = Doc::from_wiki(&d.to_wiki()).to_plain_text();
    assert!(from_wiki.contains(needle), "{needle:?} missing from wiki of {d:?}: {}", d.to_wiki());
    let from_adf = Doc::from_adf(&d.to_adf()).to_plain_text();
    assert!(from_adf.contains(needle), "{needle:?} missing from ADF of {d:?}");
}

fn paragraph_text(text: &str) -> Value {
    json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
}

#[test]
fn panel_keeps_its_content() {
    let d =
        in_doc(json!([{"type": "panel", "attrs": {"panelType": "info"}, "content": [paragraph_text("Panel body")]}]));
    assert_eq!(d, doc(vec![para(vec![t("Panel body")])]));
    shows(&d, "Panel body");
}

#[test]
fn expand_keeps_title_and_content() {
    let d = in_doc(json!([
        {"type": "expand", "attrs": {"title": "Details"}, "content": [paragraph_text("Hidden text")]},
        {"type": "nestedExpand", "attrs": {"title": ""}, "content": [paragraph_text("Nested text")]}
    ]));
    assert_eq!(
        d,
        doc(vec![
            para(vec![styled("Details", Marks::BOLD)]),
            para(vec![t("Hidden text")]),
            para(vec![t("Nested text")])
        ])
    );
    shows(&d, "Details");
    shows(&d, "Hidden text");
}

#[test]
fn status_emoji_placeholder_show_their_text() {
    let status = in_paragraph(json!({"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}}));
    assert_eq!(status, doc(vec![para(vec![t("before IN PROGRESS")])]));
    shows(&status, "IN PROGRESS");
    let emoji = in_paragraph(json!({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}}));
    shows(&emoji, "😄");
    let short = in_paragraph(json!({"type": "emoji", "attrs": {"shortName": ":party:"}}));
    shows(&short, ":party:");
    let placeholder = in_paragraph(json!({"type": "placeholder", "attrs": {"text": "Type here"}}));
    shows(&placeholder, "Type here");
}

#[test]
fn inline_card_becomes_link_showing_its_url() {
    let d = in_paragraph(json!({"type": "inlineCard", "attrs": {"url": "https://e.com/page"}}));
    assert_eq!(d, doc(vec![para(vec![t("before "), Inline::link("https://e.com/page", "https://e.com/page")])]));
    shows(&d, "https://e.com/page");
}

#[test]
fn block_cards_become_links() {
    let d = in_doc(json!([
        {"type": "blockCard", "attrs": {"url": "https://e.com/block"}},
        {"type": "embedCard", "attrs": {"url": "https://e.com/embed", "layout": "wide"}}
    ]));
    shows(&d, "https://e.com/block");
    shows(&d, "https://e.com/embed");
}

#[test]
fn media_becomes_attachment_text() {
    let d = in_doc(json!([
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"id": "abc-123", "type": "file", "collection": "x"}}
        ]},
        {"type": "mediaGroup", "content": [{"type": "media", "attrs": {"id": "d", "type": "file", "alt": "diagram.png"}}]}
    ]));
    assert_eq!(d, doc(vec![para(vec![t("[attachment]")]), para(vec![t("[attachment: diagram.png]")])]));
    shows(&d, "[attachment]");
    shows(&d, "diagram.png");
    let inline = in_paragraph(json!({"type": "mediaInline", "attrs": {"id": "x", "type": "file"}}));
    shows(&inline, "[attachment]");
}

#[test]
fn date_shows_its_day() {
    let d = in_paragraph(json!({"type": "date", "attrs": {"timestamp": "1582156800000"}}));
    shows(&d, "2020-02-20");
    let epoch = in_paragraph(json!({"type": "date", "attrs": {"timestamp": "0"}}));
    shows(&epoch, "1970-01-01");
    let leap = in_paragraph(json!({"type": "date", "attrs": {"timestamp": 951782400000i64}}));
    shows(&leap, "2000-02-29");
    let bad = in_paragraph(json!({"type": "date", "attrs": {"timestamp": "soon"}}));
    assert!(!bad.is_empty());
}

#[test]
fn task_and_decision_lists_become_bullet_lists() {
    let d = in_doc(json!([
        {"type": "taskList", "attrs": {"localId": "1"}, "content": [
            {"type": "taskItem", "attrs": {"localId": "2", "state": "DONE"}, "content": [{"type": "text", "text": "done task"}]},
            {"type": "taskItem", "attrs": {"localId": "3", "state": "TODO"}, "content": [{"type": "text", "text": "open task"}]}
        ]},
        {"type": "decisionList", "content": [
            {"type": "decisionItem", "attrs": {"state": "DECIDED"}, "content": [{"type": "text", "text": "decided"}]}
        ]}
    ]));
    assert_eq!(d.to_plain_text(), "- [x] done task\n- [ ] open task\n\n- decided");
    shows(&d, "done task");
}

#[test]
fn unknown_nodes_keep_content_or_name() {
    let d = in_doc(json!([
        {"type": "foo", "content": [paragraph_text("inside foo")]},
        {"type": "bar", "content": [{"type": "text", "text": "inline in bar"}]},
        {"type": "paragraph", "content": [
            {"type": "baz", "attrs": {"text": "baz text"}},
            {"type": "qux"},
            {"type": "wrapper", "content": [{"type": "text", "text": "wrapped"}]}
        ]},
        {"type": "extension", "attrs": {"extensionKey": "jira-macro", "text": "Macro text"}},
        {"type": "layoutSection", "content": [{"type": "layoutColumn", "content": [paragraph_text("column")]}]},
        {"type": "bodiedExtension", "attrs": {"extensionKey": "k"}, "content": [paragraph_text("bodied")]}
    ]));
    for needle in ["inside foo", "inline in bar", "baz text", "[qux]", "wrapped", "Macro text", "column", "bodied"] {
        shows(&d, needle);
    }
}

#[test]
fn unknown_marks_keep_text() {
    let d = in_doc(json!([{"type": "paragraph", "content": [
        {"type": "text", "text": "red", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}]},
        {"type": "text", "text": "2", "marks": [{"type": "subsup", "attrs": {"type": "sup"}}, {"type": "strong"}]}
    ]}]));
    assert_eq!(d, doc(vec![para(vec![t("red"), styled("2", Marks::BOLD)])]));
}

#[test]
fn nothing_vanishes_from_a_mixed_document() {
    let d = in_doc(json!([
        {"type": "panel", "content": [paragraph_text("p1")]},
        {"type": "paragraph", "content": [
            {"type": "status", "attrs": {"text": "DONE"}},
            {"type": "emoji", "attrs": {"shortName": ":x:", "text": "❌"}},
            {"type": "inlineCard", "attrs": {"url": "https://card"}},
            {"type": "date", "attrs": {"timestamp": "86400000"}},
            {"type": "foo"}
        ]},
        {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "1"}}]},
        {"type": "expand", "attrs": {"title": "T"}, "content": [paragraph_text("e1")]}
    ]));
    let plain = d.to_plain_text();
    for needle in ["p1", "DONE", "❌", "https://card", "1970-01-02", "[foo]", "[attachment]", "T", "e1"] {
        assert!(plain.contains(needle), "{needle} missing from {plain}");
    }
    assert!(matches!(d.blocks.first(), Some(Block::Paragraph(_))));
}
