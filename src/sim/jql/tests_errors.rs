//! Error messages (asserted exactly) and robustness properties.

use chrono_tz::{America, Europe, UTC};
use proptest::prelude::*;

use super::parse;
use super::tests::{CURRENT_USER, ctx, issues};

const OPERATORS: &str =
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.";
const DATE_FORMATS: &str = "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.";
const ESCAPES: &str = r#"The valid escape sequences are \', \", \t, \n, \r, \\, '\ ' and \uXXXX."#;

fn error_of(jql: &str) -> String {
    match parse(jql) {
        Ok(q) => panic!("{jql:?} parsed but should not have: {q:?}"),
        Err(e) => {
            assert_eq!(e.to_string(), e.message, "Display must be the message");
            e.message
        }
    }
}

fn syntax(msg: &str) -> String {
    format!("Error in the JQL Query: {msg}")
}

#[test]
fn syntax_errors() {
    let cases: Vec<(&str, String)> = vec![
        ("project foo EMEA", syntax(&format!("Expecting operator but got 'foo'. {OPERATORS} (line 1, character 9)"))),
        ("project", syntax(&format!("Expecting operator before the end of the query. {OPERATORS}"))),
        (
            "project = ORDER BY key",
            syntax(
                "Expecting either a value, list or function but got 'ORDER'. You must surround 'ORDER' in quotation marks to use it as a value. (line 1, character 11)",
            ),
        ),
        ("project = \"abc", syntax("The quoted string 'abc' has not been completed. (line 1, character 11)")),
        ("(project = EMEA", syntax("Expecting ')' before the end of the query.")),
        ("(project = EMEA OR (status = Open)", syntax("Expecting ')' before the end of the query.")),
        ("(project = EMEA status = Open)", syntax("Expecting ')' but got 'status'. (line 1, character 17)")),
        ("project = EMEA AND", syntax("Expecting a field name at the end of the query.")),
        (
            "project = EMEA status = Open",
            syntax("Expecting either 'OR' or 'AND' but got 'status'. (line 1, character 16)"),
        ),
        ("project = EMEA)", syntax("Expecting either 'OR' or 'AND' but got ')'. (line 1, character 15)")),
        ("project =", syntax("Expecting either a value, list or function before the end of the query.")),
        ("status in (Open,", syntax("Expecting either a value, list or function before the end of the query.")),
        (
            "status in ()",
            syntax(
                "Expecting either a value, list or function but got ')'. You must surround ')' in quotation marks to use it as a value. (line 1, character 12)",
            ),
        ),
        ("status in (Open Done)", syntax("Expecting ')' but got 'Done'. (line 1, character 17)")),
        (
            "AND status = Open",
            syntax(
                "Expecting a field name but got 'AND'. You must surround 'AND' in quotation marks to use it as a field name. (line 1, character 1)",
            ),
        ),
        (
            "status = select",
            syntax(
                "'select' is a reserved JQL word. You must surround it in quotation marks to use it in a query. (line 1, character 10)",
            ),
        ),
        (
            "labels = a{b",
            syntax(
                "The character '{' is a reserved JQL character. You must enclose it in a string or use the escape '\\u007b' instead. (line 1, character 11)",
            ),
        ),
        (
            "assignee = alice@example.com",
            syntax(
                "The character '@' is a reserved JQL character. You must enclose it in a string or use the escape '\\u0040' instead. (line 1, character 17)",
            ),
        ),
        (
            "created > 2024/01/01",
            syntax(
                "The character '/' is a reserved JQL character. You must enclose it in a string or use the escape '\\u002f' instead. (line 1, character 15)",
            ),
        ),
        (
            "labels = \"a\\qb\"",
            syntax(&format!("'\\q' is an illegal JQL escape sequence. {ESCAPES} (line 1, character 12)")),
        ),
        (
            "project = EMEA\nAND status = \"In Prog",
            syntax("The quoted string 'In Prog' has not been completed. (line 2, character 14)"),
        ),
        ("labels = '", syntax("The quoted string has not been completed. (line 1, character 10)")),
        ("\"\" = x", syntax("A field name cannot be empty. (line 1, character 1)")),
        ("status = \"\"()", syntax("A function name cannot be empty. (line 1, character 10)")),
        ("status is ! EMPTY", syntax("Expecting 'NOT' but got '!'. (line 1, character 11)")),
        ("status not is EMPTY", syntax("Expecting 'IN' but got 'is'. (line 1, character 12)")),
        ("updated > startOfDay(", syntax("Expecting ')' before the end of the query.")),
        ("updated > startOfDay(-1d,", syntax("Expecting a function argument at the end of the query.")),
        ("updated > startOfDay(-1d,)", syntax("Function argument must be specified. (line 1, character 26)")),
        ("updated > startOfDay(-1d !)", syntax("Expecting ')' or ',' but got '!'. (line 1, character 26)")),
        (
            "created = 99999999999999999999",
            syntax(
                "'99999999999999999999' is not a valid number. Numbers must be between -9,223,372,036,854,775,808 and 9,223,372,036,854,775,807. (line 1, character 11)",
            ),
        ),
        ("project = EMEA ORDER", syntax("Expecting 'by' before the end of the query.")),
        ("project = EMEA ORDER key", syntax("Expecting 'by' but got 'key'. (line 1, character 22)")),
        ("ORDER BY", syntax("Expecting a field name at the end of the query.")),
        (
            "ORDER BY asc",
            syntax(
                "Expecting a field name but got 'asc'. You must surround 'asc' in quotation marks to use it as a field name. (line 1, character 10)",
            ),
        ),
        ("ORDER BY key blah", syntax("Expecting either 'ASC' or 'DESC' but got 'blah'. (line 1, character 14)")),
        ("ORDER BY key DESC created", syntax("Expecting ',' but got 'created'. (line 1, character 19)")),
    ];
    for (jql, want) in &cases {
        assert_eq!(&error_of(jql), want, "for {jql:?}");
    }
}

