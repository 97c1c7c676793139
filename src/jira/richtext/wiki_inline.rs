//! Wiki markup, inline level: text with `*bold*`, `_italic_`, `+underline+`, `-strike-`,
//! `{{monospace}}`, the brace forms `{*}x{*}` (usable inside words), links `[text|url]` and `[url]`,
//! mentions `[~name]` / `[~accountid:ID]`, breaks `\\`, escapes `\X` and numeric character
//! references `&#NN;` / `&#xHH;`.
//!
//! A simple delimiter opens only after a character that is not a letter or digit and before a
//! non-space that is not the same delimiter (`--` and `**` are text); it closes only after a non-space and before a character that is not a letter or digit,
//! on the same line. Everything else is literal text: `^sup^`, `~sub~`, `??cite??`, `!image.png!`,
//! unknown `{macro}` tags. The tags of `{color:..}`, `{panel:..}` and `{anchor:..}` are dropped and
//! their content kept (a panel's title is kept as text).

use super::model::{Inline, Marks};

/// Parses inline wiki markup. `\n` in `s` is a hard break.
pub(super) fn parse_inlines(s: &str) -> Vec<Inline> {
    let chars: Vec<char> = s.chars().collect();
    parse(&chars, Marks::PLAIN)
}

/// Tags whose markup is dropped (content kept).
pub(super) const DROPPED_TAGS: &[&str] = &["color", "panel", "anchor"];

const DELIMS: [char; 4] = ['*', '_', '+', '-'];

fn with_delim(marks: Marks, delim: char) -> Marks {
    match delim {
        '*' => Marks { bold: true, ..marks },
        '_' => Marks { italic: true, ..marks },
        '+' => Marks { underline: true, ..marks },
        _ => Marks { strike: true, ..marks },
    }
}

/// Scanning state for one run of inline content; remembers failed searches so that
/// unmatched delimiters cost linear time.
struct Scan<'a> {
    chars: &'a [char],
    marks: Marks,
    no_closer: [Failed; 4],
    no_bracket: Failed,
    no_code_end: Failed,
}

/// A search that found nothing from `from` up to the line end `stop`: any search starting in
/// between finds nothing either.
#[derive(Clone, Copy, Default)]
struct Failed {
    from: usize,
    stop: usize,
}

impl Failed {
    fn covers(self, i: usize) -> bool {
        self.from <= i && i < self.stop
    }
}

fn parse(chars: &[char], marks: Marks) -> Vec<Inline> {
    let none = Failed::default();
    let mut scan = Scan { chars, marks, no_closer: [none; 4], no_bracket: none, no_code_end: none };
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((inlines, next)) = scan.construct_at(i) {
            flush(&mut out, &mut text, marks);
            out.extend(inlines);
            i = next;
        } else {
            let (c, next) = literal_at(chars, i);
            text.push(c);
            i = next;
        }
    }
    flush(&mut out, &mut text, marks);
    out
}

fn flush(out: &mut Vec<Inline>, text: &mut String, marks: Marks) {
    if !text.is_empty() {
        out.push(Inline::Text { text: std::mem::take(text), marks });
    }
}

/// The literal character at `i` (resolving escapes and character references) and the next index.
fn literal_at(chars: &[char], i: usize) -> (char, usize) {
    match chars[i] {
        '\\' => match chars.get(i + 1) {
            Some(&n) if n.is_ascii_punctuation() && n != '\\' => (n, i + 2),
            _ => ('\\', i + 1),
        },
        '&' => char_ref(chars, i).unwrap_or(('&', i + 1)),
        c => (c, i + 1),
    }
}

/// A numeric character reference `&#NN;` or `&#xHH;` at `i`.
fn char_ref(chars: &[char], i: usize) -> Option<(char, usize)> {
    if chars.get(i + 1) != Some(&'#') {
        return None;
    }
    let hex = matches!(chars.get(i + 2), Some('x' | 'X'));
    let start = if hex { i + 3 } else { i + 2 };
    let radix = if hex { 16 } else { 10 };
    let max = if hex { 6 } else { 7 };
    let digits: String = chars[start.min(chars.len())..].iter().take_while(|c| c.is_digit(radix)).take(max).collect();
    let end = start + digits.len();
    if digits.is_empty() || chars.get(end) != Some(&';') {
        return None;
    }
    let c = u32::from_str_radix(&digits, radix).ok().and_then(char::from_u32)?;
    Some((c, end + 1))
}

