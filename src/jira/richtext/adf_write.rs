//! [`Doc`] to ADF (`serde_json::Value`).

use serde_json::{Map, Value, json};

use super::model::{Block, Doc, Inline, ListItem, Marks, TableCell, TableRow};

impl Doc {
    /// Writes the document (in normal form) as an ADF `doc` node, version 1.
    pub fn to_adf(&self) -> Value {
        let doc = self.clone().normalised();
        json!({"type": "doc", "version": 1, "content": blocks(&doc.blocks)})
    }
}

fn blocks(blocks: &[Block]) -> Vec<Value> {
    blocks.iter().map(block).collect()
}

fn block(block: &Block) -> Value {
    match block {
        Block::Paragraph(content) => json!({"type": "paragraph", "content": inlines(content)}),
        Block::Heading { level, content } => {
            json!({"type": "heading", "attrs": {"level": level}, "content": inlines(content)})
        }
        Block::BulletList(items) => json!({"type": "bulletList", "content": list_items(items)}),
        Block::OrderedList(items) => json!({"type": "orderedList", "content": list_items(items)}),
        Block::CodeBlock { language, text } => code_block(language.as_deref(), text),
        Block::Quote(inner) => json!({"type": "blockquote", "content": blocks(inner)}),
        Block::Table(rows) => table(rows),
        Block::Rule => json!({"type": "rule"}),
    }
}

fn list_items(items: &[ListItem]) -> Vec<Value> {
    items.iter().map(|item| json!({"type": "listItem", "content": blocks(&item.blocks)})).collect()
}

fn code_block(language: Option<&str>, text: &str) -> Value {
    let mut node = Map::new();
    node.insert("type".into(), json!("codeBlock"));
    if let Some(language) = language {
        node.insert("attrs".into(), json!({"language": language}));
    }
    let content = if text.is_empty() { json!([]) } else { json!([{"type": "text", "text": text}]) };
    node.insert("content".into(), content);
    Value::Object(node)
}

fn table(rows: &[TableRow]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| json!({"type": "tableRow", "content": row.cells.iter().map(cell).collect::<Vec<_>>()}))
        .collect();
    json!({"type": "table", "attrs": {"isNumberColumnEnabled": false, "layout": "default"}, "content": rows})
}

fn cell(cell: &TableCell) -> Value {
    let ty = if cell.header { "tableHeader" } else { "tableCell" };
    json!({"type": ty, "attrs": {}, "content": blocks(&cell.blocks)})
}

fn inlines(content: &[Inline]) -> Vec<Value> {
    let mut out = Vec::new();
    for inline in content {
        inline_into(inline, None, &mut out);
    }
    out
}

fn inline_into(inline: &Inline, href: Option<&str>, out: &mut Vec<Value>) {
    match inline {
        Inline::Text { text, marks } if !text.is_empty() => out.push(text_node(text, *marks, href)),
        Inline::Text { .. } => {}
        Inline::Link { href, content } => content.iter().for_each(|i| inline_into(i, Some(href), out)),
        Inline::Mention { id, text } => out.push(mention(id, text)),
        Inline::HardBreak => out.push(json!({"type": "hardBreak"})),
    }
}

fn mention(id: &str, text: &str) -> Value {
    if text.is_empty() {
        json!({"type": "mention", "attrs": {"id": id}})
    } else {
        json!({"type": "mention", "attrs": {"id": id, "text": text}})
    }
}

fn text_node(text: &str, marks: Marks, href: Option<&str>) -> Value {
    let mut list = Vec::new();
    let flags = [
        (marks.bold, "strong"),
        (marks.italic, "em"),
        (marks.underline, "underline"),
        (marks.strike, "strike"),
        (marks.code, "code"),
    ];
    list.extend(flags.iter().filter(|(on, _)| *on).map(|(_, ty)| json!({"type": ty})));
    if let Some(href) = href {
        list.push(json!({"type": "link", "attrs": {"href": href}}));
    }
    if list.is_empty() {
        json!({"type": "text", "text": text})
    } else {
        json!({"type": "text", "text": text, "marks": list})
    }
}
