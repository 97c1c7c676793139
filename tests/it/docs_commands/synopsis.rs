//! Command synopses of a doc's tables (`jirafed demo [--once] [--state-dir
//! DIR]`), expanded into the concrete command lines they stand for.

/// Values for the placeholders synopses use. A synopsis with another one
/// fails the test, naming it, until it is added here.
const PLACEHOLDERS: [(&str, &str); 14] = [
    ("FILE", "jirafed.toml"),
    ("ID", "7"),
    ("DIR", "state"),
    ("N", "0"),
    ("PATH", "state/jirafed.redb"),
    ("FLOW", "emea-delivery"),
    ("SECONDARY_KEY", "EMEA-1"),
    ("PRIMARY_KEY", "PORT-1"),
    ("KEY", "EMEA-1"),
    ("EXTRA", "created >= -30d"),
    ("FIELD", "summary"),
    ("INSTANCE", "hub"),
    ("NAME", "emea-delivery"),
    ("DURATION", "1h"),
];

/// A synopsis found in a table row.
pub struct Synopsis {
    /// Line number (1-based) of its row.
    pub line: usize,
    /// As written, with markdown's `\|` read as `|`.
    pub text: String,
}

/// The backticked spans starting with `program` in the first column of
/// every table row of `doc`.
pub fn in_tables(doc: &str, program: &str) -> Vec<Synopsis> {
    let mut out = Vec::new();
    for (i, line) in doc.lines().enumerate() {
        let Some(row) = line.trim().strip_prefix('|') else { continue };
        let first = first_cell(row);
        for span in first.split('`').skip(1).step_by(2) {
            let text = span.replace("\\|", "|");
            if text == program || text.starts_with(&format!("{program} ")) {
                out.push(Synopsis { line: i + 1, text });
            }
        }
    }
    out
}

/// A row's first cell: up to the first `|` that markdown does not escape.
fn first_cell(row: &str) -> &str {
    let mut escaped = false;
    for (i, c) in row.char_indices() {
        match c {
            '|' if !escaped => return &row[..i],
            _ => escaped = c == '\\' && !escaped,
        }
    }
    row
}

enum Item {
    Word(String),
    Optional(Vec<Item>),
    Bar,
}

/// Every command line a synopsis stands for, as argument vectors.
/// `[x]` is x or nothing; `a|b` splits from the word holding the first `|`
/// to the end of the synopsis (or of its `[...]`), so `list|retry ID|drop
/// ID` is three alternatives and `--log-format human|json` two; upper-case
/// words are placeholders given the values of [`PLACEHOLDERS`].
pub fn expand(synopsis: &str) -> Result<Vec<Vec<String>>, String> {
    let spaced = synopsis.replace('[', " [ ").replace(']', " ] ").replace('|', " | ");
    let mut tokens = spaced.split_whitespace();
    let items = parse(&mut tokens, false)?;
    alternatives(&items).into_iter().map(|line| line.into_iter().map(|w| fill(&w)).collect()).collect()
}

fn parse<'a>(tokens: &mut impl Iterator<Item = &'a str>, nested: bool) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    while let Some(t) = tokens.next() {
        match t {
            "[" => items.push(Item::Optional(parse(tokens, true)?)),
            "]" if nested => return Ok(items),
            "]" => return Err("a `]` without its `[`".into()),
            "|" => items.push(Item::Bar),
            w => items.push(Item::Word(w.to_string())),
        }
    }
    if nested { Err("a `[` without its `]`".into()) } else { Ok(items) }
}

/// The lines of a sequence that may hold `|`.
fn alternatives(items: &[Item]) -> Vec<Vec<String>> {
    let Some(bar) = items.iter().position(|i| matches!(i, Item::Bar)) else { return sequence(items) };
    let start = bar.saturating_sub(1);
    let tails: Vec<Vec<String>> = items[start..].split(|i| matches!(i, Item::Bar)).flat_map(sequence).collect();
    let mut out = Vec::new();
    for head in sequence(&items[..start]) {
        for tail in &tails {
            out.push(head.iter().chain(tail).cloned().collect());
        }
    }
    out
}

/// The lines of a sequence without `|`: every choice of its optional parts.
fn sequence(items: &[Item]) -> Vec<Vec<String>> {
    let mut lines = vec![Vec::new()];
    for item in items {
        let choices = match item {
            Item::Word(w) => vec![vec![w.clone()]],
            Item::Optional(inner) => std::iter::once(Vec::new()).chain(alternatives(inner)).collect(),
            Item::Bar => unreachable!("split off by alternatives"),
        };
        lines = lines.iter().flat_map(|l| choices.iter().map(move |c| l.iter().chain(c).cloned().collect())).collect();
    }
    lines
}

fn fill(word: &str) -> Result<String, String> {
    let placeholder = word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && word.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
    if !placeholder {
        return Ok(word.to_string());
    }
    let known = PLACEHOLDERS.iter().find(|(p, _)| *p == word).map(|(_, v)| v.to_string());
    known.ok_or_else(|| {
        let names: Vec<&str> = PLACEHOLDERS.iter().map(|(p, _)| *p).collect();
        format!("placeholder {word} has no value here (known: {})", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        expand(s).unwrap_or_else(|e| panic!("{s}: {e}")).into_iter().map(|l| l.join(" ")).collect()
    }

    #[test]
    fn optional_parts_alternatives_and_placeholders_expand() {
        assert_eq!(
            lines("jirafed demo [--once] [--state-dir DIR]"),
            [
                "jirafed demo",
                "jirafed demo --state-dir state",
                "jirafed demo --once",
                "jirafed demo --once --state-dir state",
            ]
        );
        assert_eq!(
            lines("jirafed dead-letters list|retry ID|retry --all|drop ID"),
            [
                "jirafed dead-letters list",
                "jirafed dead-letters retry 7",
                "jirafed dead-letters retry --all",
                "jirafed dead-letters drop 7",
            ]
        );
        assert_eq!(
            lines("jirafed x [--log-format human|json]"),
            ["jirafed x", "jirafed x --log-format human", "jirafed x --log-format json"]
        );
        assert!(expand("jirafed x WHAT").is_err_and(|e| e.contains("WHAT")));
        assert!(expand("jirafed x [--y").is_err());
    }

    #[test]
    fn table_rows_give_their_first_cells_spans() {
        let doc = "| command | what |\n| --- | --- |\n| `jirafed a\\|b` or `jirafed c` | `jirafed d` |\n`jirafed e`\n";
        let got: Vec<_> = in_tables(doc, "jirafed").into_iter().map(|s| (s.line, s.text)).collect();
        assert_eq!(got, [(3, "jirafed a|b".to_string()), (3, "jirafed c".to_string())]);
    }
}
