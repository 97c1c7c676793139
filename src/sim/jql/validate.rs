//! Checks a parsed query the way Jira's validators do (fields, operators,
//! operand shapes, values) and builds the public [`Query`].

use super::ast::{
    Clause, DateExpr, Field, JqlError, KeyLiteral, Op, Operand, OrderField, OrderKey, Period, Query, Value,
};
use super::dates;
use super::parser::{RawClause, RawOp, RawOperand, RawQuery, RawSort, RawTerm};

pub(super) fn validate(raw: RawQuery) -> Result<Query, JqlError> {
    let clause = raw.clause.map(clause).transpose()?;
    let order_by = raw.order_by.iter().map(order_key).collect::<Result<Vec<_>, _>>()?;
    Ok(Query { clause, order_by })
}

fn clause(raw: RawClause) -> Result<Clause, JqlError> {
    Ok(match raw {
        RawClause::And(parts) => Clause::And(parts.into_iter().map(clause).collect::<Result<_, _>>()?),
        RawClause::Or(parts) => Clause::Or(parts.into_iter().map(clause).collect::<Result<_, _>>()?),
        RawClause::Not(inner) => Clause::Not(Box::new(clause(*inner)?)),
        RawClause::Term(term) => terminal(term)?,
    })
}

fn order_key(sort: &RawSort) -> Result<OrderKey, JqlError> {
    let field = match Field::from_name(&sort.field) {
        Some(Field::Created) => OrderField::Created,
        Some(Field::Updated) => OrderField::Updated,
        Some(Field::Key) => OrderField::Key,
        _ => {
            return Err(JqlError::new(format!("Not able to sort using field '{}'.", sort.field)));
        }
    };
    // Jira's per-field default direction: dates newest first, keys ascending.
    let default_descending = field != OrderField::Key;
    Ok(OrderKey { field, descending: sort.descending.unwrap_or(default_descending) })
}

/// Operators each field accepts (Jira's lists, without the history operators).
fn supports(field: Field, op: RawOp) -> bool {
    use RawOp::*;
    match op {
        Eq | NotEq | In | NotIn => true,
        Lt | Gt | Le | Ge => matches!(field, Field::Key | Field::Created | Field::Updated),
        Is | IsNot => !matches!(field, Field::Status | Field::Key),
        Like | NotLike => false,
    }
}

/// Whether the field can be EMPTY (and so be searched for EMPTY).
fn supports_empty(field: Field) -> bool {
    !matches!(field, Field::Project | Field::IssueType | Field::Status | Field::Key)
}

fn op_name(op: RawOp) -> &'static str {
    match op {
        RawOp::Eq => "=",
        RawOp::NotEq => "!=",
        RawOp::Lt => "<",
        RawOp::Gt => ">",
        RawOp::Le => "<=",
        RawOp::Ge => ">=",
        RawOp::Like => "~",
        RawOp::NotLike => "!~",
        RawOp::In => "in",
        RawOp::NotIn => "not in",
        RawOp::Is => "is",
        RawOp::IsNot => "is not",
    }
}

fn terminal(term: RawTerm) -> Result<Clause, JqlError> {
    let RawTerm { field: name, op: raw_op, operand } = term;
    let Some(field) = Field::from_name(&name) else {
        return Err(JqlError::new(format!("Field '{name}' does not exist or you do not have permission to view it.")));
    };
    let op_str = op_name(raw_op);
    if !supports(field, raw_op) {
        return Err(JqlError::new(format!("The operator '{op_str}' is not supported by the '{name}' field.")));
    }
    let is_list = matches!(operand, RawOperand::List(_));
    let is_empty = operand == RawOperand::Empty;
    match raw_op {
        RawOp::Is | RawOp::IsNot if !is_empty => {
            return Err(JqlError::new(format!(
                "Operator '{op_str}' does not support the non-empty value '{}' for field '{name}'.",
                display(&operand)
            )));
        }
        RawOp::In | RawOp::NotIn if !is_list => {
            return Err(JqlError::new(format!(
                "Operator '{op_str}' does not support the non-list value '{}' for field '{name}'.",
                display(&operand)
            )));
        }
        RawOp::In | RawOp::NotIn | RawOp::Is | RawOp::IsNot => {}
        _ if is_list => {
            return Err(JqlError::new(format!(
                "Operator '{op_str}' does not support the list value '{}' for field '{name}'.",
                display(&operand)
            )));
        }
        _ => {}
    }
    if !supports_empty(field) && contains_empty(&operand) {
        return Err(JqlError::new(format!("The field '{name}' does not support searching for EMPTY values.")));
    }
    let op = match raw_op {
        RawOp::Eq if is_empty => Op::Is,
        RawOp::NotEq if is_empty => Op::IsNot,
        RawOp::Eq => Op::Eq,
        RawOp::NotEq => Op::NotEq,
        RawOp::In => Op::In,
        RawOp::NotIn => Op::NotIn,
        RawOp::Is => Op::Is,
        RawOp::IsNot => Op::IsNot,
        RawOp::Gt => Op::Gt,
        RawOp::Ge => Op::Ge,
        RawOp::Lt => Op::Lt,
        RawOp::Le => Op::Le,
        // Refused by `supports` above.
        RawOp::Like | RawOp::NotLike => {
            return Err(JqlError::new(format!("The operator '{op_str}' is not supported by the '{name}' field.")));
        }
    };
    if is_empty && matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) {
        return Err(JqlError::new(format!(
            "The operator '{op_str}' does not support searching for EMPTY values on the field '{name}'."
        )));
    }
    let operand = match operand {
        RawOperand::List(items) => {
            let mut values = Vec::new();
            flatten(items, &mut values);
            Operand::List(values.into_iter().map(|v| value(field, &name, v)).collect::<Result<_, _>>()?)
        }
        single => Operand::Single(value(field, &name, single)?),
    };
    Ok(Clause::Cond { field, op, operand })
}