impl Scan<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// A markup construct starting at `i`: its inlines and the index after it.
    fn construct_at(&mut self, i: usize) -> Option<(Vec<Inline>, usize)> {
        match self.chars[i] {
            '\\' if self.at(i + 1) == Some('\\') => Some((vec![Inline::HardBreak], i + 2)),
            '\n' => Some((vec![Inline::HardBreak], i + 1)),
            '[' => self.link_or_mention(i),
            '{' => self.code_span(i).or_else(|| self.brace_span(i)).or_else(|| self.dropped_tag(i)),
            c if DELIMS.contains(&c) => self.simple_span(i, c),
            _ => None,
        }
    }

    fn simple_span(&mut self, i: usize, delim: char) -> Option<(Vec<Inline>, usize)> {
        let prev_ok = i == 0 || !self.chars[i - 1].is_alphanumeric();
        let next_ok = self.at(i + 1).is_some_and(|n| !n.is_whitespace() && n != delim);
        if !prev_ok || !next_ok {
            return None;
        }
        let (end, len) = self.find_closer(i + 1, delim)?;
        let content = parse(&self.chars[i + 1..end], with_delim(self.marks, delim));
        Some((content, end + len))
    }

    fn brace_span(&mut self, i: usize) -> Option<(Vec<Inline>, usize)> {
        let delim = self.brace_token(i)?;
        let (end, len) = self.find_closer(i + 3, delim)?;
        let content = parse(&self.chars[i + 3..end], with_delim(self.marks, delim));
        Some((content, end + len))
    }

    /// The delimiter of a brace token `{*}` at `i`.
    fn brace_token(&self, i: usize) -> Option<char> {
        let delim = self.at(i + 1)?;
        let is_token = self.at(i) == Some('{') && DELIMS.contains(&delim) && self.at(i + 2) == Some('}');
        is_token.then_some(delim)
    }

    /// The closing delimiter (index, length) for content starting at `from`; the content is non-empty.
    fn find_closer(&mut self, from: usize, delim: char) -> Option<(usize, usize)> {
        let slot = DELIMS.iter().position(|d| *d == delim)?;
        if self.no_closer[slot].covers(from) {
            return None;
        }
        match self.search_closer(from, delim) {
            Ok(found) => Some(found),
            Err(stop) => {
                self.no_closer[slot] = Failed { from, stop };
                None
            }
        }
    }

    /// The closer, or the index where the search stopped.
    fn search_closer(&mut self, from: usize, delim: char) -> Result<(usize, usize), usize> {
        let mut k = from;
        while let Some(c) = self.at(k) {
            match c {
                '\n' => return Err(k),
                '\\' => k += 2,
                '{' if self.brace_token(k) == Some(delim) => return if k > from { Ok((k, 3)) } else { Err(k) },
                '{' if self.brace_token(k).is_some() => k += 3,
                '{' => k = self.code_end(k).unwrap_or(k + 1),
                '[' => k = self.bracket_end(k).map_or(k + 1, |e| e + 1),
                _ if c == delim && k > from && self.closes(k) => return Ok((k, 1)),
                _ => k += 1,
            }
        }
        Err(k)
    }

    /// Whether a simple delimiter at `k` may close: after a non-space, before a non-alphanumeric.
    fn closes(&self, k: usize) -> bool {
        let prev_ok = !self.chars[k - 1].is_whitespace();
        prev_ok && self.at(k + 1).is_none_or(|n| !n.is_alphanumeric())
    }

    /// For `{{` at `i`: the index after the closing `}}`.
    fn code_end(&mut self, i: usize) -> Option<usize> {
        if self.at(i) != Some('{') || self.at(i + 1) != Some('{') || self.no_code_end.covers(i) {
            return None;
        }
        let mut k = i + 2;
        while let Some(c) = self.at(k) {
            match c {
                '\n' => break,
                '\\' => k += 2,
                '}' if self.at(k + 1) == Some('}') => return Some(k + 2),
                _ => k += 1,
            }
        }
        self.no_code_end = Failed { from: i, stop: k };
        None
    }

    fn code_span(&mut self, i: usize) -> Option<(Vec<Inline>, usize)> {
        let end = self.code_end(i)?;
        if end - i <= 4 {
            return None;
        }
        let content = parse(&self.chars[i + 2..end - 2], Marks { code: true, ..self.marks });
        Some((content, end))
    }

    /// For `[` at `i`: the index of the closing `]` on the same line.
    fn bracket_end(&mut self, i: usize) -> Option<usize> {
        if self.no_bracket.covers(i) {
            return None;
        }
        let mut k = i + 1;
        while let Some(c) = self.at(k) {
            match c {
                '\n' => break,
                '\\' => k += 2,
                ']' => return Some(k),
                _ => k += 1,
            }
        }
        self.no_bracket = Failed { from: i, stop: k };
        None
    }

    fn link_or_mention(&mut self, i: usize) -> Option<(Vec<Inline>, usize)> {
        let end = self.bracket_end(i)?;
        let inner = &self.chars[i + 1..end];
        let bar = first_unescaped(inner, '|');
        let inline = match (inner.first(), bar) {
            (None, _) => return None,
            (Some('~'), None) => mention(&inner[1..])?,
            (_, None) => {
                let href: String = inner.iter().collect::<String>().trim().to_string();
                Inline::Link { content: vec![Inline::Text { text: href.clone(), marks: self.marks }], href }
            }
            (_, Some(bar)) => self.alias_link(inner, bar),
        };
        Some((vec![inline], end + 1))
    }

    fn alias_link(&self, inner: &[char], bar: usize) -> Inline {
        let rest = &inner[bar + 1..];
        let href_end = first_unescaped(rest, '|').unwrap_or(rest.len());
        let href = rest[..href_end].iter().collect::<String>().trim().to_string();
        Inline::Link { href, content: parse(&inner[..bar], self.marks) }
    }

    /// A `{color:..}`, `{panel:..}` or `{anchor:..}` tag at `i`: dropped, a panel's title kept.
    fn dropped_tag(&self, i: usize) -> Option<(Vec<Inline>, usize)> {
        let (tag, end) = tag_at(&self.chars[i..])?;
        if !DROPPED_TAGS.contains(&tag.name.as_str()) {
            return None;
        }
        let title = tag.param("title").filter(|t| !t.trim().is_empty());
        let bold = Marks { bold: true, ..self.marks };
        let content = title.map(|t| vec![Inline::Text { text: t.trim().to_string(), marks: bold }, Inline::HardBreak]);
        Some((content.unwrap_or_default(), i + end))
    }
}

