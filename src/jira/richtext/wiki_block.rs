//! Wiki markup, block level. Blocks are separated by blank lines; a paragraph's lines are joined by
//! hard breaks. Recognised at the start of a line (after spaces): `h1.`..`h6.`, `bq.`, `----`,
//! `{code[:lang]}`, `{noformat}`, `{quote}`, list markers (`*`, `#`, mixed like `*#`, or a single `-`)
//! followed by a space, and table rows starting with `|`. A `{panel}` tag at the start of a line is
//! dropped (its title kept as a bold paragraph) and its content parsed as ordinary blocks; the same
//! goes for the title of a code block. A line after a list item that starts no block continues it.

use super::model::{Block, Inline, ListItem, Marks, TableCell, TableRow};
use super::wiki_inline::{Tag, parse_inlines, tag_at};

/// Lists nested deeper than this are flattened to this depth.
const MAX_DEPTH: usize = 32;

const QUOTE_END: &str = "{quote}";

/// Parses block-level wiki markup; `src` uses `\n` line ends.
pub(super) fn parse_blocks(src: &str) -> Vec<Block> {
    Parser { src, pos: 0, term: None }.blocks()
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// The tag that ends the blocks being parsed (`{quote}` inside a quote).
    term: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bullet,
    Ordered,
}

struct ItemLine {
    kinds: Vec<Kind>,
    content: String,
}

impl<'a> Parser<'a> {
    fn blocks(&mut self) -> Vec<Block> {
        let mut out = Vec::new();
        while self.pos < self.src.len() {
            if let Some(end) = self.terminator() {
                self.pos = end;
                break;
            }
            if self.line().trim().is_empty() {
                self.next_line();
            } else {
                self.block(&mut out);
            }
        }
        out
    }

    /// The current line, cut before the terminator tag if it occurs in it.
    fn line(&self) -> &'a str {
        &self.src[self.pos..self.line_end()]
    }

    fn raw_line_end(&self) -> usize {
        self.src[self.pos..].find('\n').map_or(self.src.len(), |k| self.pos + k)
    }

    fn line_end(&self) -> usize {
        self.term_at().unwrap_or_else(|| self.raw_line_end())
    }

    /// Where the terminator tag occurs in the current line (not as part of `{{quote}}` or `\{quote}`).
    fn term_at(&self) -> Option<usize> {
        let term = self.term?;
        let line = &self.src[self.pos..self.raw_line_end()];
        let valid = |k: &usize| !line[..*k].ends_with(['{', '\\']);
        line.match_indices(term).map(|(k, _)| k).find(valid).map(|k| self.pos + k)
    }

    /// If the current line starts with the terminator: the index after it.
    fn terminator(&self) -> Option<usize> {
        let at = self.term_at()?;
        let before = &self.src[self.pos..at];
        before.trim().is_empty().then(|| at + self.term.map_or(0, str::len))
    }

    /// Moves to the start of the next line (or to the terminator that cut the current one).
    fn next_line(&mut self) {
        let end = self.line_end();
        self.pos = if self.src[end..].starts_with('\n') { end + 1 } else { end };
    }

    fn block(&mut self, out: &mut Vec<Block>) {
        let line = self.line();
        let trimmed = line.trim_start();
        let start = self.pos + (line.len() - trimmed.len());
        if let Some(block) = line_block(trimmed) {
            out.push(block);
            self.next_line();
        } else if let Some((tag, len)) = tag_at(&trimmed.chars().collect::<Vec<_>>()) {
            let after = start + trimmed.chars().take(len).map(char::len_utf8).sum::<usize>();
            self.tag_block(&tag, after, out);
        } else if item_line(trimmed).is_some() {
            out.extend(self.list());
        } else if trimmed.starts_with('|') {
            out.push(self.table());
        } else {
            out.push(self.paragraph());
        }
    }

    /// A block that starts with a tag ending at `after`, or a paragraph starting with an inline tag.
    fn tag_block(&mut self, tag: &Tag, after: usize, out: &mut Vec<Block>) {
        match tag.name.as_str() {
            "code" | "noformat" => {
                push_title(out, tag);
                out.push(self.code_block(tag, after));
            }
            "quote" => out.push(self.quote(after)),
            "panel" => {
                push_title(out, tag);
                self.pos = after;
            }
            _ => out.push(self.paragraph()),
        }
    }

    fn code_block(&mut self, tag: &Tag, after: usize) -> Block {
        let close = format!("{{{}}}", tag.name);
        let rest = &self.src[after..];
        let (body, end) = match rest.find(&close) {
            Some(k) => (&rest[..k], after + k + close.len()),
            None => (rest, self.src.len()),
        };
        self.pos = end;
        if self.line().trim().is_empty() {
            self.next_line();
        }
        let language = if tag.name == "code" { tag.main_param("language") } else { None };
        Block::CodeBlock { language, text: strip_blank_edges(body).to_string() }
    }

    fn quote(&mut self, after: usize) -> Block {
        let mut inner = Parser { src: self.src, pos: after, term: Some(QUOTE_END) };
        let blocks = inner.blocks();
        self.pos = inner.pos;
        Block::Quote(blocks)
    }

    fn paragraph(&mut self) -> Block {
        let mut lines = vec![self.line().trim()];
        self.next_line();
        while self.pos < self.src.len() && self.terminator().is_none() {
            let line = self.line();
            if line.trim().is_empty() || starts_block(line.trim_start()) {
                break;
            }
            lines.push(line.trim());
            self.next_line();
        }
        Block::Paragraph(parse_inlines(&lines.join("\n")))
    }

    fn list(&mut self) -> Vec<Block> {
        let mut items: Vec<ItemLine> = Vec::new();
        while self.pos < self.src.len() && self.terminator().is_none() {
            let line = self.line().trim();
            if let Some(item) = item_line(line) {
                items.push(item);
            } else if line.is_empty() || starts_block(line) {
                break;
            } else if let Some(last) = items.last_mut() {
                last.content.push('\n');
                last.content.push_str(line);
            }
            self.next_line();
        }
        build_lists(&items, 0)
    }

    fn table(&mut self) -> Block {
        let mut rows = Vec::new();
        while self.pos < self.src.len() && self.terminator().is_none() {
            let line = self.line().trim();
            if !line.starts_with('|') {
                break;
            }
            rows.push(table_row(line));
            self.next_line();
        }
        Block::Table(rows)
    }
}

