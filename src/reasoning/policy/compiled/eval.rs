//! Evaluating a compiled condition against one request, with Cedar's semantics: operands are
//! evaluated left to right, `&&`, `||` and `if` short-circuit, and every case in which Cedar's
//! evaluator reports an error (a type error, a missing attribute or entity, an overflow) is a
//! [`Fault::Error`] here. The evaluator does not try to reproduce Cedar's error *messages*:
//! an error hands the request to the interpreter, which decides it with its own words (and
//! the engine fails closed on them), so only error-free answers come from this file.

use std::rc::Rc;

use serde_json::{Map, Value as Json};

use super::compile::{CompiledPolicy, DecimalOp, Node, Op};
use super::entity_table::EntityTable;
use super::value::{data_field, intersects, parse_decimal, subset, Fault, Val, NOT_LOOKED_UP};

/// One request, as the compiled evaluator reads it.
pub(crate) struct Input<'a> {
    /// `(type, id, number in the entity table)`, the type as Cedar displays it (see
    /// [`Input::new`]).
    pub(crate) principal: (&'a str, &'a str, u32),
    pub(crate) action: (&'a str, &'a str, u32),
    pub(crate) resource: (&'a str, &'a str, u32),
    /// The context record (plain JSON: see [`Val::of_json`]).
    pub(crate) context: &'a Map<String, Json>,
    pub(crate) entities: &'a EntityTable,
}

impl<'a> Input<'a> {
    /// The request's principal, action and resource (`(type, id)`), looked up in the entity
    /// table once for all the policies that read them.
    pub(crate) fn new(
        principal: (&'a str, &'a str),
        action: (&'a str, &'a str),
        resource: (&'a str, &'a str),
        context: &'a Map<String, Json>,
        entities: &'a EntityTable,
    ) -> Input<'a> {
        let number = |(ty, id): (&str, &str)| entities.resolve(ty, id, NOT_LOOKED_UP);
        Input {
            principal: (principal.0, principal.1, number(principal)),
            action: (action.0, action.1, number(action)),
            resource: (resource.0, resource.1, number(resource)),
            context,
            entities,
        }
    }
}

/// Whether the policy's condition holds for the request (Cedar: a policy whose condition is
/// not a boolean is an error).
pub(crate) fn satisfied(policy: &CompiledPolicy, input: &Input<'_>) -> Result<bool, Fault> {
    match eval(&policy.condition, input)? {
        Val::Bool(b) => Ok(b),
        _ => Err(Fault::Error),
    }
}

fn boolean(node: &Node, input: &Input<'_>) -> Result<bool, Fault> {
    match eval(node, input)? {
        Val::Bool(b) => Ok(b),
        _ => Err(Fault::Error),
    }
}

