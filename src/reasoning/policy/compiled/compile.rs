//! Turning a policy into an expression tree the evaluator runs.
//!
//! The input is Cedar's own AST of the policy's whole condition (`Policy::condition()`: the
//! scope constraints, the `when` clauses and the negated `unless` clauses, conjoined by `&&`),
//! so scope and conditions share one evaluator and Cedar's short-circuit order. Constant
//! parts are folded into [`Data`] (a set of literals is one borrowed slice at run time),
//! `like` patterns are split at their wildcards. Anything outside the supported subset
//! (extension functions other than `decimal` and its comparisons, entity tags, template
//! slots, unknowns) makes the whole policy interpreted, with the construct named in the
//! report.

use cedar_policy_core::ast::{self, BinaryOp, ExprKind, PatternElem, UnaryOp, Var};

use super::entity_table::literal_data;
use super::value::{parse_decimal, Data, Glob};

/// A compiled expression.
#[derive(Debug)]
pub(crate) enum Node {
    Const(Data),
    Principal,
    Action,
    Resource,
    Context,
    If(Box<Node>, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    IsEmpty(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
    GetAttr(Box<Node>, Box<str>),
    HasAttr(Box<Node>, Box<str>),
    /// `e has a.b.c`.
    HasPath(Box<Node>, Vec<Box<str>>),
    Like(Box<Node>, Glob),
    /// `e is Type` (the type as Cedar displays it).
    Is(Box<Node>, Box<str>),
    Set(Vec<Node>),
    /// Sorted by key.
    Record(Vec<(Box<str>, Node)>),
    /// `decimal(e)` on a string that is not a constant (a constant one is folded).
    Decimal(Box<Node>),
    /// `a.lessThan(b)` and its siblings on decimals.
    DecimalCompare(DecimalOp, Box<Node>, Box<Node>),
}

/// The comparison methods of Cedar's `decimal` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalOp {
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
}

/// The binary operators the evaluator implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Less,
    LessEq,
    Add,
    Sub,
    Mul,
    In,
    Contains,
    ContainsAll,
    ContainsAny,
}

/// A compiled policy.
#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    pub(crate) id: String,
    pub(crate) permit: bool,
    pub(crate) condition: Node,
}

/// Compiles a policy, or says which construct keeps it on Cedar's interpreter.
pub(crate) fn compile_policy(id: &str, policy: &ast::Policy) -> Result<CompiledPolicy, String> {
    if !policy.is_static() {
        return Err("a template-linked policy".into());
    }
    let condition = compile(&policy.condition())?;
    Ok(CompiledPolicy {
        id: id.to_string(),
        permit: policy.effect() == ast::Effect::Permit,
        condition,
    })
}

fn boxed(e: &ast::Expr) -> Result<Box<Node>, String> {
    compile(e).map(Box::new)
}

