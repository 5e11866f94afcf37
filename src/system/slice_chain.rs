//! Slices of one large batch queued back to back on a session's batch thread.
//!
//! JS hands a large batch to the engine in slices, so it can parse the results of one slice
//! while the next runs. With only one slice in flight the batch thread idles at every hand-over
//! (the promise settles, JS converts and sends the next slice): about 5% of a batch. Queueing
//! the next slice before the current one ends removes that idle time, but a queued slice must
//! not run when the one before it stopped early (a step waiting for a JS handler, an error):
//! its chunks come after the stop and would run out of order.
//!
//! So each slice carries a [`SliceTicket`] (its batch and its place in it) and runs only right
//! after its predecessor finished every chunk; otherwise it runs nothing and answers
//! [`SliceState::Skipped`], and the caller resubmits those chunks once the stop is dealt with.

use dashmap::DashMap;

/// How a batch (or one slice of it) ended: said as data, so a caller never reads it off the
/// results' text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceState {
    /// Every chunk ran.
    Finished,
    /// A step waits for a JS handler (the batch's `pending`); the chunks after it did not run.
    Stopped,
    /// Nothing ran: the slice before it did not finish (its results are empty).
    Skipped,
}

impl SliceState {
    /// `finished`, `stopped` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            SliceState::Finished => "finished",
            SliceState::Stopped => "stopped",
            SliceState::Skipped => "skipped",
        }
    }
}

/// A slice's place in its batch: the `seq`-th slice (from 0) of batch `batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceTicket {
    /// The batch (any id unique among a session's batches in flight).
    pub batch: u64,
    /// The slice's position in the batch.
    pub seq: u32,
}

/// For each session, the one slice that may run next.
#[derive(Default)]
pub(crate) struct SliceChains {
    next: DashMap<String, SliceTicket, crate::fast_hash::FastHash>,
}

impl SliceChains {
    /// True when `ticket` may run now: a batch's first slice always may; a later one only
    /// when its predecessor finished every chunk.
    pub(crate) fn may_run(&self, session: &str, ticket: SliceTicket) -> bool {
        ticket.seq == 0 || self.next.get(session).is_some_and(|next| *next == ticket)
    }

    /// Records how `ticket`'s slice ended: its successor may run only when it finished.
    pub(crate) fn ended(&self, session: &str, ticket: SliceTicket, finished: bool) {
        if finished {
            let next = SliceTicket {
                batch: ticket.batch,
                seq: ticket.seq.saturating_add(1),
            };
            self.next.insert(session.to_string(), next);
        } else {
            self.next.remove(session);
        }
    }

    /// Drops what is known of `session` (it ended).
    pub(crate) fn forget(&self, session: &str) {
        self.next.remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(batch: u64, seq: u32) -> SliceTicket {
        SliceTicket { batch, seq }
    }

    #[test]
    fn a_slice_runs_only_after_its_predecessor_finished() {
        let chains = SliceChains::default();
        assert!(chains.may_run("s", t(1, 0)));
        assert!(!chains.may_run("s", t(1, 1)), "before slice 0 ended");
        chains.ended("s", t(1, 0), true);
        assert!(chains.may_run("s", t(1, 1)));
        assert!(!chains.may_run("s", t(1, 2)), "a slice cannot skip ahead");
        assert!(
            !chains.may_run("s", t(2, 1)),
            "nor follow another batch's slice"
        );
        assert!(!chains.may_run("other", t(1, 1)), "chains are per session");
        chains.ended("s", t(1, 1), false);
        assert!(!chains.may_run("s", t(1, 2)), "slice 1 stopped early");
        assert!(chains.may_run("s", t(3, 0)), "a new batch starts afresh");
    }
}
