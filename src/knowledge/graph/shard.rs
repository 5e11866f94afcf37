//! How nodes and edges are stored: shards of nodes with their adjacency lists (a hash index
//! over the adjacency of busy nodes), the name interners, and taking two shard locks in order.

use super::*;
/// Direction of an adjacency entry, seen from the node that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Dir {
    /// This node is the source.
    Out = 0,
    /// This node is the target.
    In = 1,
    /// Symmetric (co-occurrence).
    Both = 2,
}

impl Dir {
    /// The direction stored as `dir as u8`.
    pub(crate) fn from_u8(v: u8) -> Option<Dir> {
        match v {
            0 => Some(Dir::Out),
            1 => Some(Dir::In),
            2 => Some(Dir::Both),
            _ => None,
        }
    }

    pub(super) fn reverse(self) -> Dir {
        match self {
            Dir::Out => Dir::In,
            Dir::In => Dir::Out,
            Dir::Both => Dir::Both,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Dir::Out => "out",
            Dir::In => "in",
            Dir::Both => "both",
        }
    }
}

/// One adjacency entry (24 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Adj {
    pub other: u32,
    pub rel: u16,
    pub dir: Dir,
    pub weight: f32,
    pub count: u32,
    pub updated_ms: i64,
}

/// How an edge update changes the edge.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EdgeOp {
    /// One more observation at this time (decay, then +1).
    Observe(i64),
    /// Exact persisted values.
    Restore {
        weight: f32,
        count: u32,
        updated_ms: i64,
    },
}

/// (other node, relation, direction) → position in a node's adjacency list.
pub(crate) type AdjIndex = FastMap<(u32, u16, u8), u32>;

/// Adjacency lists longer than this get a hash index.
pub(crate) const ADJ_INDEX_THRESHOLD: usize = 16;

pub(crate) struct Node {
    pub id: Arc<str>,
    pub name: Box<str>,
    pub ty: u16,
    pub mentions: u32,
    pub first_seen: i64,
    pub last_seen: i64,
    pub adj: Vec<Adj>,
    pub(crate) adj_index: Option<Box<AdjIndex>>,
}

impl Node {
    pub(crate) fn find_adj(&self, other: u32, rel: u16, dir: Dir) -> Option<usize> {
        match &self.adj_index {
            Some(index) => index.get(&(other, rel, dir as u8)).map(|&i| i as usize),
            None => self
                .adj
                .iter()
                .position(|a| a.other == other && a.rel == rel && a.dir == dir),
        }
    }

    pub(super) fn push_adj(&mut self, adj: Adj) {
        let pos = self.adj.len() as u32;
        self.adj.push(adj);
        if let Some(index) = &mut self.adj_index {
            index.insert((adj.other, adj.rel, adj.dir as u8), pos);
        } else if self.adj.len() > ADJ_INDEX_THRESHOLD {
            let index = self
                .adj
                .iter()
                .enumerate()
                .map(|(i, a)| ((a.other, a.rel, a.dir as u8), i as u32))
                .collect();
            self.adj_index = Some(Box::new(index));
        }
    }
}

#[derive(Default)]
pub(crate) struct Shard {
    pub by_key: FastMap<Arc<str>, u32>,
    pub nodes: Vec<Node>,
    pub dirty_nodes: FastSet<u32>,
    /// (holder local index, other global id, relation, direction at the holder).
    pub dirty_edges: FastSet<(u32, u32, u16, u8)>,
}

/// A small string ↔ u16 interner (entity types, relation names).
#[derive(Default)]
pub(crate) struct Interner {
    pub names: Vec<Arc<str>>,
    pub index: FastMap<Arc<str>, u16>,
    /// For the type interner: the parsed type of each name.
    pub types: Vec<EntityType>,
}

impl Interner {
    pub(super) fn get(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }

    /// Every interned name as an owned string, indexed by its number (read once before a
    /// walk over the shards, so no interner lock is held while shard locks are taken).
    pub(crate) fn name_strings(&self) -> Vec<String> {
        self.names.iter().map(|n| n.to_string()).collect()
    }
}

/// Locks two different shards in index order (deadlock-free); returns them as (a, b).
pub(super) fn lock_two(
    shards: &[RwLock<Shard>],
    a: usize,
    b: usize,
) -> (RwLockWriteGuard<'_, Shard>, RwLockWriteGuard<'_, Shard>) {
    if a < b {
        let ga = shards[a].write();
        let gb = shards[b].write();
        (ga, gb)
    } else {
        let gb = shards[b].write();
        let ga = shards[a].write();
        (ga, gb)
    }
}

pub(super) fn intern_locked(w: &mut Interner, name: &str, what: &str) -> Result<u16> {
    let Ok(i) = u16::try_from(w.names.len()) else {
        return err(
            ErrorCode::InvalidInput,
            format!("too many distinct {what} (at most 65,536)"),
        );
    };
    let name: Arc<str> = name.into();
    w.names.push(name.clone());
    w.index.insert(name, i);
    Ok(i)
}
