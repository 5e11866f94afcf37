//! The session ledger: what a session has done, as policies see it.
//!
//! A guardrail such as "pay only after approve" or "no payment after the account was closed"
//! is only as sound as the history it reads. The ledger therefore records every attempt of
//! the session, for its whole life, by what became of it:
//!
//! - **succeeded** (`priorSteps`): the action was allowed (or ran under observe mode),
//!   executed, and succeeded — the only kind of step that counts as "already ran";
//! - **denied** (`deniedSteps`): verification refused it and it did not run;
//! - **failed** (`failedSteps`): it ran (or was recorded as run) and failed, timed out or its
//!   handler threw.
//!
//! Each list holds distinct action names in the order of their first such outcome (Cedar reads
//! them as sets). `historyWindow` bounds only the step history a caller reads back, never the
//! ledger. The journal (`la_steps`) is the ledger's durable form: a session re-created after
//! `endSession` or a reopen is rebuilt from its journal rows (`Engine::create_session`).
//!
//! **Runs** (`context.runs.<action>`): per action, counts of successful runs over the whole
//! session and over named sliding windows (`countLastHour`, `countLastDay` by default), the
//! seconds since the last successful run, and running sums of named numeric parameters over
//! the same windows (`sumLastDay.amount`). Windows are kept as per-second buckets (coarser
//! for windows longer than a day, see [`RunsConfig::bucket_secs`]) with a running total per
//! window, so recording a run and reading the counts cost O(1) amortised, whatever the rate.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{err, ErrorCode, Result};

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Allowed (or observed), executed and succeeded.
    Succeeded,
    /// Refused by verification; did not run.
    Denied,
    /// Ran and failed (error, timeout, `success: false`).
    Failed,
}

/// `secondsSinceLast` of an action that never ran: large, so `secondsSinceLast < n` rules do
/// not fire, and small enough that adding to it cannot overflow a Cedar `Long`.
pub const NEVER_RAN_SECONDS: i64 = (1 << 53) - 1;

/// Most windows a configuration may name.
const MAX_WINDOWS: usize = 8;
/// Most parameters whose sums are kept.
const MAX_SUMS: usize = 16;
/// Longest window: 30 days.
const MAX_WINDOW_SECS: u64 = 30 * 86_400;
/// Buckets a window spans at most (one a second for a day).
const MAX_BUCKETS: u64 = 86_400;

/// Which windows and parameter sums `context.runs` carries (config key `runs`).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RunsConfig {
    /// Window name → length in seconds; `countLastHour`/`sumLastHour` for `LastHour`.
    #[cfg_attr(
        test,
        ts(as = "Option<std::collections::BTreeMap<String, u64>>", optional)
    )]
    pub windows: std::collections::BTreeMap<String, u64>,
    /// Top-level numeric parameters whose sums are kept per window (e.g. `["amount"]`).
    #[cfg_attr(test, ts(as = "Option<Vec<String>>", optional))]
    pub sum: Vec<String>,
}

impl Default for RunsConfig {
    fn default() -> Self {
        RunsConfig {
            windows: [
                ("LastHour".to_string(), 3600),
                ("LastDay".to_string(), 86_400),
            ]
            .into_iter()
            .collect(),
            sum: Vec::new(),
        }
    }
}

impl RunsConfig {
    /// Parses the `runs` config object (absent keys keep their defaults).
    pub fn from_json(v: &Value) -> Result<RunsConfig> {
        let cfg: RunsConfig = serde_json::from_value(v.clone()).map_err(|e| {
            crate::error::Error::new(
                ErrorCode::InvalidConfig,
                format!("runs: {e} (expected {{ windows?: {{ LastHour: 3600, ... }}, sum?: [\"amount\", ...] }})"),
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        if self.windows.len() > MAX_WINDOWS {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "runs.windows names {} windows; at most {MAX_WINDOWS}",
                    self.windows.len()
                ),
            );
        }
        for (name, secs) in &self.windows {
            let ok = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && name.chars().all(|c| c.is_ascii_alphanumeric());
            if !ok {
                return err(
                    ErrorCode::InvalidConfig,
                    format!("runs.windows: window name {name:?} must be like `LastHour` (a capital letter, then letters and digits)"),
                );
            }
            if *secs == 0 || *secs > MAX_WINDOW_SECS {
                return err(
                    ErrorCode::InvalidConfig,
                    format!(
                        "runs.windows.{name} must be 1..={MAX_WINDOW_SECS} seconds, got {secs}"
                    ),
                );
            }
        }
        if self.sum.len() > MAX_SUMS {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "runs.sum names {} parameters; at most {MAX_SUMS}",
                    self.sum.len()
                ),
            );
        }
        let mut seen = HashSet::new();
        for p in &self.sum {
            if p.is_empty() || p.len() > 64 || !seen.insert(p) {
                return err(
                    ErrorCode::InvalidConfig,
                    format!("runs.sum: {p:?} must be a distinct non-empty parameter name of at most 64 bytes"),
                );
            }
        }
        Ok(())
    }

    /// Bucket width: one second, coarser when the longest window spans more than a day of
    /// seconds (memory stays bounded by `MAX_BUCKETS` buckets per action).
    pub fn bucket_secs(&self) -> i64 {
        let longest = self.windows.values().copied().max().unwrap_or(1);
        longest.div_ceil(MAX_BUCKETS).max(1) as i64
    }
}

