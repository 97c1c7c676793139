//! Escaping text for wiki markup, so that it reads back (and renders in Jira) as the same text.
//!
//! - `{ } [ ] |` are always escaped with a backslash;
//! - `* _ - + ^ ~` are escaped unless they sit between two letters or digits (`foo-bar` stays);
//! - `!` is escaped unless a space follows (no `!image!`), a `?` after a `?` is escaped (no `??cite??`);
//! - `#` is escaped at the start of a line (no list), the `.` of `h1.`..`h6.` and `bq.` at the start of
//!   a line is written `&#46;` (no heading or quote);
//! - a backslash is written `&#92;` when punctuation or the end of the text follows it (where it would
//!   escape something or form a `\\` break), and `&` is written `&#38;` when `#` or the end follows.

/// Where the escaped text starts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum LineState {
    /// At the start of a line: block markup could start here.
    Empty,
    /// After list-marker characters only (`*`, `#`): a `#` could still make a list.
    Markers,
    /// After other content.
    Other,
}

#[derive(Clone, Copy)]
pub(super) struct Ctx {
    /// The output character before the text.
    pub(super) prev: Option<char>,
    pub(super) line: LineState,
}

impl Ctx {
    /// The context at the end of `out` (looking back only over trailing `*`/`#`).
    pub(super) fn of(out: &str) -> Ctx {
        let mut line = LineState::Empty;
        for c in out.chars().rev() {
            match c {
                '\n' => break,
                '*' | '#' => line = LineState::Markers,
                _ => {
                    line = LineState::Other;
                    break;
                }
            }
        }
        Ctx { prev: out.chars().next_back(), line }
    }
}

/// Appends `text` to `out`, escaped, reading the context from `out`.
pub(super) fn escape_into(out: &mut String, text: &str) {
    let ctx = Ctx::of(out);
    escape_with(out, text, ctx);
}

/// Appends `text` to `out`, escaped for the context `ctx`.
pub(super) fn escape_with(out: &mut String, text: &str, ctx: Ctx) {
    let chars: Vec<char> = text.chars().collect();
    let dot_at = (ctx.line == LineState::Empty && starts_like_block(&chars)).then_some(2);
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i == 0 { ctx.prev } else { Some(chars[i - 1]) };
        let next = chars.get(i + 1).copied();
        if dot_at == Some(i) {
            out.push_str("&#46;");
        } else if c == '#' && i == 0 && ctx.line != LineState::Other {
            out.push_str("\\#");
        } else {
            escape_char(out, c, prev, next);
        }
    }
}

/// Whether the text starts with `h1.`..`h6.` or `bq.`.
fn starts_like_block(chars: &[char]) -> bool {
    match chars {
        [h, d, '.', ..] if h.eq_ignore_ascii_case(&'h') && ('1'..='6').contains(d) => true,
        [b, q, '.', ..] => b.eq_ignore_ascii_case(&'b') && q.eq_ignore_ascii_case(&'q'),
        _ => false,
    }
}

fn escape_char(out: &mut String, c: char, prev: Option<char>, next: Option<char>) {
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    match c {
        '\\' if next.is_none_or(|n| n.is_ascii_punctuation()) => out.push_str("&#92;"),
        '&' if next.is_none_or(|n| n == '#') => out.push_str("&#38;"),
        '{' | '}' | '[' | ']' | '|' => push_escaped(out, c),
        '*' | '_' | '-' | '+' | '^' | '~' if !(alnum(prev) && alnum(next)) => push_escaped(out, c),
        '!' if !next.is_some_and(char::is_whitespace) => push_escaped(out, c),
        '?' if prev == Some('?') => push_escaped(out, c),
        '\n' => out.push_str("\\\\"),
        '\r' => {}
        _ => out.push(c),
    }
}

fn push_escaped(out: &mut String, c: char) {
    out.push('\\');
    out.push(c);
}

/// The first character `text` is written as when it follows a delimiter mid-line.
pub(super) fn first_escaped_char(text: &str) -> Option<char> {
    let mut tmp = String::new();
    escape_with(&mut tmp, text, Ctx { prev: Some('*'), line: LineState::Other });
    tmp.chars().next()
}

/// Percent-encodes the characters a wiki link address cannot hold (`[ ] | \ { }`, spaces, `\n`).
pub(super) fn encode_href(href: &str) -> String {
    let mut out = String::new();
    for c in href.chars() {
        if matches!(c, '[' | ']' | '|' | '\\' | '{' | '}') || c.is_whitespace() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}
