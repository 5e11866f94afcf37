//! The TypeScript declarations of the JSON the engine returns, and of the config objects it
//! accepts (`bank`, `learner`, `runs`: every field optional, as the engine's defaults fill them
//! in), generated from the Rust types.
//!
//! The engine's results cross to JavaScript as JSON; `integrations/` must describe them to
//! TypeScript users. Restating them by hand drifted (a field added in Rust, missing in TS), so
//! they are generated, as Cedar derives its TS types from Rust: every type the results are made
//! of derives `ts_rs::TS` in test builds (`#[cfg_attr(test, derive(ts_rs::TS))]` — nothing of
//! ts-rs reaches the shipped addon), and [`typescript_declarations_are_current`] writes them to
//! `integrations/generated/`, one file per type plus `ErrorCodes.ts`.
//!
//! `cargo test` (and so `npm test` and CI) fails when the committed files differ from what the
//! Rust types generate; `UPDATE_TS_TYPES=1 cargo test --lib ts_types` rewrites them. 64-bit
//! integers are `number` in TypeScript (JSON carries them as numbers; ts-rs would say
//! `bigint`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::TS;

use crate::error::ErrorCode;

/// Where the generated declarations live, relative to the crate root.
const OUT_DIR: &str = "integrations/generated";

/// The header of every generated file.
const HEADER: &str =
    "// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.\n";

/// Every root type whose declaration (with its dependencies) is generated.
fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    use crate::agent::{Enforcement, HistoryEntry, RunsConfig};
    use crate::knowledge::{EntityRecord, Fact, GraphStats, Related};
    use crate::learning::{LearnerConfig, OffPolicyEstimate};
    use crate::memory::BankConfig;
    use crate::memory::{
        BankCounts, BankStats, ConsolidateReport, EvictionReport, ExportReport, ImportReport,
        LearningRecord, MemoryRecord, QueryHit, Retrieved, SearchInfo, TransferProgress,
        VoteCounts,
    };
    use crate::reasoning::policy::CertificateCheck;
    use crate::reasoning::{Decision, PolicySetInfo, Property, Workflow, WorkflowReport};
    use crate::system::{
        BatchProgress, FeedbackResult, PendingStep, Ranking, StepResult, StepSummary, SystemStats,
    };
    MemoryRecord::export_all_to(dir)?;
    LearningRecord::export_all_to(dir)?;
    Retrieved::export_all_to(dir)?;
    SearchInfo::export_all_to(dir)?;
    BankStats::export_all_to(dir)?;
    BankCounts::export_all_to(dir)?;
    EvictionReport::export_all_to(dir)?;
    ImportReport::export_all_to(dir)?;
    ExportReport::export_all_to(dir)?;
    QueryHit::export_all_to(dir)?;
    VoteCounts::export_all_to(dir)?;
    TransferProgress::export_all_to(dir)?;
    ConsolidateReport::export_all_to(dir)?;
    StepResult::export_all_to(dir)?;
    StepSummary::export_all_to(dir)?;
    Ranking::export_all_to(dir)?;
    PendingStep::export_all_to(dir)?;
    BatchProgress::export_all_to(dir)?;
    HistoryEntry::export_all_to(dir)?;
    Enforcement::export_all_to(dir)?;
    SystemStats::export_all_to(dir)?;
    OffPolicyEstimate::export_all_to(dir)?;
    FeedbackResult::export_all_to(dir)?;
    Decision::export_all_to(dir)?;
    CertificateCheck::export_all_to(dir)?;
    PolicySetInfo::export_all_to(dir)?;
    crate::reasoning::EvaluationMode::export_all_to(dir)?;
    crate::reasoning::EvaluationStats::export_all_to(dir)?;
    crate::reasoning::CacheStats::export_all_to(dir)?;
    Workflow::export_all_to(dir)?;
    Property::export_all_to(dir)?;
    WorkflowReport::export_all_to(dir)?;
    EntityRecord::export_all_to(dir)?;
    Related::export_all_to(dir)?;
    Fact::export_all_to(dir)?;
    BankConfig::export_all_to(dir)?;
    LearnerConfig::export_all_to(dir)?;
    RunsConfig::export_all_to(dir)?;
    GraphStats::export_all_to(dir)?;
    Ok(())
}