/// A second's (or bucket's) worth of successful runs of one action.
#[derive(Debug, Clone)]
struct Bucket {
    /// Bucket number: `at_seconds / bucket_secs`.
    slot: i64,
    count: u64,
    sums: Vec<i64>,
}

/// Running totals of one window over one action's buckets.
#[derive(Debug, Clone, Default)]
struct WindowTotal {
    /// Absolute index (see [`ActionRuns::dropped`]) of the oldest bucket inside the window.
    start: u64,
    count: u64,
    sums: Vec<i64>,
}

/// What one action did in a session.
#[derive(Debug, Clone, Default)]
struct ActionRuns {
    count: u64,
    denied: u64,
    failed: u64,
    last_ms: Option<i64>,
    buckets: VecDeque<Bucket>,
    /// Buckets dropped from the front so far (absolute index of `buckets[0]`).
    dropped: u64,
    windows: Vec<WindowTotal>,
}

/// The ledger of one session.
#[derive(Debug, Clone)]
pub struct Ledger {
    config: std::sync::Arc<RunsConfig>,
    /// Window lengths in buckets, in `config.windows` order.
    window_slots: Vec<i64>,
    bucket_secs: i64,
    /// Distinct names per outcome, in order of first occurrence, with a set for lookups.
    succeeded: Names,
    denied: Names,
    failed: Names,
    runs: HashMap<String, ActionRuns>,
    steps: u64,
}

/// Distinct action names in order of first occurrence.
#[derive(Debug, Clone, Default)]
struct Names {
    order: Vec<String>,
    set: HashSet<String>,
}

impl Names {
    fn add(&mut self, name: &str) {
        if !self.set.contains(name) {
            self.set.insert(name.to_string());
            self.order.push(name.to_string());
        }
    }
}

impl Ledger {
    /// An empty ledger keeping the windows and sums of `config`.
    pub fn new(config: std::sync::Arc<RunsConfig>) -> Ledger {
        let bucket_secs = config.bucket_secs();
        let window_slots = config
            .windows
            .values()
            .map(|&s| (s as i64).div_euclid(bucket_secs).max(1))
            .collect();
        Ledger {
            config,
            window_slots,
            bucket_secs,
            succeeded: Names::default(),
            denied: Names::default(),
            failed: Names::default(),
            runs: HashMap::new(),
            steps: 0,
        }
    }

    /// Records one attempt of `action` that ended as `kind` at `at_ms`, with its parameters
    /// (numeric top-level parameters named in the config are summed).
    pub fn record(&mut self, action: &str, kind: StepKind, at_ms: i64, params: &Value) {
        self.steps += 1;
        match kind {
            StepKind::Succeeded => self.succeeded.add(action),
            StepKind::Denied => self.denied.add(action),
            StepKind::Failed => self.failed.add(action),
        }
        let sums: Vec<i64> = self
            .config
            .sum
            .iter()
            .map(|p| params.get(p).map_or(0, summand))
            .collect();
        let n_windows = self.window_slots.len();
        let n_sums = sums.len();
        if !self.runs.contains_key(action) {
            self.runs.insert(action.to_string(), ActionRuns::default());
        }
        let runs = self.runs.get_mut(action).expect("inserted above");
        if runs.windows.len() != n_windows {
            *runs = ActionRuns {
                windows: vec![
                    WindowTotal {
                        sums: vec![0; n_sums],
                        ..WindowTotal::default()
                    };
                    n_windows
                ],
                ..ActionRuns::default()
            };
        }
        match kind {
            StepKind::Denied => runs.denied += 1,
            StepKind::Failed => runs.failed += 1,
            StepKind::Succeeded => {
                runs.count += 1;
                runs.last_ms = Some(runs.last_ms.map_or(at_ms, |l| l.max(at_ms)));
                let slot = at_ms.div_euclid(1000).div_euclid(self.bucket_secs);
                // A clock that stepped back files the run in the newest bucket.
                let slot = runs.buckets.back().map_or(slot, |b| b.slot.max(slot));
                match runs.buckets.back_mut() {
                    Some(b) if b.slot == slot => {
                        b.count += 1;
                        add_all(&mut b.sums, &sums);
                    }
                    _ => runs.buckets.push_back(Bucket {
                        slot,
                        count: 1,
                        sums: sums.clone(),
                    }),
                }
                // The run counts in every window that still holds its bucket (all of them,
                // unless the clock stepped back past a window's start).
                let index = runs.dropped + runs.buckets.len() as u64 - 1;
                for w in runs.windows.iter_mut().filter(|w| w.start <= index) {
                    w.count += 1;
                    add_all(&mut w.sums, &sums);
                }
            }
        }
    }

