//! Turns JQL text into tokens, reporting lexical errors with Jira's wording.
//!
//! Like Jira's lexer, the whole input is tokenized before parsing starts, so a
//! lexical error anywhere (unfinished string, reserved character, bad escape)
//! is reported ahead of any grammar error.

use super::ast::{JqlError, Pos};

/// Characters Jira reserves: they end an unquoted string and are an error
/// outside quotes (`[`/`]` belong to Jira's `cf[123]` syntax, unsupported here).
const RESERVED_CHARS: &[char] = &['{', '}', '[', ']', '*', '/', '%', '+', '^', '$', '#', '@', '?', ';'];

const VALID_ESCAPES: &str = r#"The valid escape sequences are \', \", \t, \n, \r, \\, '\ ' and \uXXXX."#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    LParen,
    RParen,
    Comma,
    Eq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    NotLike,
    /// `!` on its own: NOT.
    Bang,
    /// `&` or `&&`: AND.
    Amp,
    /// `|` or `||`: OR.
    Pipe,
    /// An unquoted string (escapes already applied).
    Word(String),
    /// A single- or double-quoted string (quotes removed, escapes applied).
    Quoted(String),
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    /// The text Jira would quote for this token in an error message.
    pub text: String,
    pub pos: Pos,
}

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, JqlError> {
    let mut lexer = Lexer { chars: input.chars().collect(), i: 0, line: 1, col: 1 };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_whitespace();
        let pos = lexer.pos();
        let Some(c) = lexer.peek(0) else {
            tokens.push(Token { tok: Tok::Eof, text: String::new(), pos });
            return Ok(tokens);
        };
        let (tok, text) = match c {
            '"' | '\'' => {
                let value = lexer.quoted(c)?;
                (Tok::Quoted(value.clone()), value)
            }
            '(' | ')' | ',' | '=' | '~' | '!' | '<' | '>' | '&' | '|' => lexer.punct(c),
            c if RESERVED_CHARS.contains(&c) => return Err(reserved_char(c, pos)),
            c if c.is_control() => return Err(illegal_char(c, pos)),
            _ => {
                let (value, raw) = lexer.word()?;
                (Tok::Word(value), raw)
            }
        };
        tokens.push(Token { tok, text, pos });
    }
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Operators and punctuation; `c` is the current character.
    fn punct(&mut self, c: char) -> (Tok, String) {
        self.bump();
        let next = self.peek(0);
        let (tok, text) = match (c, next) {
            ('!', Some('=')) => (Tok::NotEq, "!="),
            ('!', Some('~')) => (Tok::NotLike, "!~"),
            ('<', Some('=')) => (Tok::Le, "<="),
            ('>', Some('=')) => (Tok::Ge, ">="),
            ('&', Some('&')) => (Tok::Amp, "&&"),
            ('|', Some('|')) => (Tok::Pipe, "||"),
            ('(', _) => return (Tok::LParen, "(".into()),
            (')', _) => return (Tok::RParen, ")".into()),
            (',', _) => return (Tok::Comma, ",".into()),
            ('=', _) => return (Tok::Eq, "=".into()),
            ('~', _) => return (Tok::Like, "~".into()),
            ('!', _) => return (Tok::Bang, "!".into()),
            ('<', _) => return (Tok::Lt, "<".into()),
            ('>', _) => return (Tok::Gt, ">".into()),
            ('&', _) => return (Tok::Amp, "&".into()),
            _ => return (Tok::Pipe, "|".into()),
        };
        self.bump();
        (tok, text.into())
    }

    /// An unquoted string; returns (value with escapes applied, raw text).
    fn word(&mut self) -> Result<(String, String), JqlError> {
        let mut value = String::new();
        let mut raw = String::new();
        while let Some(c) = self.peek(0) {
            if ends_word(c) {
                break;
            }
            if c == '\\' {
                let start = self.i;
                value.push(self.escape()?);
                raw.extend(&self.chars[start..self.i]);
            } else {
                self.bump();
                value.push(c);
                raw.push(c);
            }
        }
        Ok((value, raw))
    }

    /// A quoted string opened by `quote` at the current position.
    fn quoted(&mut self, quote: char) -> Result<String, JqlError> {
        let start_pos = self.pos();
        self.bump();
        let body_start = self.i;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                let body: String = self.chars[body_start..].iter().collect();
                return Err(unfinished_string(&body, start_pos));
            };
            if c == quote {
                self.bump();
                return Ok(value);
            }
            if c == '\\' {
                value.push(self.escape()?);
            } else if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                return Err(illegal_char(c, self.pos()));
            } else {
                self.bump();
                value.push(c);
            }
        }
    }

    /// A backslash escape at the current position.
    fn escape(&mut self) -> Result<char, JqlError> {
        let pos = self.pos();
        self.bump();
        let Some(c) = self.bump() else {
            let msg = format!("The escape sequence has not been completed. {VALID_ESCAPES}");
            return Err(JqlError::syntax(msg, Some(pos)));
        };
        let unescaped = match c {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            '\\' | '"' | '\'' | ' ' => c,
            'u' => {
                let mut seen = String::from("\\u");
                let mut code = 0u32;
                for _ in 0..4 {
                    let Some(h) = self.peek(0) else {
                        return Err(illegal_escape(&seen, pos));
                    };
                    seen.push(h);
                    let Some(digit) = h.to_digit(16) else {
                        return Err(illegal_escape(&seen, pos));
                    };
                    self.bump();
                    code = code * 16 + digit;
                }
                return char::from_u32(code).ok_or_else(|| illegal_escape(&seen, pos));
            }
            other => return Err(illegal_escape(&format!("\\{other}"), pos)),
        };
        Ok(unescaped)
    }
}

