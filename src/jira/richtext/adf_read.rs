//! ADF (`serde_json::Value`) to [`Doc`].
//!
//! Never fails. Nodes the model has no place for degrade to readable content:
//! - containers (`panel`, `expand`, `nestedExpand`, `bodiedExtension`, `layoutSection`, `layoutColumn`,
//!   and any unknown node with `content`) are replaced by their content; an expand's title becomes
//!   a paragraph of its own;
//! - `taskList`/`decisionList` become bullet lists, a task item starting with `[ ] ` or `[x] `;
//! - `mediaSingle`/`mediaGroup`/`media`/`mediaInline` become the text `[attachment]` (or
//!   `[attachment: NAME]` when the node names the file);
//! - `inlineCard`/`blockCard`/`embedCard` become a link showing their address;
//! - `emoji`, `status`, `placeholder` become their text, `date` its `YYYY-MM-DD` day;
//! - an unknown leaf becomes its `text` (or `attrs.text`, `attrs.url`, ...), or `[TYPE]` if it has none.
//!
//! Unknown marks (`textColor`, `subsup`, `backgroundColor`, ...) are dropped, keeping the text.

use serde_json::Value;

use super::model::{Block, Doc, Inline, ListItem, Marks, TableCell, TableRow};

impl Doc {
    /// Reads an ADF document (or any ADF node). Never fails; the result is in normal form.
    pub fn from_adf(v: &Value) -> Doc {
        let blocks = match node_type(v) {
            "doc" => blocks_of(v),
            _ => nodes_to_blocks(std::slice::from_ref(v)),
        };
        Doc { blocks }.normalised()
    }
}

const INLINE_TYPES: &[&str] =
    &["text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "placeholder", "mediaInline"];

fn node_type(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("")
}

fn children(v: &Value) -> &[Value] {
    v.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get("attrs").and_then(|a| a.get(name)).and_then(Value::as_str)
}

fn blocks_of(v: &Value) -> Vec<Block> {
    nodes_to_blocks(children(v))
}

fn inlines_of(v: &Value) -> Vec<Inline> {
    nodes_to_inlines(children(v))
}

/// Converts a sequence of nodes in block position; runs of inline nodes become paragraphs.
fn nodes_to_blocks(nodes: &[Value]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pending: Vec<Inline> = Vec::new();
    for node in nodes {
        if is_inline(node) {
            pending.extend(node_to_inlines(node));
            continue;
        }
        if !pending.is_empty() {
            blocks.push(Block::Paragraph(std::mem::take(&mut pending)));
        }
        node_to_blocks(node, &mut blocks);
    }
    if !pending.is_empty() {
        blocks.push(Block::Paragraph(pending));
    }
    blocks
}

fn is_inline(node: &Value) -> bool {
    let ty = node_type(node);
    INLINE_TYPES.contains(&ty) || (!KNOWN_BLOCKS.contains(&ty) && node.get("content").is_none())
}

const KNOWN_BLOCKS: &[&str] = &[
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "listItem",
    "codeBlock",
    "blockquote",
    "table",
    "rule",
    "taskList",
    "decisionList",
    "mediaSingle",
    "mediaGroup",
    "media",
    "blockCard",
    "embedCard",
    "extension",
];

fn node_to_blocks(node: &Value, out: &mut Vec<Block>) {
    let block = match node_type(node) {
        "paragraph" => Block::Paragraph(inlines_of(node)),
        "heading" => Block::Heading { level: heading_level(node), content: inlines_of(node) },
        "bulletList" => Block::BulletList(list_items(node)),
        "orderedList" => Block::OrderedList(list_items(node)),
        "listItem" => Block::BulletList(vec![ListItem { blocks: blocks_of(node) }]),
        "taskList" | "decisionList" => Block::BulletList(list_items(node)),
        "codeBlock" => code_block(node),
        "blockquote" => Block::Quote(blocks_of(node)),
        "table" => Block::Table(table_rows(node)),
        "rule" => Block::Rule,
        "mediaSingle" | "mediaGroup" | "media" => Block::Paragraph(vec![Inline::text(attachment_text(node))]),
        "blockCard" | "embedCard" => Block::Paragraph(vec![card(node)]),
        "expand" | "nestedExpand" => return expand(node, out),
        "extension" => Block::Paragraph(vec![Inline::text(leaf_text(node))]),
        _ => return out.extend(blocks_of(node)),
    };
    out.push(block);
}

fn heading_level(node: &Value) -> u8 {
    let level = node.get("attrs").and_then(|a| a.get("level")).and_then(Value::as_u64).unwrap_or(1);
    u8::try_from(level.clamp(1, 6)).unwrap_or(1)
}

fn list_items(node: &Value) -> Vec<ListItem> {
    children(node).iter().map(list_item).collect()
}

fn list_item(node: &Value) -> ListItem {
    match node_type(node) {
        "listItem" => ListItem { blocks: blocks_of(node) },
        "taskItem" => {
            let done = attr(node, "state") == Some("DONE");
            let mut content = vec![Inline::text(if done { "[x] " } else { "[ ] " })];
            content.extend(inlines_of(node));
            ListItem { blocks: vec![Block::Paragraph(content)] }
        }
        "decisionItem" => ListItem { blocks: vec![Block::Paragraph(inlines_of(node))] },
        _ => ListItem { blocks: nodes_to_blocks(std::slice::from_ref(node)) },
    }
}

fn code_block(node: &Value) -> Block {
    let language = attr(node, "language").map(str::to_string);
    let text: String = children(node).iter().map(plain_text_of).collect();
    Block::CodeBlock { language, text }
}

fn table_rows(node: &Value) -> Vec<TableRow> {
    children(node).iter().map(|row| TableRow { cells: children(row).iter().map(table_cell).collect() }).collect()
}

fn table_cell(node: &Value) -> TableCell {
    let header = node_type(node) == "tableHeader";
    match node_type(node) {
        "tableHeader" | "tableCell" => TableCell { header, blocks: blocks_of(node) },
        _ => TableCell { header, blocks: nodes_to_blocks(std::slice::from_ref(node)) },
    }
}

fn expand(node: &Value, out: &mut Vec<Block>) {
    if let Some(title) = attr(node, "title").filter(|t| !t.trim().is_empty()) {
        out.push(Block::Paragraph(vec![Inline::styled(title, Marks::BOLD)]));
    }
    out.extend(blocks_of(node));
}

/// Converts a sequence of nodes in inline position.
fn nodes_to_inlines(nodes: &[Value]) -> Vec<Inline> {
    nodes.iter().flat_map(node_to_inlines).collect()
}

fn node_to_inlines(node: &Value) -> Vec<Inline> {
    let inline = match node_type(node) {
        "text" => return text_node(node),
        "hardBreak" => Inline::HardBreak,
        "mention" => mention(node),
        "inlineCard" => card(node),
        "date" => Inline::text(date_text(node)),
        "mediaInline" => Inline::text(attachment_text(node)),
        _ if node.get("content").is_some() => return inline_container(node),
        _ => Inline::text(leaf_text(node)),
    };
    vec![inline]
}

/// An unknown node with content in inline position: its content, paragraphs separated by breaks.
fn inline_container(node: &Value) -> Vec<Inline> {
    let mut out = Vec::new();
    for child in children(node) {
        if !out.is_empty() && !is_inline(child) {
            out.push(Inline::HardBreak);
        }
        out.extend(node_to_inlines(child));
    }
    out
}

fn text_node(node: &Value) -> Vec<Inline> {
    let text = node.get("text").and_then(Value::as_str).unwrap_or("").to_string();
    let mut marks = Marks::PLAIN;
    let mut href = None;
    for mark in node.get("marks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        match node_type(mark) {
            "strong" => marks.bold = true,
            "em" => marks.italic = true,
            "underline" => marks.underline = true,
            "strike" => marks.strike = true,
            "code" => marks.code = true,
            "link" => href = Some(attr(mark, "href").unwrap_or("").to_string()),
            _ => {}
        }
    }
    let run = Inline::Text { text, marks };
    match href {
        Some(href) => vec![Inline::Link { href, content: vec![run] }],
        None => vec![run],
    }
}

