//! Real Jira artefacts (copies in `fixtures/`, see its README).

use serde_json::Value;

use super::{Block, Doc, Inline, Marks, doc, para, styled, t};

const ADF_DOCUMENT: &str = include_str!("fixtures/adf-document.json");
const ADF_DOCUMENT_WIKI: &str = include_str!("fixtures/adf-document.wiki");
const AIRBYTE: &str = include_str!("fixtures/airbyte-issues.json");
const WIKI_FILES: [&str; 5] = [
    include_str!("fixtures/webhook-issue-comment-created-indentation.json"),
    include_str!("fixtures/webhook-server-issue-updated-commented-3.json"),
    include_str!("fixtures/webhook-server-issue-updated-comment-deleted.json"),
    include_str!("fixtures/webhook-server-issue-updated-many-fields.json"),
    include_str!("fixtures/issue-rendered.json"),
];

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Every text an ADF node carries: text nodes, mention and card attributes.
fn adf_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push(text.clone());
            }
            for key in ["text", "url"] {
                if let Some(Value::String(s)) = map.get("attrs").and_then(|a| a.get(key)) {
                    out.push(s.clone());
                }
            }
            map.get("content").into_iter().for_each(|c| adf_texts(c, out));
        }
        Value::Array(items) => items.iter().for_each(|i| adf_texts(i, out)),
        _ => {}
    }
}

#[test]
fn adf_document_keeps_all_text() {
    let value = json(ADF_DOCUMENT);
    let d = Doc::from_adf(&value);
    let plain = d.to_plain_text();
    let from_wiki = Doc::from_wiki(&d.to_wiki()).to_plain_text();
    let mut texts = Vec::new();
    adf_texts(&value, &mut texts);
    assert!(texts.len() > 60, "walked too little: {texts:?}");
    for text in &texts {
        assert!(plain.contains(text.as_str()), "{text:?} missing from plain text");
        if text != "Person A" {
            // Wiki mentions carry only the account id.
            assert!(from_wiki.contains(text.as_str()), "{text:?} missing after wiki");
        }
    }
}

#[test]
fn adf_document_key_phrases_in_plain_text_and_wiki() {
    let d = Doc::from_adf(&json(ADF_DOCUMENT));
    let plain = d.to_plain_text();
    let wiki = d.to_wiki();
    let phrases = [
        "1. Some text",
        "Blockquote text",
        "Implement epic browser",
        "Panel paragraph",
        "Paragraph 2",
        "Bold Text",
        "Prefix: Underlined Text",
        "Prefix: Inline Code Block",
        "New level",
        "fourth level",
        "Table row 5 column 3",
        "fmt.Println(\"Hello, World!\")",
        "https://antiklabs.atlassian.net/wiki/spaces/ANK/pages/124234/hello-world",
    ];
    for phrase in phrases {
        assert!(plain.contains(phrase), "{phrase:?} missing from plain text");
        assert!(wiki.contains(phrase), "{phrase:?} missing from wiki");
    }
    assert!(plain.contains("@Person A"));
    assert!(wiki.contains("[~accountid:5fb82376aca10c006949f35b]"));
}

#[test]
fn adf_document_structure() {
    let d = Doc::from_adf(&json(ADF_DOCUMENT));
    assert_eq!(d.blocks[0], Block::Heading { level: 1, content: vec![t("H1")] });
    assert_eq!(d.blocks[3], Block::Quote(vec![para(vec![t("Blockquote text")])]));
    assert_eq!(d.blocks[8], para(vec![styled("Strong", Marks::BOLD), t(" Paragraph 1")]));
    assert_eq!(d.blocks[15], para(vec![Inline::link("https://ankit.pl", "Link")]));
    let Block::OrderedList(items) = &d.blocks[17] else { panic!("ordered list expected: {:?}", d.blocks[17]) };
    assert_eq!(items.len(), 3);
    assert!(matches!(d.blocks.last(), Some(Block::Table(rows)) if rows.len() == 4 && rows[0].cells[0].header));
}

#[test]
fn adf_document_round_trips() {
    let d = Doc::from_adf(&json(ADF_DOCUMENT));
    assert_eq!(Doc::from_adf(&d.to_adf()), d);
    assert_eq!(d.to_wiki(), ADF_DOCUMENT_WIKI);
    // Only the mention's display name is lost through wiki.
    let mut without_name = d.clone();
    for block in &mut without_name.blocks {
        if let Block::Paragraph(content) = block {
            for inline in content {
                if let Inline::Mention { text, .. } = inline {
                    text.clear();
                }
            }
        }
    }
    assert_eq!(Doc::from_wiki(ADF_DOCUMENT_WIKI), without_name);
}

