//! The loaded entities as the compiled evaluator reads them: per entity, its attributes as
//! [`Data`] and its ancestors (Cedar's transitive closure, computed when the entities were
//! parsed) as a set of small integers, built once per `set_entities`/`load`.
//!
//! Every uid that occurs (as an entity or only as someone's parent) gets a number, so
//! `principal in Group::"g"` is two hash lookups of short strings and a set probe.

use cedar_policy_core::ast::{self, Literal, PartialValue, ValueKind};

use super::value::{Data, Uid, NOT_IN_TABLE, NOT_LOOKED_UP};
use crate::fast_hash::{FastMap, FastSet};

/// One uid of the table.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// `None` for a uid that is only named as a parent (it has no attributes: reading one is
    /// an error, `has` is false, as for an entity that does not exist).
    pub(crate) attrs: Option<Vec<(Box<str>, Data)>>,
    /// Numbers of all ancestors (direct and indirect).
    pub(crate) ancestors: FastSet<u32>,
}

/// The entity table of one snapshot.
#[derive(Debug, Default)]
pub(crate) struct EntityTable {
    /// type → id → number.
    numbers: FastMap<Box<str>, FastMap<Box<str>, u32>>,
    nodes: Vec<Node>,
}

impl EntityTable {
    /// Builds the table from Cedar's entities.
    pub(crate) fn new(entities: &cedar_policy::Entities) -> EntityTable {
        let core: &cedar_policy_core::entities::Entities = entities.as_ref();
        let mut table = EntityTable::default();
        for entity in core.iter() {
            let number = table.intern(entity.uid());
            let mut attrs: Vec<(Box<str>, Data)> = entity
                .attrs()
                .map(|(k, v)| (Box::from(k.as_str()), partial_data(v)))
                .collect();
            attrs.sort_by(|a, b| a.0.cmp(&b.0));
            let ancestors: FastSet<u32> = entity.ancestors().map(|uid| table.intern(uid)).collect();
            let node = &mut table.nodes[number as usize];
            node.attrs = Some(attrs);
            node.ancestors = ancestors;
        }
        table
    }

    fn intern(&mut self, uid: &ast::EntityUID) -> u32 {
        let ty = uid.entity_type().to_string();
        let id: &str = uid.eid().as_ref();
        if let Some(n) = self.number(&ty, id) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(Node::default());
        self.numbers
            .entry(ty.into_boxed_str())
            .or_default()
            .insert(Box::from(id), n);
        n
    }

    /// The number of a uid, when the table knows it.
    pub(crate) fn number(&self, ty: &str, id: &str) -> Option<u32> {
        self.numbers.get(ty)?.get(id).copied()
    }

    /// The number of a uid, or [`NOT_IN_TABLE`]; `known` is a number already looked up (or
    /// [`NOT_LOOKED_UP`]).
    pub(crate) fn resolve(&self, ty: &str, id: &str, known: u32) -> u32 {
        if known != NOT_LOOKED_UP {
            return known;
        }
        self.number(ty, id).unwrap_or(NOT_IN_TABLE)
    }

    /// The attributes of an existing entity (`None`: no such entity).
    pub(crate) fn attrs(&self, ty: &str, id: &str, known: u32) -> Option<&[(Box<str>, Data)]> {
        let n = self.resolve(ty, id, known);
        self.nodes.get(n as usize)?.attrs.as_deref()
    }

    /// Cedar's `a in b` for entity uids: equal, or `b` is an ancestor of an existing `a`.
    pub(crate) fn is_in(&self, a: (&str, &str, u32), b: (&str, &str, u32)) -> bool {
        if a.1 == b.1 && a.0 == b.0 {
            return true;
        }
        let na = self.resolve(a.0, a.1, a.2);
        let Some(node) = self.nodes.get(na as usize) else {
            return false;
        };
        if node.ancestors.is_empty() {
            return false;
        }
        let nb = self.resolve(b.0, b.1, b.2);
        nb != NOT_IN_TABLE && node.ancestors.contains(&nb)
    }
}

/// An attribute value as data (a residual is opaque).
fn partial_data(value: &PartialValue) -> Data {
    match value {
        PartialValue::Value(v) => value_data(v),
        PartialValue::Residual(_) => Data::Opaque,
    }
}

/// A Cedar value as data (extension values are opaque).
pub(crate) fn value_data(value: &ast::Value) -> Data {
    match value.value_kind() {
        ValueKind::Lit(lit) => literal_data(lit),
        ValueKind::Set(set) => Data::Set(set.iter().map(value_data).collect()),
        ValueKind::Record(fields) => Data::Record(
            // A BTreeMap iterates in key order.
            fields
                .iter()
                .map(|(k, v)| (Box::from(k.as_str()), value_data(v)))
                .collect(),
        ),
        ValueKind::ExtensionValue(_) => Data::Opaque,
    }
}

/// A literal as data.
pub(crate) fn literal_data(lit: &Literal) -> Data {
    match lit {
        Literal::Bool(b) => Data::Bool(*b),
        Literal::Long(i) => Data::Long(*i),
        Literal::String(s) => Data::Str(Box::from(s.as_str())),
        Literal::EntityUID(uid) => Data::Entity(uid_of(uid)),
    }
}

/// A Cedar uid as ours.
pub(crate) fn uid_of(uid: &ast::EntityUID) -> Uid {
    Uid {
        ty: uid.entity_type().to_string().into_boxed_str(),
        id: Box::from(AsRef::<str>::as_ref(uid.eid())),
    }
}
