//! The expression language of host rules' `rule` fields, as KubeEye writes
//! them: `net.ipv4.ip_forward = 1`, `vm.swappiness=0`, `kubelet == "active"`,
//! `cpu > 80`, `net.ipv4.ip_local_reserved_ports = "30000-32767"`, joined
//! with `&&` and `||` and grouped with parentheses.
//!
//! The grammar is a small PEG (pest); evaluating it reads nothing but the
//! values it is given, so a rule file can never run anything. `=` and `==`
//! both mean equality. Names may hold dots, dashes and slashes (sysctl keys,
//! unit names). Two values compare as numbers when both read as numbers,
//! otherwise as text with runs of whitespace made one space (a sysctl such as
//! `net.ipv4.ip_local_port_range` reads `32768\t60999`).

use std::fmt;

use pest::Parser;
use pest::iterators::Pair;

use grammar::{Grammar, Rule};

/// The generated parser (its `Rule` enum is pest's, undocumented).
#[allow(missing_docs)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar_inline = r#"
WHITESPACE = _{ " " | "\t" | "\n" | "\r" }
expression = { SOI ~ or ~ EOI }
or = { and ~ ("||" ~ and)* }
and = { primary ~ ("&&" ~ primary)* }
primary = _{ "(" ~ or ~ ")" | comparison }
comparison = { operand ~ op ~ operand }
op = { "==" | "!=" | ">=" | "<=" | ">" | "<" | "=" }
operand = _{ string | number | name }
name = @{ (ASCII_ALPHA | "_") ~ (ASCII_ALPHANUMERIC | "_" | "." | "-" | "/" | "@" | ":")* }
number = @{ ("-" | "+")? ~ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+)? ~ !(ASCII_ALPHA | "_") }
string = ${ "\"" ~ dq ~ "\"" | "'" ~ sq ~ "'" }
dq = @{ (!"\"" ~ ANY)* }
sq = @{ (!"'" ~ ANY)* }
"#]
    pub(super) struct Grammar;
}

/// A parsed `rule` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    text: String,
    node: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Compare(Operand, Op, Operand),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// A name: a value read on the node (sysctl key, unit, `cpu` …), or a bare word.
    Name(String),
    Text(String),
    Number(f64),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// One comparison that decided an evaluation, for messages:
/// `vm.swappiness is 60 (expected = 0)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The name read (`vm.swappiness`).
    pub name: String,
    /// What it was.
    pub value: String,
    /// What the rule asked, e.g. `= 0`.
    pub expected: String,
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {} (expected {})", self.name, self.value, self.expected)
    }
}

/// The outcome of evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Whether the expression holds.
    pub holds: bool,
    /// Every comparison evaluated, in order.
    pub observed: Vec<Observation>,
}