fn mention(node: &Value) -> Inline {
    let id = attr(node, "id").unwrap_or("").to_string();
    let text = attr(node, "text").unwrap_or("").to_string();
    Inline::Mention { id, text }
}

fn card(node: &Value) -> Inline {
    match attr(node, "url") {
        Some(url) => Inline::link(url, url),
        None => Inline::text(leaf_text(node)),
    }
}

fn attachment_text(node: &Value) -> String {
    let name = find_attr(node, &["alt", "name", "fileName", "filename"]);
    match name {
        Some(name) => format!("[attachment: {name}]"),
        None => "[attachment]".to_string(),
    }
}

/// The first non-empty string attribute among `names`, looking into the node and its content.
fn find_attr<'a>(node: &'a Value, names: &[&str]) -> Option<&'a str> {
    let own = names.iter().find_map(|n| attr(node, n).filter(|s| !s.trim().is_empty()));
    own.or_else(|| children(node).iter().find_map(|c| find_attr(c, names)))
}

fn date_text(node: &Value) -> String {
    let attrs = node.get("attrs");
    let stamp = attrs.and_then(|a| a.get("timestamp"));
    let parsed = |s: &Value| s.as_str().and_then(|s| s.trim().parse::<f64>().ok()).or_else(|| s.as_f64());
    let millis = stamp.and_then(parsed).filter(|ms| ms.is_finite()).map(|ms| ms as i64);
    match millis {
        Some(ms) => ymd(ms.div_euclid(86_400_000)),
        None => leaf_text(node),
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn ymd(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Readable text of a leaf node the model does not know.
fn leaf_text(node: &Value) -> String {
    if let Some(text) = node.get("text").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        return text.to_string();
    }
    const NAMES: &[&str] = &["text", "shortName", "url", "title", "name", "extensionKey"];
    match NAMES.iter().find_map(|n| attr(node, n).filter(|s| !s.trim().is_empty())) {
        Some(text) => text.to_string(),
        None => format!("[{}]", if node_type(node).is_empty() { "unknown" } else { node_type(node) }),
    }
}

/// All text below a node, for code blocks.
fn plain_text_of(node: &Value) -> String {
    match node_type(node) {
        "text" => node.get("text").and_then(Value::as_str).unwrap_or("").to_string(),
        "hardBreak" => "\n".to_string(),
        _ if node.get("content").is_some() => children(node).iter().map(plain_text_of).collect(),
        _ => leaf_text(node),
    }
}