fn mention(id: &[char]) -> Option<Inline> {
    let id: String = id.iter().collect();
    let id = id.trim();
    let id = match id.get(..10) {
        Some(prefix) if prefix.eq_ignore_ascii_case("accountid:") => id[10..].trim(),
        _ => id,
    };
    let bad = |c: char| matches!(c, '[' | '|' | '\\' | '{' | '}') || c.is_control();
    (!id.is_empty() && !id.contains(bad)).then(|| Inline::mention(id))
}

fn first_unescaped(chars: &[char], target: char) -> Option<usize> {
    let mut k = 0;
    while let Some(&c) = chars.get(k) {
        if c == target {
            return Some(k);
        }
        k += if c == '\\' { 2 } else { 1 };
    }
    None
}

/// A `{name}` or `{name:params}` tag.
pub(super) struct Tag {
    pub(super) name: String,
    pub(super) params: String,
}

impl Tag {
    /// The value of `key=value` in the `|`-separated parameters.
    pub(super) fn param(&self, key: &str) -> Option<String> {
        self.params.split('|').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim() == key).then(|| v.to_string())
        })
    }

    /// The first parameter without `=` (e.g. the language of `{code:java}`), or `key=`.
    pub(super) fn main_param(&self, key: &str) -> Option<String> {
        let first = self.params.split('|').next().filter(|p| !p.contains('=') && !p.trim().is_empty());
        first.map(|p| p.trim().to_string()).or_else(|| self.param(key).map(|v| v.trim().to_string()))
    }
}

/// A tag at the start of `chars` and its length in chars. Names are ASCII letters, lower-cased.
pub(super) fn tag_at(chars: &[char]) -> Option<(Tag, usize)> {
    if chars.first() != Some(&'{') {
        return None;
    }
    let close = chars.iter().take_while(|c| **c != '\n').position(|c| *c == '}')?;
    let body: String = chars[1..close].iter().collect();
    let (name, params) = body.split_once(':').unwrap_or((body.as_str(), ""));
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((Tag { name: name.to_ascii_lowercase(), params: params.to_string() }, close + 1))
}
