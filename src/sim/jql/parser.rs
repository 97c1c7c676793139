//! Recursive-descent parser for the JQL grammar.
//!
//! ```text
//! query    := [or] [ORDER BY sort {"," sort}] EOF
//! or       := and {(OR | "|" | "||") and}
//! and      := not {(AND | "&" | "&&") not}
//! not      := (NOT | "!") not | "(" or ")" | terminal
//! terminal := field operator operand
//! operator := = | != | < | > | <= | >= | ~ | !~ | IN | NOT IN | IS | IS NOT
//! operand  := EMPTY | NULL | string | function | "(" operand {"," operand} ")"
//! function := string "(" [string {"," string}] ")"
//! sort     := field [ASC | DESC]
//! ```
//!
//! Parsing yields a raw tree of names and strings; [`super::validate`] then
//! checks fields, operators and values and builds the public [`Query`].

use super::ast::{JqlError, Query};
use super::lexer::{Tok, Token, tokenize};

/// Nesting deeper than this (parentheses, NOT, nested lists) is refused, so
/// that hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 100;

const VALID_OPERATORS: &str =
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.";

/// Words Jira reserves for possible future use: they must be quoted to be
/// used as a field name, value or function name (from Jira's
/// `JqlStringSupportImpl`, without the words JQL itself uses).
const RESERVED_WORDS: &str = "\
abort access add alias all alter any as audit avg begin between boolean break byte \
catch char character check checkpoint collate collation column commit connect \
continue count create current date decimal declare decrement default defaults define \
delete delimiter difference distinct divide do double drop else encoding end equals \
escape exclusive exec execute exists explain false fetch file field first float for \
function go goto grant greater group having identified if immediate increment index \
initial inner inout input insert int integer intersect intersection into isempty \
isnull join last left less like limit lock long max min minus mode modify modulo \
more multiply next noaudit notin nowait number object of option outer output power \
previous prior privileges public raise raw remainder rename resource return returns \
revoke right row rowid rownum rows select session set share size sqrt start strict \
string subtract sum synonym table then trans transaction trigger true uid union \
unique update user validate values view when whenever where while with";