    /// Steps recorded (the next step's `stepIndex`).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Distinct actions that succeeded, in order of first success.
    pub fn succeeded(&self) -> &[String] {
        &self.succeeded.order
    }

    /// Distinct actions that were denied, in order of first denial.
    pub fn denied(&self) -> &[String] {
        &self.denied.order
    }

    /// Distinct actions that failed, in order of first failure.
    pub fn failed(&self) -> &[String] {
        &self.failed.order
    }

    /// Whether `action` succeeded at least once.
    pub fn has_succeeded(&self, action: &str) -> bool {
        self.succeeded.set.contains(action)
    }

    /// Actions the ledger knows of (any outcome).
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.runs.keys().map(String::as_str)
    }

    /// Moves every window of every action up to `now_ms` (drops what fell out).
    fn advance(&mut self, now_ms: i64) {
        let now_slot = now_ms.div_euclid(1000).div_euclid(self.bucket_secs);
        let longest = self.window_slots.iter().copied().max().unwrap_or(0);
        for runs in self.runs.values_mut() {
            for (w, &len) in runs.windows.iter_mut().zip(&self.window_slots) {
                // A bucket is inside a window of `len` slots when slot > now − len.
                loop {
                    let i = w.start.saturating_sub(runs.dropped) as usize;
                    match runs.buckets.get(i) {
                        Some(b) if b.slot <= now_slot - len => {
                            w.count -= b.count;
                            sub_all(&mut w.sums, &b.sums);
                            w.start += 1;
                        }
                        _ => break,
                    }
                }
            }
            while runs
                .buckets
                .front()
                .is_some_and(|b| b.slot <= now_slot - longest)
                && runs.windows.iter().all(|w| w.start > runs.dropped)
            {
                runs.buckets.pop_front();
                runs.dropped += 1;
            }
        }
    }

    /// The `context.runs` record: one entry per action of `actions` (plus every action the
    /// ledger knows), each `{count, count<W>, deniedCount, failedCount, secondsSinceLast,
    /// sum<W>: {param: total}}`.
    pub fn runs_json<'a>(
        &mut self,
        actions: impl IntoIterator<Item = &'a str>,
        now_ms: i64,
    ) -> Value {
        self.advance(now_ms);
        let mut out = Map::new();
        for name in self.runs.keys() {
            out.insert(name.clone(), self.action_json(name, now_ms));
        }
        for name in actions {
            if !out.contains_key(name) {
                out.insert(name.to_string(), self.action_json(name, now_ms));
            }
        }
        Value::Object(out)
    }

    fn action_json(&self, action: &str, now_ms: i64) -> Value {
        let runs = self.runs.get(action);
        let mut m = Map::new();
        m.insert("count".into(), Value::from(runs.map_or(0, |r| r.count)));
        m.insert(
            "deniedCount".into(),
            Value::from(runs.map_or(0, |r| r.denied)),
        );
        m.insert(
            "failedCount".into(),
            Value::from(runs.map_or(0, |r| r.failed)),
        );
        let since = runs
            .and_then(|r| r.last_ms)
            .map_or(NEVER_RAN_SECONDS, |l| (now_ms - l).max(0) / 1000);
        m.insert("secondsSinceLast".into(), Value::from(since));
        for (i, name) in self.config.windows.keys().enumerate() {
            let w = runs.and_then(|r| r.windows.get(i));
            m.insert(
                format!("count{name}"),
                Value::from(w.map_or(0, |w| w.count)),
            );
            let sums: Map<String, Value> = self
                .config
                .sum
                .iter()
                .enumerate()
                .map(|(k, p)| (p.clone(), Value::from(w.map_or(0, |w| w.sums[k]))))
                .collect();
            m.insert(format!("sum{name}"), Value::Object(sums));
        }
        Value::Object(m)
    }
}

