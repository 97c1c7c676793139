//! The project restriction of a JQL query, read as far as a fake needs:
//! `project = X`, `project in (X, Y)`, with or without quotes, ANDed with
//! anything else. What it cannot read restricts nothing, so that a test
//! never loses issues to a clause the fake does not understand.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Symbol(String),
}

impl Token {
    fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self, Token::Symbol(s) if s == symbol)
    }

    /// A word or a quoted string: a value in a clause.
    fn value(&self) -> Option<&str> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w),
            Token::Symbol(_) => None,
        }
    }
}

const OPERATOR_CHARS: &str = "=!<>~";
const SINGLE_CHARS: &str = "(),";

fn tokens(jql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = jql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut text = String::new();
            while let Some(x) = chars.next() {
                match x {
                    '\\' => text.extend(chars.next()),
                    x if x == c => break,
                    x => text.push(x),
                }
            }
            out.push(Token::Quoted(text));
        } else if SINGLE_CHARS.contains(c) {
            chars.next();
            out.push(Token::Symbol(c.to_string()));
        } else {
            let operator = OPERATOR_CHARS.contains(c);
            let mut text = String::new();
            while let Some(&x) = chars.peek() {
                let stop = x.is_whitespace() || SINGLE_CHARS.contains(x) || x == '"' || x == '\'';
                if stop || OPERATOR_CHARS.contains(x) != operator {
                    break;
                }
                text.push(x);
                chars.next();
            }
            out.push(if operator { Token::Symbol(text) } else { Token::Word(text) });
        }
    }
    out
}

/// The projects `jql` restricts issues to, upper-cased; `None` when it
/// restricts none that this reader understands. Several project clauses
/// (all ANDed) restrict to the projects they share.
pub(super) fn projects(jql: &str) -> Option<Vec<String>> {
    let all = tokens(jql);
    let end = all.windows(2).position(|w| w[0].is_word("order") && w[1].is_word("by")).unwrap_or(all.len());
    let tokens = &all[..end];
    // One OR could let any project in: no restriction can be read then.
    if tokens.iter().any(|t| t.is_word("or")) {
        return None;
    }
    let mut found: Option<Vec<String>> = None;
    for (i, token) in tokens.iter().enumerate() {
        let starts_clause = i == 0 || tokens[i - 1].is_word("and") || tokens[i - 1].is_symbol("(");
        if !(starts_clause && token.is_word("project")) {
            continue;
        }
        if let Some(list) = clause_values(&tokens[i + 1..]) {
            found = Some(match found {
                None => list,
                Some(before) => before.into_iter().filter(|p| list.contains(p)).collect(),
            });
        }
    }
    found
}

/// The values after `project`: `= X` or `in (X, Y)`.
fn clause_values(rest: &[Token]) -> Option<Vec<String>> {
    let upper = |t: &Token| t.value().map(str::to_uppercase);
    match rest {
        [op, value, ..] if op.is_symbol("=") => Some(vec![upper(value)?]),
        [op, open, list @ ..] if op.is_word("in") && open.is_symbol("(") => {
            let close = list.iter().position(|t| t.is_symbol(")"))?;
            let values = list[..close].iter().filter(|t| !t.is_symbol(","));
            values.map(upper).collect()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(jql: &str) -> Option<Vec<String>> {
        projects(jql)
    }

    #[test]
    fn reads_project_clauses_and_nothing_it_does_not_understand() {
        let one = Some(vec!["EMEA".to_string()]);
        assert_eq!(read("project = EMEA"), one);
        assert_eq!(read("Project=\"emea\" AND labels = sync ORDER BY updated ASC"), one);
        assert_eq!(read("(project = EMEA) AND key in (\"EMEA-1\")"), one);
        assert_eq!(read("project in (EMEA, 'APAC')"), Some(vec!["EMEA".into(), "APAC".into()]));
        assert_eq!(read("project in (EMEA, APAC) AND project = APAC"), Some(vec!["APAC".into()]));
        assert_eq!(read("project = EMEA OR project = APAC"), None, "an OR is not read");
        assert_eq!(read("project != EMEA"), None);
        assert_eq!(read("NOT project = EMEA"), None);
        assert_eq!(read("labels = project"), None, "a value named project is no clause");
        assert_eq!(read("updated >= -5m ORDER BY project"), None);
        assert_eq!(read(""), None);
        assert_eq!(read("project in (EMEA"), None, "unclosed list");
    }
}