/// The clause tree as written, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RawClause {
    And(Vec<RawClause>),
    Or(Vec<RawClause>),
    Not(Box<RawClause>),
    Term(RawTerm),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawTerm {
    /// The field name as written (messages quote it this way).
    pub field: String,
    pub op: RawOp,
    pub operand: RawOperand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawOp {
    Eq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    NotLike,
    In,
    NotIn,
    Is,
    IsNot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RawOperand {
    Empty,
    Str { value: String, quoted: bool },
    Func { name: String, args: Vec<String> },
    List(Vec<RawOperand>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawSort {
    pub field: String,
    /// `Some(true)` for DESC, `Some(false)` for ASC, `None` when not written.
    pub descending: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawQuery {
    pub clause: Option<RawClause>,
    pub order_by: Vec<RawSort>,
}

/// Parses and validates a JQL query.
///
/// Syntax errors come back prefixed with `Error in the JQL Query:` and, where
/// Jira gives one, a `(line L, character C)` position; validation errors
/// (unknown field, unsupported operator, bad date, ...) are worded like Jira's
/// without a prefix. Only the first error is reported.
pub fn parse(input: &str) -> Result<Query, JqlError> {
    let tokens = tokenize(input)?;
    let raw = Parser { tokens, i: 0, depth: 0 }.query()?;
    super::validate::validate(raw)
}

/// Grammar words, recognised only when unquoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    And,
    Or,
    Not,
    In,
    Is,
    Empty,
    Order,
    By,
    Asc,
    Desc,
}

fn keyword(tok: &Tok) -> Option<Kw> {
    let Tok::Word(w) = tok else {
        return match tok {
            Tok::Amp => Some(Kw::And),
            Tok::Pipe => Some(Kw::Or),
            Tok::Bang => Some(Kw::Not),
            _ => None,
        };
    };
    let kw = match w.to_ascii_lowercase().as_str() {
        "and" => Kw::And,
        "or" => Kw::Or,
        "not" => Kw::Not,
        "in" => Kw::In,
        "is" => Kw::Is,
        "empty" | "null" => Kw::Empty,
        "order" => Kw::Order,
        "by" => Kw::By,
        "asc" => Kw::Asc,
        "desc" => Kw::Desc,
        _ => return None,
    };
    Some(kw)
}

fn is_reserved_word(tok: &Tok) -> bool {
    matches!(tok, Tok::Word(w) if RESERVED_WORDS.split_ascii_whitespace().any(|r| w.eq_ignore_ascii_case(r)))
}

fn reserved_word_error(t: &Token) -> JqlError {
    let msg =
        format!("'{}' is a reserved JQL word. You must surround it in quotation marks to use it in a query.", t.text);
    JqlError::syntax(msg, Some(t.pos))
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        // The lexer always ends the stream with Eof; never read past it.
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.i + ahead).min(last)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn at_eof(&self) -> bool {
        self.peek().tok == Tok::Eof
    }

    fn peek_kw(&self) -> Option<Kw> {
        keyword(&self.peek().tok)
    }

    fn enter(&mut self) -> Result<(), JqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let msg = format!("The query is nested more than {MAX_DEPTH} levels deep.");
            return Err(JqlError::syntax(msg, Some(self.peek().pos)));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// "Expecting X but got 'Y'. (pos)" or "Expecting X before the end of the query."
    fn expecting(&self, what: &str) -> JqlError {
        let t = self.peek();
        if t.tok == Tok::Eof {
            JqlError::syntax(format!("Expecting {what} before the end of the query."), None)
        } else {
            JqlError::syntax(format!("Expecting {what} but got '{}'.", t.text), Some(t.pos))
        }
    }

    fn query(mut self) -> Result<RawQuery, JqlError> {
        let clause = if self.at_eof() || self.peek_kw() == Some(Kw::Order) { None } else { Some(self.or()?) };
        let order_by = if self.peek_kw() == Some(Kw::Order) { self.order_by()? } else { Vec::new() };
        if !self.at_eof() {
            return Err(self.expecting("either 'OR' or 'AND'"));
        }
        Ok(RawQuery { clause, order_by })
    }

    fn or(&mut self) -> Result<RawClause, JqlError> {
        let mut parts = vec![self.and()?];
        while self.peek_kw() == Some(Kw::Or) {
            self.advance();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.swap_remove(0) } else { RawClause::Or(parts) })
    }

    fn and(&mut self) -> Result<RawClause, JqlError> {
        let mut parts = vec![self.not()?];
        while self.peek_kw() == Some(Kw::And) {
            self.advance();
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 { parts.swap_remove(0) } else { RawClause::And(parts) })
    }

    fn not(&mut self) -> Result<RawClause, JqlError> {
        if self.peek_kw() == Some(Kw::Not) {
            self.advance();
            self.enter()?;
            let inner = self.not()?;
            self.leave();
            return Ok(RawClause::Not(Box::new(inner)));
        }
        if self.peek().tok == Tok::LParen {
            self.advance();
            self.enter()?;
            let inner = self.or()?;
            self.leave();
            if self.peek().tok != Tok::RParen {
                return Err(self.expecting("')'"));
            }
            self.advance();
            return Ok(inner);
        }
        self.terminal()
    }

    fn terminal(&mut self) -> Result<RawClause, JqlError> {
        let field = self.field_name()?;
        let op = self.operator(&field)?;
        let operand = self.operand()?;
        Ok(RawClause::Term(RawTerm { field, op, operand }))
    }

    /// A field name, in a clause or in ORDER BY.
    fn field_name(&mut self) -> Result<String, JqlError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Eof => Err(JqlError::syntax("Expecting a field name at the end of the query.", None)),
            Tok::Quoted(s) if s.is_empty() => Err(JqlError::syntax("A field name cannot be empty.", Some(t.pos))),
            Tok::Quoted(s) => {
                self.advance();
                Ok(s.clone())
            }
            tok @ Tok::Word(w) if keyword(tok).is_none() => {
                if is_reserved_word(tok) {
                    return Err(reserved_word_error(&t));
                }
                self.advance();
                Ok(w.clone())
            }
            _ => Err(JqlError::syntax(
                format!(
                    "Expecting a field name but got '{0}'. You must surround '{0}' in quotation marks to use it as a field name.",
                    t.text
                ),
                Some(t.pos),
            )),
        }
    }

    fn operator(&mut self, field: &str) -> Result<RawOp, JqlError> {
        let t = self.peek().clone();
        let op = match &t.tok {
            Tok::Eq => RawOp::Eq,
            Tok::NotEq => RawOp::NotEq,
            Tok::Lt => RawOp::Lt,
            Tok::Gt => RawOp::Gt,
            Tok::Le => RawOp::Le,
            Tok::Ge => RawOp::Ge,
            Tok::Like => RawOp::Like,
            Tok::NotLike => RawOp::NotLike,
            Tok::Eof => {
                let msg = format!("Expecting operator before the end of the query. {VALID_OPERATORS}");
                return Err(JqlError::syntax(msg, None));
            }
            tok => match keyword(tok) {
                Some(Kw::In) => RawOp::In,
                Some(Kw::Not) if matches!(tok, Tok::Word(_)) => {
                    self.advance();
                    if self.peek_kw() != Some(Kw::In) {
                        return Err(self.expecting("'IN'"));
                    }
                    RawOp::NotIn
                }
                Some(Kw::Is) => {
                    self.advance();
                    if self.peek_kw() == Some(Kw::Not) {
                        if self.peek().tok == Tok::Bang {
                            return Err(self.expecting("'NOT'"));
                        }
                        self.advance();
                        return Ok(RawOp::IsNot);
                    }
                    return Ok(RawOp::Is);
                }
                _ => {
                    if let Tok::Word(w) = tok {
                        let lower = w.to_ascii_lowercase();
                        if lower == "was" || lower == "changed" {
                            // History searches are outside what the simulator models.
                            return Err(JqlError::new(format!(
                                "The operator '{lower}' is not supported by the '{field}' field."
                            )));
                        }
                    }
                    let msg = format!("Expecting operator but got '{}'. {VALID_OPERATORS}", t.text);
                    return Err(JqlError::syntax(msg, Some(t.pos)));
                }
            },
        };
        self.advance();
        Ok(op)
    }

    fn operand(&mut self) -> Result<RawOperand, JqlError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Eof => {
                Err(JqlError::syntax("Expecting either a value, list or function before the end of the query.", None))
            }
            Tok::LParen => {
                self.advance();
                self.enter()?;
                let list = self.list_rest()?;
                self.leave();
                Ok(list)
            }
            Tok::Quoted(s) | Tok::Word(s) => {
                let quoted = matches!(t.tok, Tok::Quoted(_));
                let kw = if quoted { None } else { keyword(&t.tok) };
                if kw.is_some_and(|k| k != Kw::Empty) {
                    return Err(bad_operand(&t));
                }
                if self.peek_at(1).tok == Tok::LParen {
                    return self.function(&t, s, quoted);
                }
                if kw == Some(Kw::Empty) {
                    self.advance();
                    return Ok(RawOperand::Empty);
                }
                if !quoted {
                    if is_reserved_word(&t.tok) {
                        return Err(reserved_word_error(&t));
                    }
                    check_number(&t, s)?;
                }
                self.advance();
                Ok(RawOperand::Str { value: s.clone(), quoted })
            }
            _ => Err(bad_operand(&t)),
        }
    }

    /// The rest of a list after its "(".
    fn list_rest(&mut self) -> Result<RawOperand, JqlError> {
        let mut items = vec![self.operand()?];
        loop {
            match self.peek().tok {
                Tok::Comma => {
                    self.advance();
                    items.push(self.operand()?);
                }
                Tok::RParen => {
                    self.advance();
                    return Ok(RawOperand::List(items));
                }
                _ => return Err(self.expecting("')'")),
            }
        }
    }

    /// A function call; `name_tok` is the current token and "(" follows it.
    fn function(&mut self, name_tok: &Token, name: &str, quoted: bool) -> Result<RawOperand, JqlError> {
        if name.is_empty() {
            return Err(JqlError::syntax("A function name cannot be empty.", Some(name_tok.pos)));
        }
        if !quoted && is_reserved_word(&name_tok.tok) {
            return Err(reserved_word_error(name_tok));
        }
        self.advance();
        self.advance();
        let mut args = Vec::new();
        match &self.peek().tok {
            Tok::RParen => {
                self.advance();
                return Ok(func(name, args));
            }
            Tok::Eof | Tok::Comma => return Err(self.expecting("')'")),
            _ => args.push(self.function_arg()?),
        }
        loop {
            match &self.peek().tok {
                Tok::RParen => {
                    self.advance();
                    return Ok(func(name, args));
                }
                Tok::Comma => {
                    self.advance();
                    match &self.peek().tok {
                        Tok::Eof => {
                            return Err(JqlError::syntax(
                                "Expecting a function argument at the end of the query.",
                                None,
                            ));
                        }
                        Tok::RParen | Tok::Comma => {
                            let pos = self.peek().pos;
                            return Err(JqlError::syntax("Function argument must be specified.", Some(pos)));
                        }
                        _ => args.push(self.function_arg()?),
                    }
                }
                Tok::Eof => return Err(self.expecting("')'")),
                _ => return Err(self.expecting("')' or ','")),
            }
        }
    }

    fn function_arg(&mut self) -> Result<String, JqlError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Word(s) | Tok::Quoted(s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(JqlError::syntax(
                format!(
                    "Expecting a function argument but got '{0}'. You must surround '{0}' in quotation marks to use it as an argument.",
                    t.text
                ),
                Some(t.pos),
            )),
        }
    }

    fn order_by(&mut self) -> Result<Vec<RawSort>, JqlError> {
        self.advance(); // ORDER
        if self.peek_kw() != Some(Kw::By) {
            return Err(self.expecting("'by'"));
        }
        self.advance();
        let mut sorts = Vec::new();
        loop {
            let field = self.field_name()?;
            let descending = match self.peek_kw() {
                Some(Kw::Asc) => Some(false),
                Some(Kw::Desc) => Some(true),
                _ => None,
            };
            if descending.is_some() {
                self.advance();
            }
            sorts.push(RawSort { field, descending });
            match self.peek().tok {
                Tok::Comma => {
                    self.advance();
                }
                Tok::Eof => return Ok(sorts),
                _ if descending.is_some() => return Err(self.expecting("','")),
                _ => return Err(self.expecting("either 'ASC' or 'DESC'")),
            }
        }
    }
}

fn func(name: &str, args: Vec<String>) -> RawOperand {
    RawOperand::Func { name: name.to_string(), args }
}

fn bad_operand(t: &Token) -> JqlError {
    JqlError::syntax(
        format!(
            "Expecting either a value, list or function but got '{0}'. You must surround '{0}' in quotation marks to use it as a value.",
            t.text
        ),
        Some(t.pos),
    )
}

/// Jira lexes an unquoted run of digits as a 64-bit number and refuses one
/// that does not fit.
fn check_number(t: &Token, s: &str) -> Result<(), JqlError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && s.parse::<i64>().is_err() {
        let msg = format!(
            "'{s}' is not a valid number. Numbers must be between -9,223,372,036,854,775,808 and 9,223,372,036,854,775,807."
        );
        return Err(JqlError::syntax(msg, Some(t.pos)));
    }
    Ok(())
}