#[test]
fn airbyte_description() {
    let value = json(AIRBYTE);
    let description = &value["issues"][0]["fields"]["description"];
    let d = Doc::from_adf(description);
    assert_eq!(d, doc(vec![para(vec![t("Test issue")])]));
    assert_eq!(d.to_adf(), *description);
    assert_eq!(d.to_wiki(), "Test issue");
}

/// Wiki strings in a REST or webhook body: descriptions and comment bodies (not rendered HTML).
fn wiki_strings(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                let here = format!("{path}/{key}");
                match value {
                    Value::String(s) if matches!(key.as_str(), "description" | "body") => out.push((here, s.clone())),
                    _ if key == "renderedFields" => {}
                    _ => wiki_strings(value, &here, out),
                }
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| wiki_strings(x, &format!("{path}/{i}"), out)),
        _ => {}
    }
}

fn alnum(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

#[test]
fn wiki_samples_keep_their_text_and_round_trip() {
    let mut count = 0;
    for file in WIKI_FILES {
        let mut strings = Vec::new();
        wiki_strings(&json(file), "", &mut strings);
        for (path, wiki) in strings {
            let d = Doc::from_wiki(&wiki);
            assert_eq!(alnum(&d.to_plain_text()), alnum(&wiki).replace("accountid", ""), "{path}: {wiki:?}");
            assert_eq!(Doc::from_wiki(&d.to_wiki()), d, "{path}: wiki round trip of {wiki:?}");
            assert_eq!(Doc::from_adf(&d.to_adf()), d, "{path}: ADF round trip of {wiki:?}");
            count += 1;
        }
    }
    assert!(count >= 30, "only {count} wiki strings found");
}

#[test]
fn wiki_comment_with_mention_and_crlf() {
    let body = "[~Test] creating a test comment\r\n\r\na second line for the test comment";
    let d = Doc::from_wiki(body);
    assert_eq!(
        d,
        doc(vec![
            para(vec![Inline::mention("Test"), t(" creating a test comment")]),
            para(vec![t("a second line for the test comment")]),
        ])
    );
    let adf = d.to_adf();
    assert_eq!(adf["content"][0]["content"][0], serde_json::json!({"type": "mention", "attrs": {"id": "Test"}}));
    assert_eq!(d.to_wiki(), "[~Test] creating a test comment\n\na second line for the test comment");
}

#[test]
fn wiki_description_with_italic_link() {
    let wiki = "test\n\n_Issue created from a [message in Mattermost|https://chrisp.ngrok.io/testteam/pl/449w553cajrbfewz581uoxmb8o]_.";
    let href = "https://chrisp.ngrok.io/testteam/pl/449w553cajrbfewz581uoxmb8o";
    let d = Doc::from_wiki(wiki);
    assert_eq!(
        d,
        doc(vec![
            para(vec![t("test")]),
            para(vec![
                styled("Issue created from a", Marks::ITALIC),
                t(" "),
                Inline::Link { href: href.into(), content: vec![styled("message in Mattermost", Marks::ITALIC)] },
                t("."),
            ]),
        ])
    );
    assert_eq!(d.to_plain_text(), format!("test\n\nIssue created from a message in Mattermost ({href})."));
}

#[test]
fn wiki_bold_quick_filters() {
    let wiki = "*Creating Quick Filters*\n\nYou can add your own Quick Filters in the board configuration (select *Board > Configure*)";
    let d = Doc::from_wiki(wiki);
    assert_eq!(d.blocks[0], para(vec![styled("Creating Quick Filters", Marks::BOLD)]));
    assert_eq!(d.to_wiki(), wiki);
}

/// The mobitel issue carries both the wiki source and Jira's HTML rendering of each comment.
#[test]
fn wiki_escapes_match_jira_rendering() {
    let value = json(WIKI_FILES[4]);
    let sources = value["fields"]["comment"]["comments"].as_array().unwrap();
    let rendered = value["renderedFields"]["comment"]["comments"].as_array().unwrap();
    let mut compared = 0;
    for source in sources {
        let Some(html) = rendered.iter().find(|r| r["id"] == source["id"]) else { continue };
        let wiki = source["body"].as_str().unwrap();
        let html = html["body"].as_str().unwrap();
        let text = html.replace("<p>", "").replace("</p>", "").replace("&#45;", "-");
        assert_eq!(Doc::from_wiki(wiki).to_plain_text(), text.trim(), "{wiki:?} vs {html:?}");
        compared += 1;
    }
    assert_eq!(compared, 2);
    let description = Doc::from_wiki(value["fields"]["description"].as_str().unwrap());
    assert_eq!(description.to_plain_text(), "Prueba de creación de tareas en un proyecto público");
}
