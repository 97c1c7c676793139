//! Inline content to wiki markup.
//!
//! Wiki cannot put spaces just inside `*bold*` and ignores spaces at the edges of a paragraph, a
//! heading, a list item or a table cell, so before writing: spaces at the edges of a bold, italic,
//! underlined or struck run are moved outside it, and the edges of the content are trimmed.
//! A run uses the simple delimiters (`*x*`) where the characters around it allow, else the brace
//! form (`{*}x{*}`). A hard break is a newline inside a multi-line paragraph where that reads back
//! the same, else `\\`.

use super::model::{Inline, Marks};
use super::normalise;
use super::wiki_escape::{encode_href, escape_into, first_escaped_char};

/// Writes `content` (trimmed at its edges) to `out`. `multiline` allows newlines for hard breaks;
/// `after` is the character that will follow the content (`None` at a line end).
pub(super) fn write_inlines(out: &mut String, content: &[Inline], multiline: bool, after: Option<char>) {
    let content = canonical(content);
    Writer { seq: &content, multiline, after }.write(out);
}

struct Writer<'s> {
    seq: &'s [Inline],
    multiline: bool,
    after: Option<char>,
}

impl Writer<'_> {
    fn write(&self, out: &mut String) {
        for (k, inline) in self.seq.iter().enumerate() {
            match inline {
                Inline::Text { text, marks } if marks.code => write_code(out, text),
                Inline::Text { text, marks } if marks.has_emphasis() => self.write_emphasis(out, text, *marks, k),
                Inline::Text { text, .. } => escape_into(out, text),
                Inline::Link { href, content } => write_link(out, href, content),
                Inline::Mention { id, .. } => write_mention(out, id),
                Inline::HardBreak => out.push_str(if self.newline_break(k) { "\n" } else { "\\\\" }),
            }
        }
    }

    fn write_emphasis(&self, out: &mut String, text: &str, marks: Marks, k: usize) {
        let open_ok = out.chars().next_back().is_none_or(|c| c.is_whitespace() || "([\"'/|".contains(c));
        let close_ok = self.next_char(k + 1).is_none_or(|c| c.is_whitespace() || ".,;:!?)]\"'/|".contains(c));
        let delims = delimiters(marks);
        let simple = open_ok && close_ok;
        for d in &delims {
            push_delim(out, *d, simple);
        }
        escape_into(out, text);
        for d in delims.iter().rev() {
            push_delim(out, *d, simple);
        }
    }

    /// The first character written for the inline at `k`.
    fn next_char(&self, k: usize) -> Option<char> {
        match self.seq.get(k) {
            None => self.after,
            Some(Inline::HardBreak) => Some(if self.newline_break(k) { '\n' } else { '\\' }),
            Some(Inline::Link { .. } | Inline::Mention { .. }) => Some('['),
            Some(Inline::Text { marks, .. }) if !marks.is_plain() => Some('{'),
            Some(Inline::Text { text, .. }) => first_escaped_char(text),
        }
    }

    /// Whether the hard break at `k` can be a newline: inside a multi-line paragraph, between
    /// content that does not end or start with a space.
    fn newline_break(&self, k: usize) -> bool {
        let (Some(prev), Some(next)) = (k.checked_sub(1).and_then(|p| self.seq.get(p)), self.seq.get(k + 1)) else {
            return false;
        };
        let prev_ok = match prev {
            Inline::HardBreak => false,
            Inline::Text { text, .. } => !text.ends_with(char::is_whitespace),
            _ => true,
        };
        let next_ok = match next {
            Inline::HardBreak => false,
            Inline::Text { text, .. } => !text.starts_with(char::is_whitespace),
            _ => true,
        };
        self.multiline && prev_ok && next_ok
    }
}

fn delimiters(marks: Marks) -> Vec<char> {
    let flags = [(marks.bold, '*'), (marks.italic, '_'), (marks.underline, '+'), (marks.strike, '-')];
    flags.iter().filter(|(on, _)| *on).map(|(_, d)| *d).collect()
}