fn eval<'a>(node: &'a Node, input: &Input<'a>) -> Result<Val<'a>, Fault> {
    Ok(match node {
        Node::Const(data) => Val::of_data(data)?,
        Node::Principal => Val::Entity(input.principal.0, input.principal.1, input.principal.2),
        Node::Action => Val::Entity(input.action.0, input.action.1, input.action.2),
        Node::Resource => Val::Entity(input.resource.0, input.resource.1, input.resource.2),
        Node::Context => Val::JsonRecord(input.context),
        Node::If(test, then, otherwise) => {
            if boolean(test, input)? {
                eval(then, input)?
            } else {
                eval(otherwise, input)?
            }
        }
        Node::And(left, right) => Val::Bool(boolean(left, input)? && boolean(right, input)?),
        Node::Or(left, right) => Val::Bool(boolean(left, input)? || boolean(right, input)?),
        Node::Not(arg) => Val::Bool(!boolean(arg, input)?),
        Node::Neg(arg) => match eval(arg, input)? {
            Val::Long(i) => Val::Long(i.checked_neg().ok_or(Fault::Error)?),
            _ => return Err(Fault::Error),
        },
        Node::IsEmpty(arg) => Val::Bool(eval(arg, input)?.set_is_empty().ok_or(Fault::Error)?),
        Node::Binary(op, left, right) => {
            let a = eval(left, input)?;
            let b = eval(right, input)?;
            binary(*op, a, b, input.entities)?
        }
        Node::GetAttr(expr, attr) => get_attr(eval(expr, input)?, attr, input.entities)?,
        Node::HasAttr(expr, attr) => Val::Bool(has_attr(&eval(expr, input)?, attr, input)?),
        Node::HasPath(expr, attrs) => {
            let mut current = eval(expr, input)?;
            let (last, init) = attrs.split_last().ok_or(Fault::Error)?;
            for attr in init {
                if !has_attr(&current, attr, input)? {
                    return Ok(Val::Bool(false));
                }
                current = get_attr(current, attr, input.entities)?;
            }
            Val::Bool(has_attr(&current, last, input)?)
        }
        Node::Like(expr, glob) => match eval(expr, input)? {
            Val::Str(s) => Val::Bool(glob.matches(s)),
            _ => return Err(Fault::Error),
        },
        Node::Is(expr, ty) => match eval(expr, input)? {
            Val::Entity(t, _, _) => Val::Bool(t == &**ty),
            _ => return Err(Fault::Error),
        },
        Node::Set(items) => Val::Set(Rc::new(
            items
                .iter()
                .map(|item| eval(item, input))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Node::Decimal(arg) => match eval(arg, input)? {
            Val::Str(text) => Val::Decimal(parse_decimal(text).ok_or(Fault::Error)?),
            _ => return Err(Fault::Error),
        },
        Node::DecimalCompare(op, left, right) => {
            let (Val::Decimal(a), Val::Decimal(b)) = (eval(left, input)?, eval(right, input)?)
            else {
                return Err(Fault::Error);
            };
            Val::Bool(match op {
                DecimalOp::LessThan => a < b,
                DecimalOp::LessThanOrEqual => a <= b,
                DecimalOp::GreaterThan => a > b,
                DecimalOp::GreaterThanOrEqual => a >= b,
            })
        }
        Node::Record(fields) => Val::Record(Rc::new(
            fields
                .iter()
                .map(|(k, v)| Ok((&**k, eval(v, input)?)))
                .collect::<Result<Vec<_>, Fault>>()?,
        )),
    })
}

/// `value.attr`: a record's field or an existing entity's attribute; anything else (a
/// missing field, an entity that does not exist, a value of another kind) is an error.
fn get_attr<'a>(value: Val<'a>, attr: &str, entities: &'a EntityTable) -> Result<Val<'a>, Fault> {
    match value {
        Val::Entity(ty, id, n) => {
            let attrs = entities.attrs(ty, id, n).ok_or(Fault::Error)?;
            Val::of_data(data_field(attrs, attr).ok_or(Fault::Error)?)
        }
        record => record.field(attr).ok_or(Fault::Error)?,
    }
}

/// `value has attr`: false for an entity that does not exist; an error for a value that is
/// neither a record nor an entity.
fn has_attr(value: &Val<'_>, attr: &str, input: &Input<'_>) -> Result<bool, Fault> {
    match value {
        Val::Entity(ty, id, n) => Ok(input
            .entities
            .attrs(ty, id, *n)
            .is_some_and(|attrs| data_field(attrs, attr).is_some())),
        record => record.has_field(attr).ok_or(Fault::Error),
    }
}

fn binary<'a>(op: Op, a: Val<'a>, b: Val<'a>, entities: &EntityTable) -> Result<Val<'a>, Fault> {
    let long = |a: &Val<'_>, b: &Val<'_>| match (a, b) {
        (Val::Long(x), Val::Long(y)) => Ok((*x, *y)),
        _ => Err(Fault::Error),
    };
    Ok(match op {
        Op::Eq => Val::Bool(a.equals(&b)?),
        Op::Less => {
            let (x, y) = long(&a, &b)?;
            Val::Bool(x < y)
        }
        Op::LessEq => {
            let (x, y) = long(&a, &b)?;
            Val::Bool(x <= y)
        }
        Op::Add => {
            let (x, y) = long(&a, &b)?;
            Val::Long(x.checked_add(y).ok_or(Fault::Error)?)
        }
        Op::Sub => {
            let (x, y) = long(&a, &b)?;
            Val::Long(x.checked_sub(y).ok_or(Fault::Error)?)
        }
        Op::Mul => {
            let (x, y) = long(&a, &b)?;
            Val::Long(x.checked_mul(y).ok_or(Fault::Error)?)
        }
        Op::In => {
            let Val::Entity(ty, id, n) = a else {
                return Err(Fault::Error);
            };
            match &b {
                Val::Entity(bt, bi, bn) => Val::Bool(entities.is_in((ty, id, n), (bt, bi, *bn))),
                set if set.is_set() => {
                    // Cedar checks that every element is an entity before looking at any.
                    let mut groups = Vec::new();
                    for element in set.elements().ok_or(Fault::Error)? {
                        match element? {
                            Val::Entity(gt, gi, gn) => groups.push((gt, gi, gn)),
                            _ => return Err(Fault::Error),
                        }
                    }
                    Val::Bool(groups.into_iter().any(|g| entities.is_in((ty, id, n), g)))
                }
                _ => return Err(Fault::Error),
            }
        }
        Op::Contains => {
            if !a.is_set() {
                return Err(Fault::Error);
            }
            Val::Bool(a.set_contains(&b)?)
        }
        Op::ContainsAll => {
            if !a.is_set() || !b.is_set() {
                return Err(Fault::Error);
            }
            Val::Bool(subset(&b, &a)?)
        }
        Op::ContainsAny => {
            if !a.is_set() || !b.is_set() {
                return Err(Fault::Error);
            }
            Val::Bool(intersects(&b, &a)?)
        }
    })
}