impl Expr {
    /// Parses an expression; the error gives the column and what was expected there.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pairs = Grammar::parse(Rule::expression, text).map_err(|e| {
            let column = match e.line_col {
                pest::error::LineColLocation::Pos((_, c)) | pest::error::LineColLocation::Span((_, c), _) => c,
            };
            let what = match &e.variant {
                pest::error::ErrorVariant::ParsingError { positives, .. } => expected(positives),
                pest::error::ErrorVariant::CustomError { message } => message.clone(),
            };
            format!("rule `{text}` does not parse at column {column}: expected {what}")
        })?;
        let top = pairs.next().and_then(|p| p.into_inner().next());
        let Some(top) = top else { return Err(format!("rule `{text}` is empty")) };
        Ok(Expr { text: text.trim().to_string(), node: build(top)? })
    }

    /// The names the expression reads (sysctl keys, units, `cpu` …), without repeats: in each
    /// comparison the left name (else the right one); a second name is a bare word.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        collect_names(&self.node, &mut names);
        names
    }

    /// Evaluates against the values of [`Expr::names`]; one without a value is an error.
    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Evaluation, String> {
        let mut observed = Vec::new();
        let holds = eval(&self.node, lookup, &mut observed)?;
        Ok(Evaluation { holds, observed })
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn expected(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = rules
        .iter()
        .map(|r| match r {
            Rule::op => "a comparison (=, ==, !=, >, >=, <, <=)",
            Rule::name | Rule::number | Rule::string | Rule::comparison | Rule::or | Rule::and => {
                "a name, a number or a quoted string"
            }
            Rule::EOI => "&&, || or the end of the rule",
            _ => "more",
        })
        .collect();
    words.dedup();
    if words.is_empty() { "something else".into() } else { words.join(" or ") }
}

fn build(pair: Pair<'_, Rule>) -> Result<Node, String> {
    match pair.as_rule() {
        Rule::or | Rule::and => {
            let is_or = pair.as_rule() == Rule::or;
            let mut parts = pair.into_inner().map(build).collect::<Result<Vec<_>, _>>()?;
            if parts.len() == 1 {
                return Ok(parts.remove(0));
            }
            Ok(if is_or { Node::Or(parts) } else { Node::And(parts) })
        }
        Rule::comparison => {
            let mut inner = pair.into_inner();
            let (Some(left), Some(op), Some(right)) = (inner.next(), inner.next(), inner.next()) else {
                return Err("incomplete comparison".into());
            };
            let op = match op.as_str() {
                "=" | "==" => Op::Eq,
                "!=" => Op::Ne,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                _ => Op::Le,
            };
            Ok(Node::Compare(operand(left)?, op, operand(right)?))
        }
        other => Err(format!("unexpected {other:?}")),
    }
}

fn operand(pair: Pair<'_, Rule>) -> Result<Operand, String> {
    match pair.as_rule() {
        Rule::name => Ok(Operand::Name(pair.as_str().to_string())),
        Rule::number => pair.as_str().parse().map(Operand::Number).map_err(|e| format!("{}: {e}", pair.as_str())),
        Rule::string => Ok(Operand::Text(pair.into_inner().next().map(|p| p.as_str().to_string()).unwrap_or_default())),
        other => Err(format!("unexpected {other:?}")),
    }
}

fn collect_names(node: &Node, names: &mut Vec<String>) {
    match node {
        Node::Or(parts) | Node::And(parts) => parts.iter().for_each(|p| collect_names(p, names)),
        Node::Compare(left, _, right) => {
            if let Some(n) = variable(left, right)
                && !names.contains(n)
            {
                names.push(n.clone());
            }
        }
    }
}

fn eval(node: &Node, lookup: &dyn Fn(&str) -> Option<String>, seen: &mut Vec<Observation>) -> Result<bool, String> {
    match node {
        Node::Or(parts) => {
            for p in parts {
                if eval(p, lookup, seen)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Node::And(parts) => {
            for p in parts {
                if !eval(p, lookup, seen)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Node::Compare(left, op, right) => {
            let var = variable(left, right);
            let value = |side: &Operand| -> Result<String, String> {
                match side {
                    Operand::Name(n) if var == Some(n) => {
                        lookup(n).ok_or_else(|| format!("`{n}` has no value on this node"))
                    }
                    Operand::Name(n) | Operand::Text(n) => Ok(n.clone()),
                    Operand::Number(x) => Ok(x.to_string()),
                }
            };
            let (l, r) = (normalise(&value(left)?), normalise(&value(right)?));
            let holds = match (l.parse::<f64>(), r.parse::<f64>()) {
                (Ok(a), Ok(b)) => match op {
                    Op::Eq => a == b,
                    Op::Ne => a != b,
                    Op::Gt => a > b,
                    Op::Ge => a >= b,
                    Op::Lt => a < b,
                    Op::Le => a <= b,
                },
                _ => match op {
                    Op::Eq => l == r,
                    Op::Ne => l != r,
                    _ => return Err(format!("`{l}` {} `{r}`: only numbers can be ordered", op.symbol())),
                },
            };
            let name = match (left, right) {
                (Operand::Name(n), _) => n.clone(),
                (_, Operand::Name(n)) => n.clone(),
                _ => l.clone(),
            };
            let shown = match right {
                Operand::Text(_) => format!("\"{r}\""),
                _ => r.clone(),
            };
            seen.push(Observation { name, value: l, expected: format!("{} {shown}", op.symbol()) });
            Ok(holds)
        }
    }
}

/// The operand read on the node: the left name, else the right one; any other name is a bare word.
fn variable<'a>(left: &'a Operand, right: &'a Operand) -> Option<&'a String> {
    match (left, right) {
        (Operand::Name(n), _) | (_, Operand::Name(n)) => Some(n),
        _ => None,
    }
}

/// Runs of whitespace as one space, no leading or trailing space.
fn normalise(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn run(text: &str, values: &[(&str, &str)]) -> Result<bool, String> {
        let map: BTreeMap<String, String> = values.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Expr::parse(text)?.evaluate(&|n| map.get(n).cloned()).map(|e| e.holds)
    }

    #[test]
    fn every_form_kubeeye_writes_parses_and_evaluates() {
        assert_eq!(run("net.ipv4.ip_forward = 1", &[("net.ipv4.ip_forward", "1")]), Ok(true));
        assert_eq!(run("vm.swappiness=0", &[("vm.swappiness", "60")]), Ok(false));
        assert_eq!(run("kubelet == \"active\"", &[("kubelet", "active")]), Ok(true));
        assert_eq!(run("cpu > 80", &[("cpu", "81.5")]), Ok(true));
        assert_eq!(run("cpu > 80", &[("cpu", "80")]), Ok(false));
        assert_eq!(
            run("fs.inotify.max_user_instances=524288", &[("fs.inotify.max_user_instances", "524288")]),
            Ok(true)
        );
        let ports = [("net.ipv4.ip_local_reserved_ports", "30000-32767")];
        assert_eq!(run("net.ipv4.ip_local_reserved_ports = \"30000-32767\"", &ports), Ok(true));
        let range = [("net.ipv4.ip_local_port_range", "32768\t60999\n")];
        assert_eq!(run("net.ipv4.ip_local_port_range = '32768 60999'", &range), Ok(true));
    }

    #[test]
    fn and_or_and_parentheses_combine() {
        let v = [("a", "1"), ("b", "2"), ("c", "x")];
        assert_eq!(run("a = 1 && b = 2", &v), Ok(true));
        assert_eq!(run("a = 2 || b = 2", &v), Ok(true));
        assert_eq!(run("a = 2 || b = 3 && c = \"x\"", &v), Ok(false));
        assert_eq!(run("(a = 2 || b = 2) && c == \"x\"", &v), Ok(true));
        assert_eq!(run("a != 1", &v), Ok(false));
        assert_eq!(run("b >= 2 && b <= 2 && a < 2", &v), Ok(true));
        // && binds tighter than ||.
        assert_eq!(run("a = 1 || a = 2 && b = 3", &v), Ok(true));
    }

    #[test]
    fn numbers_compare_as_numbers_and_words_as_text() {
        assert_eq!(run("x = 1", &[("x", "1.0")]), Ok(true));
        assert_eq!(run("x == active", &[("x", "active")]), Ok(true), "a bare word on the right is text");
        assert!(run("x > \"a\"", &[("x", "b")]).unwrap_err().contains("only numbers can be ordered"));
        assert!(run("missing = 1", &[]).unwrap_err().contains("`missing` has no value"));
    }

    #[test]
    fn errors_give_the_column() {
        let err = Expr::parse("vm.swappiness = = 0").unwrap_err();
        assert!(err.contains("column 17"), "{err}");
        assert!(Expr::parse("cpu > 80 &&").unwrap_err().contains("column 12"));
        let err = Expr::parse("(a = 1").unwrap_err();
        assert!(err.contains("does not parse at column"), "{err}");
        assert!(Expr::parse("a = \"open").is_err());
        assert!(Expr::parse("").is_err());
        assert!(Expr::parse("kubelet").unwrap_err().contains("expected a comparison"));
    }

    #[test]
    fn names_and_observations_name_what_was_read() {
        let e = Expr::parse("(kubelet == \"active\") && containerd = active").unwrap();
        assert_eq!(e.names(), ["kubelet", "containerd"]);
        let got = Expr::parse("vm.swappiness = 0").unwrap().evaluate(&|_| Some("60".into())).unwrap();
        assert!(!got.holds);
        assert_eq!(got.observed[0].to_string(), "vm.swappiness is 60 (expected = 0)");
    }
}