/// The single-line blocks: headings, `bq.` and the rule.
fn line_block(line: &str) -> Option<Block> {
    if line.trim_end() == "----" {
        return Some(Block::Rule);
    }
    if let Some(rest) = prefix_word(line, "bq.") {
        return Some(Block::Quote(vec![Block::Paragraph(parse_inlines(rest.trim()))]));
    }
    let level = heading_level(line)?;
    let rest = prefix_word(line, &format!("h{level}."))?;
    Some(Block::Heading { level, content: parse_inlines(rest.trim()) })
}

fn heading_level(line: &str) -> Option<u8> {
    let mut chars = line.chars();
    let level = match (chars.next(), chars.next()) {
        (Some('h' | 'H'), Some(d @ '1'..='6')) => d.to_digit(10).and_then(|d| u8::try_from(d).ok())?,
        _ => return None,
    };
    (chars.next() == Some('.')).then_some(level)
}

/// The rest of `line` after `prefix` when the prefix is followed by a space or the line end.
fn prefix_word<'l>(line: &'l str, prefix: &str) -> Option<&'l str> {
    let head = line.get(..prefix.len())?;
    let rest = &line[prefix.len()..];
    let ok = head.eq_ignore_ascii_case(prefix) && rest.chars().next().is_none_or(char::is_whitespace);
    ok.then_some(rest)
}

fn starts_block(line: &str) -> bool {
    let block_tag = tag_at(&line.chars().collect::<Vec<_>>())
        .is_some_and(|(tag, _)| matches!(tag.name.as_str(), "code" | "noformat" | "quote" | "panel"));
    block_tag
        || line.starts_with('|')
        || item_line(line).is_some()
        || prefix_word(line, "bq.").is_some()
        || line.trim_end() == "----"
        || heading_level(line).and_then(|l| prefix_word(line, &format!("h{l}."))).is_some()
}