fn contains_empty(operand: &RawOperand) -> bool {
    match operand {
        RawOperand::Empty => true,
        RawOperand::List(items) => items.iter().any(contains_empty),
        _ => false,
    }
}

fn flatten(items: Vec<RawOperand>, out: &mut Vec<RawOperand>) {
    for item in items {
        match item {
            RawOperand::List(inner) => flatten(inner, out),
            other => out.push(other),
        }
    }
}

/// An operand as Jira prints it in operator-usage messages.
fn display(operand: &RawOperand) -> String {
    match operand {
        RawOperand::Empty => "EMPTY".to_string(),
        RawOperand::Str { value, quoted } => {
            if !quoted && value.parse::<i64>().is_ok() {
                value.clone()
            } else {
                format!("\"{value}\"")
            }
        }
        RawOperand::Func { name, args } => {
            let args: Vec<String> = args.iter().map(|a| format!("\"{a}\"")).collect();
            format!("{name}({})", args.join(", "))
        }
        RawOperand::List(items) => {
            let items: Vec<String> = items.iter().map(display).collect();
            format!("({})", items.join(", "))
        }
    }
}

/// Interprets one (non-list) operand for `field`, written as `name`.
fn value(field: Field, name: &str, operand: RawOperand) -> Result<Value, JqlError> {
    match operand {
        RawOperand::Empty => Ok(Value::Empty),
        RawOperand::List(_) => {
            Err(JqlError::new(format!("Operator 'in' does not support nested lists for field '{name}'.")))
        }
        RawOperand::Func { name: func, args } => function(field, name, &func, &args),
        RawOperand::Str { value, quoted } => {
            if field.is_date() {
                let expr = if quoted {
                    dates::parse_literal(&value)
                } else {
                    dates::parse_epoch_millis(&value).or_else(|| dates::parse_literal(&value))
                };
                return match expr {
                    Some(expr) => Ok(Value::Date { text: Some(value), expr }),
                    None => Err(JqlError::new(format!(
                        "Date value '{value}' for field '{name}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
                    ))),
                };
            }
            if field == Field::Key {
                return match key_literal(&value) {
                    Some(key) => Ok(Value::Key { text: value, key }),
                    None => Err(JqlError::new(format!("The issue key '{value}' for field '{name}' is invalid."))),
                };
            }
            Ok(Value::Text(value))
        }
    }
}

/// `PROJ-123` (project key: a letter, then letters, digits or `_`), or an issue id.
pub(super) fn key_literal(text: &str) -> Option<KeyLiteral> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(KeyLiteral::Id);
    }
    let (project, number) = text.rsplit_once('-')?;
    let mut chars = project.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(KeyLiteral::Key { project: project.to_ascii_uppercase(), number: number.parse().ok()? })
}

fn function(field: Field, name: &str, func: &str, args: &[String]) -> Result<Value, JqlError> {
    let lower = func.to_ascii_lowercase();
    let max_args = match lower.as_str() {
        "currentuser" | "now" => 0,
        "startofday" | "endofday" => 1,
        _ => {
            return Err(JqlError::new(format!("Unable to find JQL function '{func}()'.")));
        }
    };
    let fits = if lower == "currentuser" { field.is_user() } else { field.is_date() };
    if !fits {
        return Err(JqlError::new(format!(
            "A value provided by the function '{func}' is invalid for the field '{name}'."
        )));
    }
    if args.len() > max_args {
        let expected = if max_args == 0 { "'0'".to_string() } else { format!("between '0' and '{max_args}'") };
        return Err(JqlError::new(format!(
            "Function '{func}' expected {expected} arguments but received '{}'.",
            args.len()
        )));
    }
    let period = match args.first() {
        None => Period::default(),
        Some(arg) => dates::parse_function_period(arg).ok_or_else(|| {
            JqlError::new(format!(
                "Duration for function '{func}' should have the format (+/-)n(yMwdm), e.g -1M for 1 month earlier."
            ))
        })?,
    };
    let expr = match lower.as_str() {
        "currentuser" => return Ok(Value::CurrentUser),
        "now" => DateExpr::Now,
        "startofday" => DateExpr::StartOfDay(period),
        _ => DateExpr::EndOfDay(period),
    };
    Ok(Value::Date { text: None, expr })
}