/// Whether `c` ends an unquoted string.
fn ends_word(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || RESERVED_CHARS.contains(&c)
        || matches!(c, '"' | '\'' | '(' | ')' | ',' | '=' | '!' | '<' | '>' | '~' | '&' | '|')
}

/// Jira shows line breaks and tabs inside a quoted string as spaces.
fn normalize(s: &str) -> String {
    s.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect()
}

fn unfinished_string(body: &str, pos: Pos) -> JqlError {
    let msg = if body.is_empty() {
        "The quoted string has not been completed.".to_string()
    } else {
        format!("The quoted string '{}' has not been completed.", normalize(body))
    };
    JqlError::syntax(msg, Some(pos))
}

fn illegal_escape(seen: &str, pos: Pos) -> JqlError {
    let msg = format!("'{}' is an illegal JQL escape sequence. {VALID_ESCAPES}", normalize(seen));
    JqlError::syntax(msg, Some(pos))
}

fn reserved_char(c: char, pos: Pos) -> JqlError {
    let msg = format!(
        "The character '{c}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u{:04x}' instead.",
        u32::from(c)
    );
    JqlError::syntax(msg, Some(pos))
}

fn illegal_char(c: char, pos: Pos) -> JqlError {
    let code = u32::from(c);
    let msg = format!(
        "The character 'U+{code:04X}' on line {} at position {} must be escaped. Use the escape '\\u{code:04x}' instead.",
        pos.line, pos.col
    );
    JqlError::syntax(msg, Some(pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(input: &str) -> Vec<Tok> {
        match tokenize(input) {
            Ok(tokens) => tokens.into_iter().map(|t| t.tok).collect(),
            Err(e) => panic!("unexpected error for {input:?}: {e}"),
        }
    }

    fn err(input: &str) -> String {
        match tokenize(input) {
            Ok(tokens) => panic!("expected an error for {input:?}, got {tokens:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn operators_and_words() {
        use Tok::*;
        assert_eq!(
            toks("a!=b<=c>=d<e>f~g!~h!i&&j||k&l|m"),
            vec![
                Word("a".into()),
                NotEq,
                Word("b".into()),
                Le,
                Word("c".into()),
                Ge,
                Word("d".into()),
                Lt,
                Word("e".into()),
                Gt,
                Word("f".into()),
                Like,
                Word("g".into()),
                NotLike,
                Word("h".into()),
                Bang,
                Word("i".into()),
                Amp,
                Word("j".into()),
                Pipe,
                Word("k".into()),
                Amp,
                Word("l".into()),
                Pipe,
                Word("m".into()),
                Eof
            ]
        );
    }

    #[test]
    fn quoted_strings_and_escapes() {
        assert_eq!(
            toks(r#"'it\'s' "a \"b\" \\ \t\u00e9" x\ y"#),
            vec![
                Tok::Quoted("it's".into()),
                Tok::Quoted("a \"b\" \\ \t\u{e9}".into()),
                Tok::Word("x y".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks("\"multi\nline\""), vec![Tok::Quoted("multi\nline".into()), Tok::Eof]);
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let Ok(tokens) = tokenize("a =\n  ébc") else { panic!("lex failed") };
        let positions: Vec<(usize, usize)> = tokens.iter().map(|t| (t.pos.line, t.pos.col)).collect();
        assert_eq!(positions, vec![(1, 1), (1, 3), (2, 3), (2, 6)]);
    }

    #[test]
    fn lexical_errors() {
        assert_eq!(
            err("comment ~ 'test\n"),
            "Error in the JQL Query: The quoted string 'test ' has not been completed. (line 1, character 11)"
        );
        assert_eq!(
            err("a = '"),
            "Error in the JQL Query: The quoted string has not been completed. (line 1, character 5)"
        );
        assert_eq!(
            err("comme\\unt ~ 'test"),
            "Error in the JQL Query: '\\un' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, character 6)"
        );
        assert_eq!(
            err("a = b\\"),
            "Error in the JQL Query: The escape sequence has not been completed. The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, character 6)"
        );
        assert_eq!(
            err("mine{www = qwwr"),
            "Error in the JQL Query: The character '{' is a reserved JQL character. You must enclose it in a string or use the escape '\\u007b' instead. (line 1, character 5)"
        );
        assert_eq!(
            err("mqwwr=\"\u{7f} this is broken\""),
            "Error in the JQL Query: The character 'U+007F' on line 1 at position 8 must be escaped. Use the escape '\\u007f' instead. (line 1, character 8)"
        );
        assert_eq!(
            err("a = \"\\ud800\""),
            "Error in the JQL Query: '\\ud800' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, character 6)"
        );
    }
}