/// What a parameter value adds to a running sum: integers as they are, fractions rounded up
/// (so a `sum + amount > limit` rule stays conservative); numbers outside Cedar's `Long` range
/// and non-numbers add nothing (a rule that reads such a value itself errors, and denies).
fn summand(v: &Value) -> i64 {
    const LONG_RANGE: std::ops::Range<f64> =
        -9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0;
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .map(f64::ceil)
                    .filter(|c| LONG_RANGE.contains(c))
                    .map(|c| c as i64)
            })
            .unwrap_or(0),
        _ => 0,
    }
}

fn add_all(into: &mut [i64], from: &[i64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a = a.saturating_add(*b);
    }
}

fn sub_all(into: &mut [i64], from: &[i64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a = a.saturating_sub(*b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn ledger(sum: &[&str]) -> Ledger {
        Ledger::new(Arc::new(RunsConfig {
            sum: sum.iter().map(|s| s.to_string()).collect(),
            ..RunsConfig::default()
        }))
    }

    #[test]
    fn only_successes_are_prior_steps() {
        let mut l = ledger(&[]);
        l.record("approve", StepKind::Denied, 0, &json!({}));
        l.record("pay", StepKind::Failed, 0, &json!({}));
        l.record("note", StepKind::Succeeded, 0, &json!({}));
        l.record("note", StepKind::Succeeded, 0, &json!({}));
        assert_eq!(l.succeeded(), ["note"]);
        assert_eq!(l.denied(), ["approve"]);
        assert_eq!(l.failed(), ["pay"]);
        assert_eq!(l.steps(), 4);
        assert!(l.has_succeeded("note") && !l.has_succeeded("approve"));
    }

    /// The windowed counts and sums equal a brute-force recount over the raw runs, for
    /// random run times and read times (including reads far in the future).
    #[test]
    fn windows_match_a_brute_force_recount() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for _ in 0..50 {
            let mut l = ledger(&["amount"]);
            let mut raw: Vec<(i64, i64)> = Vec::new();
            let mut now = 1_700_000_000_000i64;
            for _ in 0..300 {
                now += rng.gen_range(0..400_000);
                if rng.gen_bool(0.7) {
                    let amount = rng.gen_range(-50..500);
                    l.record(
                        "pay",
                        StepKind::Succeeded,
                        now,
                        &json!({ "amount": amount }),
                    );
                    raw.push((now, amount));
                } else {
                    let read = now + rng.gen_range(0..5_000_000);
                    let v = l.runs_json(["pay"], read);
                    for (name, secs) in [("LastHour", 3600i64), ("LastDay", 86_400)] {
                        let read_s = read.div_euclid(1000);
                        let inside: Vec<&(i64, i64)> = raw
                            .iter()
                            .filter(|(t, _)| t.div_euclid(1000) > read_s - secs)
                            .collect();
                        assert_eq!(
                            v["pay"][format!("count{name}")],
                            json!(inside.len()),
                            "{name}"
                        );
                        let total: i64 = inside.iter().map(|(_, a)| a).sum();
                        assert_eq!(v["pay"][format!("sum{name}")]["amount"], json!(total));
                    }
                    assert_eq!(v["pay"]["count"], json!(raw.len()));
                    now = read;
                }
            }
        }
    }

    #[test]
    fn never_ran_and_fractional_amounts() {
        let mut l = ledger(&["amount"]);
        let v = l.runs_json(["pay"], 0);
        assert_eq!(v["pay"]["count"], json!(0));
        assert_eq!(v["pay"]["secondsSinceLast"], json!(NEVER_RAN_SECONDS));
        l.record("pay", StepKind::Succeeded, 1000, &json!({"amount": 10.25}));
        l.record("pay", StepKind::Succeeded, 5000, &json!({"amount": "12"}));
        l.record("pay", StepKind::Succeeded, 5000, &json!({"amount": 1e300}));
        l.record(
            "pay",
            StepKind::Succeeded,
            5000,
            &json!({"amount": -1.2e21}),
        );
        let v = l.runs_json(["pay"], 9000);
        assert_eq!(v["pay"]["sumLastHour"]["amount"], json!(11));
        assert_eq!(v["pay"]["secondsSinceLast"], json!(4));
        assert_eq!(v["pay"]["count"], json!(4));
    }

    #[test]
    fn config_is_checked() {
        assert!(RunsConfig::from_json(&json!({"windows": {"lastHour": 3600}})).is_err());
        assert!(RunsConfig::from_json(&json!({"windows": {"LastHour": 0}})).is_err());
        assert!(RunsConfig::from_json(&json!({"sum": ["a", "a"]})).is_err());
        assert!(RunsConfig::from_json(&json!({"bogus": 1})).is_err());
        let c = RunsConfig::from_json(&json!({"windows": {"LastWeek": 604800}})).unwrap();
        assert_eq!(c.bucket_secs(), 7);
    }
}
