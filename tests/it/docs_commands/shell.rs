//! The command lines of a markdown doc: its fenced code blocks, and in the
//! shell ones, each command as `sh` would take it (continuations joined,
//! comments dropped, a loop kept whole), then split into words.

/// Languages whose blocks are commands; any other block is not.
const SHELL_LANGS: [&str; 3] = ["sh", "bash", "console"];

/// A fenced code block.
pub struct Block {
    /// The doc, relative to the repository root (`docs/simulator.md`).
    pub doc: String,
    /// Line number (1-based) of the block's first line of content.
    pub line: usize,
    /// The fence's language, empty when unlabelled.
    pub lang: String,
    pub lines: Vec<String>,
}

impl Block {
    pub fn is_shell(&self) -> bool {
        SHELL_LANGS.contains(&self.lang.as_str())
    }
}

/// One command of a shell block.
#[derive(Debug, PartialEq)]
pub struct Command {
    /// Line number (1-based) in the doc where it starts.
    pub line: usize,
    /// The doc's lines, as written.
    pub written: String,
    /// What `sh -c` gets: comments dropped, `\` continuations joined.
    pub text: String,
}

/// Every fenced code block of `text`, in order.
pub fn blocks(doc: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (fence, open.take()) {
            (Some(_), Some(block)) => out.push(block),
            (Some(lang), None) => {
                let lang = lang.split_whitespace().next().unwrap_or("").to_string();
                open = Some(Block { doc: doc.to_string(), line: i + 2, lang, lines: Vec::new() });
            }
            (None, Some(mut block)) => {
                block.lines.push(line.to_string());
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    out
}

/// The commands of a shell block. In a `console` block only lines after a
/// `$ ` prompt are commands; the rest is their output.
pub fn commands(block: &Block) -> Vec<Command> {
    let console = block.lang == "console";
    let mut lexer = Lexer::default();
    let mut out = Vec::new();
    for (i, raw) in block.lines.iter().enumerate() {
        let line = if !console || lexer.pending() {
            raw.as_str()
        } else if let Some(cmd) = raw.trim_start().strip_prefix("$ ") {
            cmd
        } else {
            continue;
        };
        if !lexer.pending() {
            lexer.start = block.line + i;
        }
        lexer.written.push(raw.clone());
        if let Some(cmd) = lexer.feed(line) {
            out.push(cmd);
        }
    }
    out
}

/// Reads a command line by line, as far as needed to know where it ends:
/// quotes, `\` at a line's end, `#` comments, and compound commands
/// (`for ... do ... done`, `if ... fi`, `case ... esac`) spanning lines.
#[derive(Default)]
struct Lexer {
    start: usize,
    written: Vec<String>,
    text: String,
    quote: Option<char>,
    /// Open compound commands.
    depth: i32,
    /// The unquoted word being read, to spot reserved words.
    word: String,
    /// Whether the next word is in command position (where `for`/`done` are reserved).
    command_position: bool,
}

impl Lexer {
    fn pending(&self) -> bool {
        !self.written.is_empty()
    }

    /// Takes one line; returns the command when it ends there.
    fn feed(&mut self, line: &str) -> Option<Command> {
        if self.text.is_empty() {
            self.command_position = true;
        }
        let mut chars = line.chars().peekable();
        let mut continued = false;
        while let Some(c) = chars.next() {
            match (self.quote, c) {
                (Some('\''), '\'') | (Some('"'), '"') => self.quote = None,
                (Some('"'), '\\') => {
                    self.text.push(c);
                    if let Some(n) = chars.next() {
                        self.text.push(n);
                    }
                    continue;
                }
                (Some(_), _) => {}
                (None, '\\') if chars.peek().is_none() => {
                    continued = true;
                    continue;
                }
                (None, '\\') => {
                    self.text.push(c);
                    self.word.push(c);
                    if let Some(n) = chars.next() {
                        self.text.push(n);
                        self.word.push(n);
                    }
                    continue;
                }
                (None, '#') if self.word.is_empty() => break,
                (None, '\'' | '"') => {
                    self.quote = Some(c);
                    self.word.push(c);
                }
                (None, c) if c.is_whitespace() || ";&|()<>".contains(c) => {
                    self.end_word();
                    if ";&|(".contains(c) {
                        self.command_position = true;
                    }
                }
                (None, _) => self.word.push(c),
            }
            self.text.push(c);
        }
        if self.quote.is_some() {
            self.text.push('\n');
            return None;
        }
        if continued {
            self.text.push(' ');
            return None;
        }
        self.end_word();
        if self.depth > 0 {
            self.text = self.text.trim_end().to_string();
            self.text.push('\n');
            self.command_position = true;
            return None;
        }
        let text = std::mem::take(&mut self.text).trim().to_string();
        let written = std::mem::take(&mut self.written).join("\n");
        (!text.is_empty()).then_some(Command { line: self.start, written, text })
    }

    fn end_word(&mut self) {
        let word = std::mem::take(&mut self.word);
        if word.is_empty() {
            return;
        }
        if self.command_position {
            match word.as_str() {
                "for" | "while" | "until" | "if" | "case" => self.depth += 1,
                "done" | "fi" | "esac" => self.depth -= 1,
                _ => {}
            }
        }
        let assignment = word.split_once('=').is_some_and(|(name, _)| is_name(name));
        self.command_position = matches!(word.as_str(), "do" | "then" | "else" | "elif" | "!" | "{")
            || (self.command_position && assignment);
    }
}

/// A shell variable name.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A simple command of a line: its `NAME=value` assignments, then its
/// words (redirections left out).
#[derive(Debug, Default, PartialEq)]
pub struct Simple {
    pub assignments: Vec<String>,
    pub words: Vec<String>,
}

impl Simple {
    pub fn program(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// The simple commands of a command line (split at `;`, `&&`, `||`, `|`,
/// `&` and line ends), with quotes removed from the words. Enough to see
/// which programs a line runs with which arguments; not a shell.
pub fn simple_commands(text: &str) -> Vec<Simple> {
    let mut out = vec![Simple::default()];
    let mut word: Option<String> = None;
    let mut redirect = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    let finish = |word: &mut Option<String>, redirect: &mut bool, out: &mut Vec<Simple>| {
        let Some(w) = word.take() else { return };
        let last = out.last_mut().expect("one simple command at least");
        if std::mem::take(redirect) {
            return;
        }
        if last.words.is_empty() && w.split_once('=').is_some_and(|(n, _)| is_name(n)) {
            last.assignments.push(w);
        } else {
            last.words.push(w);
        }
    };
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, '\\') => word.get_or_insert_default().extend(chars.next()),
            (None, c) if c.is_whitespace() || ";&|<>".contains(c) => {
                finish(&mut word, &mut redirect, &mut out);
                if "<>".contains(c) {
                    redirect = true;
                }
                if c == '\n' || ";&|".contains(c) && !out.last().is_some_and(|s| s == &Simple::default()) {
                    out.push(Simple::default());
                }
            }
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    finish(&mut word, &mut redirect, &mut out);
    out.retain(|s| !s.words.is_empty() || !s.assignments.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(lang: &str, text: &str) -> Block {
        Block { doc: "doc.md".into(), line: 10, lang: lang.into(), lines: text.lines().map(String::from).collect() }
    }

    fn texts(lang: &str, text: &str) -> Vec<String> {
        commands(&block(lang, text)).into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn fences_give_blocks_with_their_language_and_first_line() {
        let doc = "# T\n\n```sh\na\n```\n\n```\nmap\n```\n  ```toml\nx = 1\n  ```\n";
        let b = blocks("d.md", doc);
        let got: Vec<_> = b.iter().map(|b| (b.line, b.lang.as_str(), b.lines.join("|"))).collect();
        assert_eq!(got, [(4, "sh", "a".into()), (8, "", "map".into()), (11, "toml", "x = 1".into())]);
    }

    #[test]
    fn comments_continuations_quotes_and_loops() {
        let text = "# a comment line\nfoo --x 1   # trailing\ncurl -s \\\n  -d '{\"a\": 1,\n  \"b\": \"#\"}'\n\
                    for s in a b; do\n  echo $s  # each\ndone\nA=1 \\\n  B=2 bar\necho \"it's # in quotes\"\n";
        assert_eq!(
            texts("sh", text),
            [
                "foo --x 1",
                "curl -s    -d '{\"a\": 1,\n  \"b\": \"#\"}'",
                "for s in a b; do\n  echo $s\ndone",
                "A=1    B=2 bar",
                "echo \"it's # in quotes\"",
            ]
        );
        let cmds = commands(&block("sh", text));
        assert_eq!((cmds[2].line, cmds[2].written.lines().count()), (15, 3));
    }

    #[test]
    fn reserved_words_count_only_in_command_position() {
        assert_eq!(texts("sh", "echo for done\nls"), ["echo for done", "ls"]);
        assert_eq!(texts("sh", "if true; then\n  x\nfi\ny"), ["if true; then\n  x\nfi", "y"]);
    }

    #[test]
    fn console_blocks_take_prompted_lines_only() {
        assert_eq!(
            texts("console", "$ jirafed sim \\\n  --port-base 0\nserving\n$ ls\nout"),
            ["jirafed sim    --port-base 0", "ls"]
        );
    }

    #[test]
    fn simple_commands_split_assignments_words_and_redirections() {
        let s = simple_commands("A=1 B='x y' cargo bench --bench b && jirafed sim --print-config > w.toml; ls");
        let shape: Vec<_> = s.iter().map(|s| (s.assignments.join(" "), s.words.join(" "))).collect();
        assert_eq!(
            shape,
            [
                ("A=1 B=x y".into(), "cargo bench --bench b".into()),
                (String::new(), "jirafed sim --print-config".into()),
                (String::new(), "ls".into()),
            ]
        );
    }
}