fn push_delim(out: &mut String, delim: char, simple: bool) {
    if simple {
        out.push(delim);
    } else {
        out.push('{');
        out.push(delim);
        out.push('}');
    }
}

fn write_code(out: &mut String, text: &str) {
    out.push_str("{{");
    escape_into(out, text);
    out.push_str("}}");
}

fn write_link(out: &mut String, href: &str, content: &[Inline]) {
    out.push('[');
    if is_bare(href, content) {
        out.push_str(href);
    } else {
        let content = separate_spaces(content);
        Writer { seq: &content, multiline: false, after: Some('|') }.write(out);
        out.push('|');
        out.push_str(&encode_href(href));
    }
    out.push(']');
}

/// Whether the link can be written `[url]`: it shows its own address, which needs no encoding.
fn is_bare(href: &str, content: &[Inline]) -> bool {
    let shows_href = matches!(content, [Inline::Text { text, marks }] if text == href && marks.is_plain());
    let plain_href = !href.is_empty() && !href.starts_with('~') && encode_href(href) == href;
    shows_href && plain_href
}

fn write_mention(out: &mut String, id: &str) {
    let bad = |c: char| matches!(c, '[' | ']' | '|' | '\\' | '{' | '}') || c.is_control();
    if id.trim().is_empty() || id.trim() != id || id.contains(bad) {
        escape_into(out, &format!("@{id}"));
    } else if is_cloud_account_id(id) {
        out.push_str(&format!("[~accountid:{id}]"));
    } else {
        out.push_str(&format!("[~{id}]"));
    }
}

/// Cloud account ids: 24 letters and digits with at least one digit (`5fb82376aca10c006949f35b`),
/// or `NNNNNN:uuid` (`557058:f58131cb-b67d-43c7-b30d-6b58d40bd077`).
pub(super) fn is_cloud_account_id(id: &str) -> bool {
    let legacy = id.len() == 24
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().any(|c| c.is_ascii_digit());
    let prefixed = id.split_once(':').is_some_and(|(site, rest)| {
        !site.is_empty()
            && site.chars().all(|c| c.is_ascii_alphanumeric())
            && rest.len() >= 8
            && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    });
    legacy || prefixed
}

/// The content as wiki carries it: spaces moved out of emphasised runs, edges trimmed.
pub(super) fn canonical(content: &[Inline]) -> Vec<Inline> {
    trim_edges(separate_spaces(content))
}

/// Moves spaces at the edges of emphasised runs outside them (recursively into links).
fn separate_spaces(content: &[Inline]) -> Vec<Inline> {
    let mut out = Vec::new();
    for inline in content {
        match inline {
            Inline::Text { text, marks } if marks.has_emphasis() => split_run(&mut out, text, *marks),
            Inline::Link { href, content } => {
                out.push(Inline::Link { href: href.clone(), content: separate_spaces(content) })
            }
            other => out.push(other.clone()),
        }
    }
    normalise::inlines(out)
}

fn split_run(out: &mut Vec<Inline>, text: &str, marks: Marks) {
    let core = text.trim();
    let lead = &text[..text.len() - text.trim_start().len()];
    let trail = &text[text.trim_end().len()..];
    out.push(Inline::text(lead));
    out.push(Inline::styled(core, marks));
    if !core.is_empty() {
        out.push(Inline::text(trail));
    }
}

/// Drops spaces at the start of the first and the end of the last text run (not monospace ones).
fn trim_edges(mut content: Vec<Inline>) -> Vec<Inline> {
    while let Some(Inline::Text { text, marks }) = content.first_mut() {
        if marks.code {
            break;
        }
        *text = text.trim_start().to_string();
        if !text.is_empty() {
            break;
        }
        content.remove(0);
    }
    while let Some(Inline::Text { text, marks }) = content.last_mut() {
        if marks.code {
            break;
        }
        *text = text.trim_end().to_string();
        if !text.is_empty() {
            break;
        }
        content.pop();
    }
    normalise::inlines(content)
}
