//! A TOML syntax error as an operator can act on it: the line, the column,
//! the key path being written there and, unless the line may hold a
//! secret, the text found. The toml crate's own rendering quotes the whole
//! line, which would print an inline secret, so it is not used.

use std::collections::BTreeMap;
use std::fmt;

/// Words whose presence on a line means its text is never quoted.
const SECRET_WORDS: &[&str] = &["token", "bearer", "password", "secret"];

/// Longest text quoted as "found".
const MAX_FOUND: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line and column (in characters), when TOML gives a position.
    pub position: Option<(usize, usize)>,
    /// The key path at that position, e.g. `flows[1].fields[0].direction`.
    pub path: Option<String>,
    /// What TOML expected, and what it found when that is safe to show.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        write!(f, "not valid TOML: {}", self.message)
    }
}

/// Describes `e`, an error from parsing `text`.
pub fn describe(text: &str, e: &toml::de::Error) -> SyntaxError {
    let message = e.message().trim_end().to_string();
    let Some(span) = e.span() else { return SyntaxError { position: None, path: None, message } };
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_idx = text[..line_start].matches('\n').count();
    let column = text[line_start..start].chars().count() + 1;
    let line_text = text[line_start..].split('\n').next().unwrap_or_default();
    let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
    let found = text[start..end].trim();
    let secret = SECRET_WORDS.iter().any(|w| line_text.to_ascii_lowercase().contains(w));
    let message = if !secret && !found.is_empty() && !found.contains('\n') && found.chars().count() <= MAX_FOUND {
        format!("{message}; found {found:?}")
    } else {
        message
    };
    SyntaxError { position: Some((line_idx + 1, column)), path: key_path(text, line_idx), message }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The key path written at line `target` (0-based), told from the table
/// headers above it and the key on the line (or the key whose array or
/// inline table the line continues). `None` when the line is inside a
/// multi-line string or names no key in no table.
fn key_path(text: &str, target: usize) -> Option<String> {
    let mut table = String::new();
    // Arrays of tables seen so far (resolved path -> last index), so that
    // `[[flows.fields]]` under the second `[[flows]]` is `flows[1].fields[i]`.
    let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
    let mut in_string = false;
    // The key whose value is still open (an array or inline table that
    // spans lines, or is never closed), and how deep.
    let mut open: Option<(String, i32)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        let started_in_string = in_string;
        if ["\"\"\"", "\'\'\'"].iter().map(|d| line.matches(d).count()).sum::<usize>() % 2 == 1 {
            in_string = !in_string;
        }
        if started_in_string {
            if i == target {
                return None;
            }
            continue;
        }
        if let Some((key, depth)) = open.take() {
            if i == target {
                return Some(key);
            }
            let depth = depth + nesting(line);
            open = (depth > 0).then_some((key, depth));
            continue;
        }
        let header = header(line).map(|(segments, array)| {
            let (last, parents) = segments.split_last().unwrap_or((&"", &[]));
            let name = join(&resolve(parents, &arrays), last);
            if array {
                let next = arrays.get(&name).map_or(0, |n| n + 1);
                (name, Some(next))
            } else {
                (resolve(&segments, &arrays), None)
            }
        });
        let key = match &header {
            None => line_key(line).map(|k| join(&table, &k)),
            Some(_) => None,
        };
        if i == target {
            return match header {
                Some((name, Some(n))) => Some(format!("{name}[{n}]")),
                Some((name, None)) => Some(name),
                None => key.or_else(|| (!table.is_empty()).then_some(table)),
            };
        }
        match header {
            Some((name, Some(n))) => {
                arrays.insert(name.clone(), n);
                table = format!("{name}[{n}]");
            }
            Some((name, None)) => table = name,
            None => {
                let depth = line.split_once('=').map_or(0, |(_, value)| nesting(value));
                open = key.filter(|_| depth > 0).map(|k| (k, depth));
            }
        }
    }
    None
}

/// How many `[` and `{` a piece of a line opens and leaves open, outside
/// strings and comments.
fn nesting(piece: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in piece.chars() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => break,
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() { key.to_string() } else { format!("{base}.{key}") }
}

/// Dotted segments with the index of each array of tables they pass.
fn resolve(segments: &[&str], arrays: &BTreeMap<String, usize>) -> String {
    let mut path = String::new();
    for seg in segments {
        path = join(&path, seg);
        if let Some(n) = arrays.get(&path) {
            path = format!("{path}[{n}]");
        }
    }
    path
}

/// `[a.b]` or `[[a.b]]` (closed or not): its segments and whether it is an
/// array of tables.
fn header(line: &str) -> Option<(Vec<&str>, bool)> {
    let (rest, array) = match line.strip_prefix("[[") {
        Some(r) => (r, true),
        None => (line.strip_prefix('[')?, false),
    };
    let name = rest.split(['#', ']']).next().unwrap_or_default();
    let segments: Vec<&str> = name.split('.').map(|s| s.trim().trim_matches(['"', '\''])).collect();
    segments.iter().all(|s| !s.is_empty()).then_some((segments, array))
}

/// The (possibly dotted) key of a `key = value` line.
fn line_key(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '"' | '\'');
    if key.is_empty() || !key.chars().all(bare) {
        return None;
    }
    let segments: Vec<&str> = key.split('.').map(|s| s.trim().trim_matches(['"', '\''])).collect();
    Some(segments.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> SyntaxError {
        let e = toml::from_str::<toml::Table>(text).expect_err("invalid");
        describe(text, &e)
    }

    #[test]
    fn names_line_column_and_key_path() {
        let text = "[a]\nx = 1\n[[flows]]\nn = 1\n[[flows]]\n  [[flows.fields]]\n  direction = sideways\n";
        let e = err(text);
        assert_eq!(e.position, Some((7, 15)));
        assert_eq!(e.path.as_deref(), Some("flows[1].fields[0].direction"));
        assert!(e.message.contains("\"sideways\""), "{e}");
        let e = err("[instances.hub]\nurl = \"x\"\n[instances.apac\n");
        assert_eq!(e.position.map(|p| p.0), Some(3));
        assert_eq!(e.path.as_deref(), Some("instances.apac"));
    }

    #[test]
    fn never_quotes_a_line_that_may_hold_a_secret() {
        let e = err("[instances.hub]\nauth = { token = \"hunter2 }\n");
        assert_eq!(e.path.as_deref(), Some("instances.hub.auth"));
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = err("[instances.hub]\ntoken = hunter2\n");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn a_line_continuing_an_open_value_belongs_to_its_key() {
        let e = err("[a]\nb = [1,\n  2,,\n]\n");
        assert_eq!(e.path.as_deref(), Some("a.b"));
        let e = err("[a]\nauth = { token = \"x }\n[b]\nc = 1\n");
        assert_eq!(e.path.as_deref(), Some("a.auth"));
        let e = err("[a]\nb = [\"]\", \"{\"]\nc = = 1\n");
        assert_eq!(e.path.as_deref(), Some("a.c"));
    }

    #[test]
    fn headers_inside_multi_line_strings_are_not_tables() {
        let e = err("[f]\nscope = \"\"\"\n[not.a.table]\n\"\"\"\nx = = 1\n");
        assert_eq!(e.path.as_deref(), Some("f.x"));
    }
}
