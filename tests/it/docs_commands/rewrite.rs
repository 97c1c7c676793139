//! Pure text rewrites of a doc's command before it is run; why each is
//! made is said where [`super::Folders::substitute`] calls it.

use super::shell;

/// `--port-base N` becomes `--port-base 0`.
pub fn port_base_zero(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("--port-base") {
        let (head, tail) = rest.split_at(i + "--port-base".len());
        out.push_str(head);
        let sep = tail.len() - tail.trim_start_matches([' ', '=']).len();
        let digits = tail[sep..].len() - tail[sep..].trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str(&tail[..sep]);
            out.push('0');
        }
        rest = if digits > 0 { &tail[sep + digits..] } else { tail };
    }
    out.push_str(rest);
    out
}

/// `--port-base 0` for a `jirafed sim` that would serve on the default
/// ports: one with no `--port-base` that does not just print the world.
pub fn free_ports_for_sim(text: &str) -> String {
    const SIM: &str = "jirafed sim";
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(SIM) {
        let (head, tail) = rest.split_at(i + SIM.len());
        out.push_str(head);
        let segment = &tail[..tail.find(|c| ";&|<>\n".contains(c)).unwrap_or(tail.len())];
        let whole_word = segment.is_empty() || segment.starts_with(char::is_whitespace);
        if whole_word && !segment.contains("--port-base") && !segment.contains("--print-config") {
            out.push_str(" --port-base 0");
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// `curl --fail-with-body` for every `curl` run as a command.
pub fn curl_fails_on_errors(text: &str) -> String {
    let mut out = String::new();
    for (i, piece) in text.split("curl ").enumerate() {
        if i > 0 {
            out.push_str(if command_position(&out) { "curl --fail-with-body " } else { "curl " });
        }
        out.push_str(piece);
    }
    out
}

/// Whether a word after `before` is a command's name: it starts the text
/// or a list (`;`, `&&`, `|`, a line), after any `NAME=value` assignments.
fn command_position(before: &str) -> bool {
    let mut b = before.trim_end_matches([' ', '\t']);
    loop {
        if b.is_empty() || b.ends_with(|c: char| ";&|(\n".contains(c)) {
            return true;
        }
        let start = b.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        if !b[start..].split_once('=').is_some_and(|(name, _)| shell::is_name(name)) {
            return false;
        }
        b = b[..start].trim_end_matches([' ', '\t']);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ports_become_free_ones() {
        assert_eq!(port_base_zero("jirafed sim --port-base 9900  # x"), "jirafed sim --port-base 0  # x");
        assert_eq!(port_base_zero("a --port-base=12 --port-base 0"), "a --port-base=0 --port-base 0");
        assert_eq!(
            free_ports_for_sim("jirafed sim --print-config > w.toml && jirafed sim --config w.toml"),
            "jirafed sim --print-config > w.toml && jirafed sim --port-base 0 --config w.toml"
        );
        assert_eq!(
            free_ports_for_sim("jirafed sim --port-base 0; jirafed simx"),
            "jirafed sim --port-base 0; jirafed simx"
        );
    }

    #[test]
    fn curl_is_told_to_fail_on_http_errors() {
        assert_eq!(
            curl_fails_on_errors("curl -s a && X=1 curl b; echo curl x"),
            "curl --fail-with-body -s a && X=1 curl --fail-with-body b; echo curl x"
        );
    }
}