fn compile(e: &ast::Expr) -> Result<Node, String> {
    Ok(match e.expr_kind() {
        ExprKind::Lit(lit) => Node::Const(literal_data(lit)),
        ExprKind::Var(Var::Principal) => Node::Principal,
        ExprKind::Var(Var::Action) => Node::Action,
        ExprKind::Var(Var::Resource) => Node::Resource,
        ExprKind::Var(Var::Context) => Node::Context,
        ExprKind::Slot(_) => return Err("a template slot".into()),
        ExprKind::Unknown(_) => return Err("an unknown (partial evaluation)".into()),
        ExprKind::If {
            test_expr,
            then_expr,
            else_expr,
        } => Node::If(boxed(test_expr)?, boxed(then_expr)?, boxed(else_expr)?),
        ExprKind::And { left, right } => Node::And(boxed(left)?, boxed(right)?),
        ExprKind::Or { left, right } => Node::Or(boxed(left)?, boxed(right)?),
        ExprKind::UnaryApp { op, arg } => match op {
            UnaryOp::Not => Node::Not(boxed(arg)?),
            UnaryOp::Neg => Node::Neg(boxed(arg)?),
            UnaryOp::IsEmpty => Node::IsEmpty(boxed(arg)?),
        },
        ExprKind::BinaryApp { op, arg1, arg2 } => {
            let op = match op {
                BinaryOp::Eq => Op::Eq,
                BinaryOp::Less => Op::Less,
                BinaryOp::LessEq => Op::LessEq,
                BinaryOp::Add => Op::Add,
                BinaryOp::Sub => Op::Sub,
                BinaryOp::Mul => Op::Mul,
                BinaryOp::In => Op::In,
                BinaryOp::Contains => Op::Contains,
                BinaryOp::ContainsAll => Op::ContainsAll,
                BinaryOp::ContainsAny => Op::ContainsAny,
                BinaryOp::GetTag => return Err("entity tags (getTag)".into()),
                BinaryOp::HasTag => return Err("entity tags (hasTag)".into()),
            };
            Node::Binary(op, boxed(arg1)?, boxed(arg2)?)
        }
        ExprKind::ExtensionFunctionApp { fn_name, args } => {
            let name = fn_name.to_string();
            let op = match name.as_str() {
                "lessThan" => Some(DecimalOp::LessThan),
                "lessThanOrEqual" => Some(DecimalOp::LessThanOrEqual),
                "greaterThan" => Some(DecimalOp::GreaterThan),
                "greaterThanOrEqual" => Some(DecimalOp::GreaterThanOrEqual),
                _ => None,
            };
            match (name.as_str(), op, args.as_slice()) {
                ("decimal", _, [arg]) => match compile(arg)? {
                    // A valid constant is folded; an invalid one errors when evaluated.
                    Node::Const(Data::Str(text)) if parse_decimal(&text).is_some() => {
                        Node::Const(Data::Decimal(parse_decimal(&text).unwrap_or_default()))
                    }
                    other => Node::Decimal(Box::new(other)),
                },
                (_, Some(op), [a, b]) => Node::DecimalCompare(op, boxed(a)?, boxed(b)?),
                _ => return Err(format!("the extension function {fn_name}")),
            }
        }
        ExprKind::GetAttr { expr, attr } => Node::GetAttr(boxed(expr)?, Box::from(attr.as_str())),
        ExprKind::HasAttr { expr, attr } => Node::HasAttr(boxed(expr)?, Box::from(attr.as_str())),
        ExprKind::ExtHasAttr { expr, attrs } => Node::HasPath(
            boxed(expr)?,
            attrs.iter().map(|a| Box::from(a.as_str())).collect(),
        ),
        ExprKind::Like { expr, pattern } => Node::Like(
            boxed(expr)?,
            Glob::new(pattern.iter().map(|p| match p {
                PatternElem::Char(c) => Some(*c),
                PatternElem::Wildcard => None,
            })),
        ),
        ExprKind::Is { expr, entity_type } => {
            Node::Is(boxed(expr)?, entity_type.to_string().into_boxed_str())
        }
        ExprKind::Set(items) => {
            let nodes = items.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
            if nodes.iter().all(|n| matches!(n, Node::Const(_))) {
                Node::Const(Data::Set(
                    nodes
                        .into_iter()
                        .filter_map(|n| match n {
                            Node::Const(d) => Some(d),
                            _ => None,
                        })
                        .collect(),
                ))
            } else {
                Node::Set(nodes)
            }
        }
        ExprKind::Record(fields) => {
            // A BTreeMap iterates in key order.
            let nodes = fields
                .iter()
                .map(|(k, v)| Ok((Box::from(k.as_str()), compile(v)?)))
                .collect::<Result<Vec<_>, String>>()?;
            if nodes.iter().all(|(_, n)| matches!(n, Node::Const(_))) {
                Node::Const(Data::Record(
                    nodes
                        .into_iter()
                        .filter_map(|(k, n)| match n {
                            Node::Const(d) => Some((k, d)),
                            _ => None,
                        })
                        .collect(),
                ))
            } else {
                Node::Record(nodes)
            }
        }
        #[allow(unreachable_patterns)]
        _ => return Err("an expression this version does not compile".into()),
    })
}