#[test]
fn validation_errors() {
    let cases: Vec<(&str, String)> = vec![
        ("updated > \"2024-13-45\"", format!("Date value '2024-13-45' for field 'updated' is invalid. {DATE_FORMATS}")),
        (
            "createdDate >= \"-1w -2d\"",
            format!("Date value '-1w -2d' for field 'createdDate' is invalid. {DATE_FORMATS}"),
        ),
        (
            "updated in (\"2024-01-01\", yesterday)",
            format!("Date value 'yesterday' for field 'updated' is invalid. {DATE_FORMATS}"),
        ),
        ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it.".into()),
        (
            "project = EMEA AND Summary ~ x",
            "Field 'Summary' does not exist or you do not have permission to view it.".into(),
        ),
        ("status > Open", "The operator '>' is not supported by the 'status' field.".into()),
        ("labels <= x", "The operator '<=' is not supported by the 'labels' field.".into()),
        ("project ~ EMEA", "The operator '~' is not supported by the 'project' field.".into()),
        ("status is EMPTY", "The operator 'is' is not supported by the 'status' field.".into()),
        ("issuekey is not EMPTY", "The operator 'is not' is not supported by the 'issuekey' field.".into()),
        ("status was Open", "The operator 'was' is not supported by the 'status' field.".into()),
        ("project in EMEA", "Operator 'in' does not support the non-list value '\"EMEA\"' for field 'project'.".into()),
        (
            "assignee not in currentUser()",
            "Operator 'not in' does not support the non-list value 'currentUser()' for field 'assignee'.".into(),
        ),
        (
            "project = (EMEA, PORT)",
            "Operator '=' does not support the list value '(\"EMEA\", \"PORT\")' for field 'project'.".into(),
        ),
        (
            "assignee is bob",
            "Operator 'is' does not support the non-empty value '\"bob\"' for field 'assignee'.".into(),
        ),
        ("status = EMPTY", "The field 'status' does not support searching for EMPTY values.".into()),
        ("key in (EMEA-1, EMPTY)", "The field 'key' does not support searching for EMPTY values.".into()),
        (
            "created > EMPTY",
            "The operator '>' does not support searching for EMPTY values on the field 'created'.".into(),
        ),
        ("assignee = whoami()", "Unable to find JQL function 'whoami()'.".into()),
        (
            "status = currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'status'.".into(),
        ),
        ("assignee = now()", "A value provided by the function 'now' is invalid for the field 'assignee'.".into()),
        ("updated > now(1)", "Function 'now' expected '0' arguments but received '1'.".into()),
        (
            "updated > endOfDay(1, 2)",
            "Function 'endOfDay' expected between '0' and '1' arguments but received '2'.".into(),
        ),
        (
            "updated > startOfDay(\"x\")",
            "Duration for function 'startOfDay' should have the format (+/-)n(yMwdm), e.g -1M for 1 month earlier."
                .into(),
        ),
        ("key = foo", "The issue key 'foo' for field 'key' is invalid.".into()),
        ("issuekey > \"EMEA 1\"", "The issue key 'EMEA 1' for field 'issuekey' is invalid.".into()),
        ("ORDER BY summary", "Not able to sort using field 'summary'.".into()),
        ("project = EMEA ORDER BY key, labels DESC", "Not able to sort using field 'labels'.".into()),
    ];
    for (jql, want) in &cases {
        assert_eq!(&error_of(jql), want, "for {jql:?}");
    }
}

