//! Checking temporal properties on the per-path ancestor sets.
//!
//! * `precedes(A, B)` fails on a path iff some running B step has no A step among its
//!   ancestors; the counterexample runs B's ancestors, then B, then the rest.
//! * `neverAfter(C, W)` fails iff some running W step is not an ancestor of some running C
//!   step; the counterexample runs C's ancestors, then C, then the rest (W among them).
//! * `atMost(X, n)` fails iff more than n X steps run on a path.
//!
//! Each check is exact for the execution model of [`super::paths`], and costs
//! O(paths × steps²) bit operations at worst.

use serde_json::Value;

use super::graph::BitSet;
use super::paths::PathView;
use super::types::{Property, Selector, Violation, ViolationKind, Workflow};

/// Everything the property checks need about a workflow.
pub(crate) struct Context<'a> {
    pub(crate) wf: &'a Workflow,
    pub(crate) topo: &'a [usize],
    pub(crate) paths: &'a [PathView],
    /// Registered action names (for "did you mean" on absent selectors).
    pub(crate) known_actions: &'a [String],
}

impl Context<'_> {
    fn ids(&self, order: &[usize]) -> Vec<String> {
        order.iter().map(|&s| self.wf.steps[s].id.clone()).collect()
    }

    fn name(&self, s: usize) -> String {
        let step = &self.wf.steps[s];
        format!("step \"{}\" ({})", step.id, step.action)
    }

    /// Steps matched by a selector, or the `absent` violation of `property` when nothing
    /// matches (a property over no step would hold vacuously).
    fn select(&self, selector: &Selector, property: &Value) -> Result<BitSet, Box<Violation>> {
        let steps = &self.wf.steps;
        let mut set = BitSet::new(steps.len());
        let mut any = false;
        let by_id = |id: &str| steps.iter().position(|s| s.id == id);
        let mut add = |i: usize| {
            set.insert(i);
            any = true;
        };
        match selector {
            Selector::Step { step } => {
                if let Some(i) = by_id(step) {
                    add(i);
                }
            }
            Selector::Action { action } => {
                for (i, s) in steps.iter().enumerate() {
                    if &s.action == action {
                        add(i);
                    }
                }
            }
            Selector::Name(name) => match by_id(name) {
                Some(i) => add(i),
                None => {
                    for (i, s) in steps.iter().enumerate() {
                        if &s.action == name {
                            add(i);
                        }
                    }
                }
            },
        }
        if any {
            return Ok(set);
        }
        let wanted = match selector {
            Selector::Step { step } => step,
            Selector::Action { action } => action,
            Selector::Name(name) => name,
        };
        let mut names: Vec<&str> = steps
            .iter()
            .flat_map(|s| [s.id.as_str(), s.action.as_str()])
            .chain(self.known_actions.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        let hint = crate::text::closest(wanted, &names)
            .map(|n| format!("; did you mean \"{n}\"?"))
            .unwrap_or_default();
        Err(Box::new(Violation {
            property: property.clone(),
            kind: ViolationKind::Absent,
            message: format!(
                "{selector} matches no step id or action of workflow \"{}\", so the property \
                 would hold vacuously{hint}",
                self.wf.id
            ),
            counterexample: Vec::new(),
        }))
    }

    /// Checks one property (not `noCycles`/`allReachable`, which the caller handles).
    pub(crate) fn check(&self, property: &Property) -> Option<Violation> {
        let json = serde_json::to_value(property).unwrap_or(Value::Null);
        let run = || -> Result<Option<Violation>, Box<Violation>> {
            Ok(match property {
                Property::Precedes { before, after } => {
                    let a = self.select(before, &json)?;
                    let b = self.select(after, &json)?;
                    self.precedes(&a, &b, before, json.clone())
                }
                Property::NeverAfter { first, then } => {
                    let c = self.select(first, &json)?;
                    let w = self.select(then, &json)?;
                    self.never_after(&c, &w, json.clone())
                }
                Property::AtMost { action, count } => {
                    let x = self.select(action, &json)?;
                    self.at_most(&x, *count, action, json.clone())
                }
                Property::NoCycles | Property::AllReachable => None,
            })
        };
        run().unwrap_or_else(|absent| Some(*absent))
    }

    fn precedes(
        &self,
        a: &BitSet,
        b: &BitSet,
        before: &Selector,
        json: Value,
    ) -> Option<Violation> {
        for path in self.paths {
            for &s in self.topo {
                if !path.active[s] || !b.contains(s) || path.ancestors[s].intersects(a) {
                    continue;
                }
                let order = path.order_with_first(self.topo, s);
                return Some(Violation {
                    property: json,
                    kind: ViolationKind::Violated,
                    message: format!(
                        "{} can run before any {before} step {}",
                        self.name(s),
                        path.describe()
                    ),
                    counterexample: self.ids(&order),
                });
            }
        }
        None
    }

    fn never_after(&self, c: &BitSet, w: &BitSet, json: Value) -> Option<Violation> {
        for path in self.paths {
            for &closer in self.topo {
                if !path.active[closer] || !c.contains(closer) {
                    continue;
                }
                let later = self.topo.iter().copied().find(|&x| {
                    x != closer
                        && path.active[x]
                        && w.contains(x)
                        && !path.ancestors[closer].contains(x)
                });
                if let Some(later) = later {
                    let order = path.order_with_first(self.topo, closer);
                    return Some(Violation {
                        property: json,
                        kind: ViolationKind::Violated,
                        message: format!(
                            "{} can run after {} {}",
                            self.name(later),
                            self.name(closer),
                            path.describe()
                        ),
                        counterexample: self.ids(&order),
                    });
                }
            }
        }
        None
    }

    fn at_most(
        &self,
        x: &BitSet,
        count: usize,
        action: &Selector,
        json: Value,
    ) -> Option<Violation> {
        for path in self.paths {
            let running: Vec<usize> = self
                .topo
                .iter()
                .copied()
                .filter(|&s| path.active[s] && x.contains(s))
                .collect();
            if running.len() > count {
                return Some(Violation {
                    property: json,
                    kind: ViolationKind::Violated,
                    message: format!(
                        "{} steps matching {action} run {} (steps {}), at most {count} allowed",
                        running.len(),
                        path.describe(),
                        self.ids(&running).join(", ")
                    ),
                    counterexample: self.ids(&path.order(self.topo)),
                });
            }
        }
        None
    }

    /// Steps that run on no path.
    pub(crate) fn unreachable(&self) -> Vec<usize> {
        (0..self.wf.steps.len())
            .filter(|&s| !self.paths.iter().any(|p| p.active[s]))
            .collect()
    }
}
