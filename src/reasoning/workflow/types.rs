//! Workflow, property and report types (the JSON shapes seen from JS).

use serde::{Deserialize, Serialize};

use crate::reasoning::policy::DecisionKind;

/// A multi-step plan: a DAG of steps linked by `dependsOn`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// Workflow id (used as the default Cedar resource id of its steps).
    pub id: String,
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// The steps, in any order.
    pub steps: Vec<WorkflowStep>,
}

/// One step: an agent performing an action after its dependencies.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStep {
    /// Unique step id.
    pub id: String,
    /// The agent that performs the step (Cedar principal id).
    pub agent_id: String,
    /// The action name (Cedar action id).
    pub action: String,
    /// Parameters of the call (`context.params` in Cedar).
    #[serde(default)]
    pub inputs: serde_json::Value,
    /// Ids of steps that must finish before this one.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Resource of the call: a bare id or `Type::"id"` (default: the workflow id).
    #[serde(default)]
    pub resource: Option<String>,
    /// Membership in a group of mutually exclusive alternatives.
    #[serde(default)]
    pub branch: Option<Branch>,
}

/// Steps sharing a `group` with different `option`s are alternatives: on any execution path
/// exactly one option of each group is chosen, and steps of the other options do not run.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Branch {
    /// The decision point, e.g. `review`.
    pub group: String,
    /// This step's alternative, e.g. `manual`.
    pub option: String,
}

/// Which steps a property talks about.
///
/// `{"step": "id"}` selects one step by id, `{"action": "name"}` every step with that action,
/// and a plain string selects the step with that id if one exists, else every step with that
/// action name.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Selector {
    /// One step by id.
    Step {
        /// Which step of the workflow was checked.
        step: String,
    },
    /// All steps performing an action.
    Action {
        /// The action name.
        action: String,
    },
    /// A step id, or else an action name.
    Name(String),
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Step { step } => write!(f, "step \"{step}\""),
            Selector::Action { action } => write!(f, "action \"{action}\""),
            Selector::Name(name) => write!(f, "\"{name}\""),
        }
    }
}

/// A property every execution path must satisfy.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Property {
    /// On every path where `after` runs, some `before` step ran earlier.
    Precedes {
        /// What must come first.
        before: Selector,
        /// What needs it.
        after: Selector,
    },
    /// No `then` step may run after a `first` step on any path.
    NeverAfter {
        /// The step/action that closes the door, e.g. `close`.
        first: Selector,
        /// What must not follow it, e.g. `write`.
        then: Selector,
    },
    /// At most `count` steps matching `action` run on any path.
    AtMost {
        /// Which steps are counted.
        action: Selector,
        /// The maximum.
        count: usize,
    },
    /// The dependency graph has no cycle (always checked).
    NoCycles,
    /// Every step runs on at least one path (always checked).
    AllReachable,
}

/// What kind of failure a [`Violation`] is.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ViolationKind {
    /// An execution order exists that breaks the property (the counterexample).
    #[default]
    Violated,
    /// A selector of the property matches no step of the workflow: the property would hold
    /// vacuously, which is never taken as a pass (often a misspelt action or step id).
    Absent,
    /// A step the policies deny (`{"type": "policy"}`).
    Denied,
}

/// A property that fails, with an execution order showing it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The property JSON (`{"type": "policy", "step": ...}` for a denied step).
    pub property: serde_json::Value,
    /// Counterexample, absent selector or policy denial.
    #[serde(default)]
    pub kind: ViolationKind,
    /// What goes wrong, naming steps and the branch choice.
    pub message: String,
    /// Step ids in a valid execution order that exhibits the violation (for `noCycles` the
    /// cycle, for `allReachable` the unreachable steps).
    pub counterexample: Vec<String>,
}

/// The policy decision for one step.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepCheck {
    /// The step id.
    pub step_id: String,
    /// Allow or deny.
    pub decision: DecisionKind,
    /// The policies that determined the decision.
    pub determining_policies: Vec<crate::reasoning::PolicyRef>,
    /// Human reasons from the policy engine.
    pub reasons: Vec<String>,
    /// The `priorSteps` the step was checked with (actions guaranteed to have run before it).
    pub prior_steps: Vec<String>,
}

/// The outcome of verifying a workflow.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowReport {
    /// True when no property is violated and every checked step is allowed.
    pub ok: bool,
    /// Violated properties.
    pub violations: Vec<Violation>,
    /// Per-step policy decisions (empty without an engine or without loaded policies).
    pub step_checks: Vec<StepCheck>,
    /// Non-fatal remarks, e.g. a property selector that matches no step.
    pub warnings: Vec<String>,
    /// Number of branch-choice combinations examined.
    pub paths_checked: usize,
}