#[test]
fn syntax_errors_win_over_validation_errors() {
    // Jira reports a broken query before checking its fields.
    assert_eq!(error_of("foo = bar AND ("), syntax("Expecting a field name at the end of the query."));
    assert_eq!(
        error_of("foo = bar AND status = \"x"),
        syntax("The quoted string 'x' has not been completed. (line 1, character 24)")
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep_parens = format!("{}status = Open{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(error_of(&deep_parens).contains("nested more than 100 levels"));
    let deep_not = format!("{}status = Open", "NOT ".repeat(100_000));
    assert!(error_of(&deep_not).contains("nested more than 100 levels"));
    let deep_list = format!("status in {}Open{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(error_of(&deep_list).contains("nested more than 100 levels"));
    // Reasonable nesting is fine.
    let ok = format!("{}status = Open{}", "(".repeat(50), ")".repeat(50));
    assert!(parse(&ok).is_ok());
}

/// Evaluating whatever parses must not panic either, in any time zone.
fn evaluate_everywhere(jql: &str) {
    let Ok(query) = parse(jql) else { return };
    let me: Vec<String> = CURRENT_USER.iter().map(|s| s.to_string()).collect();
    let fixtures = issues();
    for tz in [UTC, Europe::Berlin, America::Los_Angeles] {
        let ctx = ctx(tz, &me);
        for a in &fixtures {
            let _ = query.matches(&a.view(), &ctx);
            for b in &fixtures {
                let _ = query.compare(&a.view(), &b.view());
            }
        }
    }
    let _ = query.literal_values("project");
}

const FRAGMENTS: &[&str] = &[
    "project",
    "status",
    "key",
    "labels",
    "assignee",
    "created",
    "updated",
    "type",
    "foo",
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "~",
    "in",
    "not",
    "is",
    "and",
    "or",
    "AND",
    "OR",
    "NOT",
    "EMPTY",
    "null",
    "(",
    ")",
    ",",
    "!",
    "&&",
    "||",
    "ORDER",
    "BY",
    "asc",
    "desc",
    "EMEA",
    "EMEA-10",
    "\"In Progress\"",
    "'x\\'y'",
    "\"",
    "'",
    "\\",
    "\\u00",
    "currentUser()",
    "now()",
    "startOfDay(-1d)",
    "endOfDay(\"+1M\")",
    "startOfDay(",
    "-5d",
    "\"-1w 2d\"",
    "4h",
    "\"2024-03-31 02:30\"",
    "\"2024/10/27\"",
    "\"2024-13-45\"",
    "1704067200000",
    "99999999999999999999",
    "-9223372036854775808",
    "\"-99999999999w\"",
    "endOfDay(\"-99999999y\")",
    "select",
    "{",
    "@",
    "\n",
    " ",
    "\u{7f}",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_printable_ascii(s in "[ -~\n]{0,60}") {
        evaluate_everywhere(&s);
    }

    #[test]
    fn parse_and_evaluate_never_panic_on_jql_like_input(
        parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..14)
    ) {
        evaluate_everywhere(&parts.join(" "));
    }
}
