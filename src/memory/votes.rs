//! Swarm agents' vote counts, kept in the bank so every machine of a swarm votes with one record.
//!
//! The bridge weighs a swarm agent's vote by its reliability `(agreements + 1) / (rounds + 2)`.
//! Each agent's counts are one learning (id `swarm-reliability:<agentId>`, pattern
//! `swarm-reliability/<agentId>`, `reward` the reliability, `context` `{agentId, agreements,
//! rounds, reliability, lastRunId}`: the format the bridge has always written, so stores written
//! before keep their counts). [`next_record`] computes the counted record; each backend applies it
//! inside one transaction that holds the row (SQLite: an IMMEDIATE transaction; PostgreSQL: the
//! row created if missing, then `SELECT … FOR UPDATE`), so concurrent rounds on different
//! machines never lose a count.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::records::{check_id, LearningRecord};
use crate::error::{err, ErrorCode, Result};

/// The learning id prefix of vote counts.
pub const VOTE_ID_PREFIX: &str = "swarm-reliability:";
/// The id range of vote learnings (`[prefix, prefix with its last byte + 1)`), for index scans.
pub const ID_RANGE: [&str; 2] = [VOTE_ID_PREFIX, "swarm-reliability;"];
/// The learning pattern prefix of vote counts.
pub const VOTE_PATTERN_PREFIX: &str = "swarm-reliability/";

/// An agent's counts.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteCounts {
    /// The swarm agent.
    pub agent_id: String,
    /// Rounds in which it voted with the winner.
    pub agreements: u64,
    /// Rounds that reached consensus with its vote.
    pub rounds: u64,
    /// `(agreements + 1) / (rounds + 2)`.
    pub reliability: f64,
}

/// Checks an agent id (the learning id it makes must be a valid id).
pub fn check_agent(agent_id: &str) -> Result<String> {
    if agent_id.is_empty() {
        return err(ErrorCode::InvalidInput, "agentId is empty");
    }
    let id = format!("{VOTE_ID_PREFIX}{agent_id}");
    check_id(&id, "agentId")?;
    Ok(id)
}

/// The counts a vote learning holds (`None` when it is not one, or its counts are unreadable).
pub fn counts_of(l: &LearningRecord) -> Option<VoteCounts> {
    let agent = l.id.strip_prefix(VOTE_ID_PREFIX)?;
    let c = l.context.as_ref()?;
    let agreements = c.get("agreements")?.as_u64()?;
    let rounds = c.get("rounds")?.as_u64()?;
    if agreements > rounds {
        return None;
    }
    let agent_id = c
        .get("agentId")
        .and_then(Value::as_str)
        .unwrap_or(agent)
        .to_string();
    Some(VoteCounts {
        agent_id,
        agreements,
        rounds,
        reliability: reliability(agreements, rounds),
    })
}

/// Laplace's rule of succession.
pub fn reliability(agreements: u64, rounds: u64) -> f64 {
    (agreements as f64 + 1.0) / (rounds as f64 + 2.0)
}

/// The learning after one more round: `old` (the stored record, if any) counted with `agreed`.
pub fn next_record(
    id: &str,
    agent_id: &str,
    old: Option<&LearningRecord>,
    agreed: bool,
    run_id: &str,
    now_ms: i64,
) -> LearningRecord {
    let (agreements, rounds) = old
        .and_then(counts_of)
        .map_or((0, 0), |c| (c.agreements, c.rounds));
    let agreements = agreements + u64::from(agreed);
    let rounds = rounds + 1;
    let r = reliability(agreements, rounds);
    LearningRecord {
        id: id.to_string(),
        pattern: format!("{VOTE_PATTERN_PREFIX}{agent_id}"),
        outcome: if agreed { "Success" } else { "Failure" }.to_string(),
        reward: r,
        context: Some(json!({
            "agentId": agent_id,
            "agreements": agreements,
            "rounds": rounds,
            "reliability": r,
            "lastRunId": run_id,
        })),
        session: Some(run_id.to_string()),
        action: Some("swarm_vote".to_string()),
        created_at_ms: old.map_or(now_ms, |o| o.created_at_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_counts_once_and_keeps_what_other_tools_see() {
        let id = check_agent("a").unwrap();
        let first = next_record(&id, "a", None, true, "r1", 10);
        assert_eq!(
            counts_of(&first).map(|c| (c.agreements, c.rounds)),
            Some((1, 1))
        );
        assert_eq!(first.reward, 2.0 / 3.0);
        let second = next_record(&id, "a", Some(&first), false, "r2", 20);
        let c = counts_of(&second).unwrap();
        assert_eq!((c.agreements, c.rounds, c.reliability), (1, 2, 0.5));
        assert_eq!(
            second.created_at_ms, 10,
            "the creation time is the first round's"
        );
        assert_eq!(second.pattern, "swarm-reliability/a");
        assert_eq!(second.context.as_ref().unwrap()["lastRunId"], "r2");
    }

    #[test]
    fn unreadable_or_impossible_counts_start_over_instead_of_growing() {
        let id = check_agent("b").unwrap();
        let mut bad = next_record(&id, "b", None, true, "r", 0);
        bad.context = Some(json!({"agreements": 5, "rounds": 2}));
        assert_eq!(counts_of(&bad), None);
        let next = next_record(&id, "b", Some(&bad), true, "r", 0);
        assert_eq!(
            counts_of(&next).map(|c| (c.agreements, c.rounds)),
            Some((1, 1))
        );
        assert!(check_agent("").is_err());
        assert!(check_agent(&"x".repeat(300)).is_err());
    }
}