/// A list item line: markers (`*`, `#`, or one `-`) followed by a space or the line end.
fn item_line(line: &str) -> Option<ItemLine> {
    let markers: String = line.chars().take_while(|c| matches!(c, '*' | '#')).collect();
    let markers = if markers.is_empty() && line.starts_with('-') { "-".to_string() } else { markers };
    let rest = &line[markers.len()..];
    if markers.is_empty() || !rest.chars().next().is_none_or(char::is_whitespace) {
        return None;
    }
    let kinds = markers.chars().take(MAX_DEPTH).map(|c| if c == '#' { Kind::Ordered } else { Kind::Bullet });
    Some(ItemLine { kinds: kinds.collect(), content: rest.trim().to_string() })
}

/// Builds the lists of `lines` at `depth` (every line has more than `depth` markers).
fn build_lists(lines: &[ItemLine], depth: usize) -> Vec<Block> {
    let mut lists = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let kind = lines[i].kinds[depth];
        let mut items = Vec::new();
        while i < lines.len() {
            let own = lines[i].kinds.len() == depth + 1;
            if own && lines[i].kinds[depth] != kind && !items.is_empty() {
                break;
            }
            let first = if own { parse_inlines(&lines[i].content) } else { Vec::new() };
            i += usize::from(own);
            let deeper = lines[i..].iter().take_while(|l| l.kinds.len() > depth + 1).count();
            let mut blocks = vec![Block::Paragraph(first)];
            blocks.extend(build_lists(&lines[i..i + deeper], depth + 1));
            i += deeper;
            items.push(ListItem { blocks });
        }
        lists.push(if kind == Kind::Ordered { Block::OrderedList(items) } else { Block::BulletList(items) });
    }
    lists
}

fn table_row(line: &str) -> TableRow {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::new();
    let mut unclosed = usize::MAX;
    let mut i = 0;
    while i < chars.len() {
        let header = chars.get(i + 1) == Some(&'|');
        i += if header { 2 } else { 1 };
        let end = cell_end(&chars, i, &mut unclosed);
        let text: String = chars[i..end].iter().collect();
        if end >= chars.len() && text.trim().is_empty() {
            break;
        }
        let blocks = vec![Block::Paragraph(parse_inlines(text.trim()))];
        cells.push(TableCell { header, blocks });
        i = end;
    }
    TableRow { cells }
}

/// The index of the `|` ending the cell that starts at `from`, skipping escapes and `[...]`.
/// `unclosed` is where a `[` without `]` was seen: no later `[` can close either.
fn cell_end(chars: &[char], from: usize, unclosed: &mut usize) -> usize {
    let mut k = from;
    while let Some(&c) = chars.get(k) {
        match c {
            '|' => return k,
            '\\' => k += 2,
            '[' if k < *unclosed => match bracket_end(chars, k) {
                Some(end) => k = end + 1,
                None => {
                    *unclosed = k;
                    k += 1;
                }
            },
            _ => k += 1,
        }
    }
    chars.len()
}

/// The index of the `]` closing the `[` at `open`, skipping escapes.
fn bracket_end(chars: &[char], open: usize) -> Option<usize> {
    let mut k = open + 1;
    while let Some(&c) = chars.get(k) {
        match c {
            ']' => return Some(k),
            '\\' => k += 2,
            _ => k += 1,
        }
    }
    None
}

fn push_title(out: &mut Vec<Block>, tag: &Tag) {
    if let Some(title) = tag.param("title").filter(|t| !t.trim().is_empty()) {
        out.push(Block::Paragraph(vec![Inline::styled(title.trim(), Marks::BOLD)]));
    }
}

/// Drops a blank first line and a blank last line (the newlines after and before the tags).
fn strip_blank_edges(body: &str) -> &str {
    let body = match body.split_once('\n') {
        Some((first, rest)) if first.trim().is_empty() => rest,
        _ => body,
    };
    match body.rsplit_once('\n') {
        Some((rest, last)) if last.trim().is_empty() => rest,
        _ => body,
    }
}