/// A verification as TypeScript sees it: the verdict and reasons, the Cedar part when policies
/// were consulted, and the other details when there are any (ts-rs cannot flatten an
/// `Option` or a map, so their fields are optional here).
#[derive(TS)]
#[ts(rename = "Verification", optional_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct VerificationTs {
    /// Allow, deny or skipped.
    #[ts(optional = false)]
    decision: crate::system::Verdict,
    /// Human-readable reasons.
    #[ts(optional = false)]
    reasons: Vec<String>,
    /// The policies that caused the decision (the erroring ones when an error decided).
    determining_policies: Option<Vec<crate::reasoning::PolicyRef>>,
    /// Policy evaluation errors (an erroring policy denies: fail closed).
    errors: Option<Vec<String>>,
    /// On a default deny: the permit policies closest to matching.
    near_miss: Option<Vec<crate::reasoning::NearMiss>>,
    /// The replayable decision certificate.
    certificate: Option<crate::reasoning::Certificate>,
    /// The checked proofs of the action's preconditions.
    proofs: Option<Vec<crate::reasoning::rules::Proof>>,
    /// The precondition that could not be proved.
    failed_goal: Option<String>,
    /// Its failing subgoals, outermost first.
    failed_subgoals: Option<Vec<String>>,
}

/// `ErrorCodes.ts`: the engine's stable error codes as a string union and a list.
fn error_codes() -> String {
    let codes: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect();
    format!(
        "{HEADER}\n/** The engine's stable error codes (`src/error.rs`). */\nexport type EngineErrorCode =\n  | {};\n\n/** Every engine error code. */\nexport const ENGINE_ERROR_CODES: readonly EngineErrorCode[] = [{}];\n",
        codes.join("\n  | "),
        codes.join(", ")
    )
}

/// Generates every declaration into a map of file name to contents.
fn generate() -> BTreeMap<String, String> {
    let tmp = std::env::temp_dir().join(format!(
        "lean-agentic-ts-{}-{}",
        std::process::id(),
        crate::time::now_ms()
    ));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    export_all(&tmp).expect("ts-rs export");
    let mut files = BTreeMap::new();
    for entry in walk(&tmp) {
        let name = entry
            .strip_prefix(&tmp)
            .expect("inside the temp dir")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&entry).expect("generated file");
        files.insert(name, normalise(&text));
    }
    std::fs::remove_dir_all(&tmp).ok();
    files.insert("ErrorCodes.ts".into(), error_codes());
    files
}

/// ts-rs's output with our header, and 64-bit integers as `number`.
fn normalise(text: &str) -> String {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("// This file was generated by"))
        .map(|l| format!("{}\n", l.replace("bigint", "number")))
        .collect();
    format!("{HEADER}{}", body.trim_start_matches('\n'))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every variant of [`ErrorCode`] is in [`ErrorCode::ALL`] (a new variant fails to compile
/// here until it is added to both).
fn position(code: ErrorCode) -> usize {
    use ErrorCode::*;
    match code {
        InvalidConfig => 0,
        InvalidInput => 1,
        EmptyChunk => 2,
        ChunkTooLarge => 3,
        InvalidReward => 4,
        UnknownAction => 5,
        UnknownSession => 6,
        NotFound => 7,
        Closed => 8,
        HandlerFailed => 9,
        HandlerTimeout => 10,
        PolicyParse => 11,
        PolicyInvalid => 12,
        RuleParse => 13,
        ProofInvalid => 14,
        InvalidWorkflow => 15,
        InvalidJson => 16,
        EmbeddingDims => 17,
        StoreCorrupt => 18,
        StoreInUse => 19,
        StoreUnavailable => 20,
        Store => 21,
        Unsupported => 22,
        Internal => 23,
    }
}

#[test]
fn every_error_code_is_listed() {
    for (i, code) in ErrorCode::ALL.iter().enumerate() {
        assert_eq!(position(*code), i, "{code:?}");
    }
    assert_eq!(ErrorCode::ALL.len(), 24);
}

#[test]
fn typescript_declarations_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(OUT_DIR);
    let generated = generate();
    if std::env::var_os("UPDATE_TS_TYPES").is_some() {
        if root.exists() {
            std::fs::remove_dir_all(&root).expect("clear the generated dir");
        }
        for (name, text) in &generated {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        return;
    }
    let committed: BTreeMap<String, String> = if root.exists() {
        walk(&root)
            .into_iter()
            .map(|p| {
                let name = p
                    .strip_prefix(&root)
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                (name, std::fs::read_to_string(&p).expect("read"))
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let stale: Vec<&String> = generated
        .keys()
        .chain(committed.keys())
        .filter(|k| generated.get(*k) != committed.get(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "integrations/generated/ is out of date with the Rust types ({} file(s): {:?}); run \
         `UPDATE_TS_TYPES=1 cargo test --lib ts_types` and commit the result",
        stale.len(),
        stale
    );
}
