//! One session's large batch on two threads.
//!
//! A session's steps are sequential: each reads what the one before changed (learner, history,
//! facts). But part of a step reads nothing a step changes, and part of it is needed by no
//! later step, so a helper thread takes both off the step thread:
//!
//! - **ahead of the steps** it perceives chunks (entities, words, features, parameters),
//!   handing them over [`PIPELINE_GROUP`] at a time, at most [`PIPELINE_DEPTH`] ahead;
//! - **behind the steps** it adds each begun step's chunk to the knowledge graph (no step reads
//!   the graph; chunks after a step that stops the batch are never added, as without the
//!   helper).
//!
//! Results stay on the step thread, which allocated them. Measured and dropped: running the
//! caller's sink (serialisation) and the certificate digests on the helper as well. Freeing
//! results on another thread, or touching them from two cores, cost the allocator and the
//! caches more than the work moved; from Node, whose main thread needs the second core too,
//! it was no faster.
//!
//! The helper never blocks on the step thread while it has perceptions to queue, and the
//! step thread waits for the helper only for perceptions and at the end, so neither can
//! deadlock the other.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, TrySendError};
use std::time::Instant;

use super::{now_ms, Begun, Engine, Perception};
use crate::error::{err, ErrorCode, Result};
use crate::knowledge::Entity;
use crate::system::step::{PendingStep, ResultDetail, StepResult};

/// Perceived chunks queued ahead of the step thread.
const PIPELINE_DEPTH: usize = 256;

/// Chunks handed over between the threads at a time (each hand-over may wake a thread).
const PIPELINE_GROUP: usize = 32;

impl Engine {
    /// [`Engine::process_batch_each`] on two threads (see the module documentation).
    pub(super) fn process_pipelined<S: AsRef<str> + Sync>(
        &self,
        session_id: &str,
        chunks: &[S],
        detail: ResultDetail,
        mut sink: impl FnMut(StepResult) -> Result<()>,
    ) -> Result<Option<PendingStep>> {
        let session = self.session(session_id)?;
        self.registered_actions()?;
        let graph_failed = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (perceived_tx, perceived_rx) =
                sync_channel::<Vec<Result<Perception>>>(PIPELINE_DEPTH / PIPELINE_GROUP);
            // How many chunks' steps have begun (their chunks go into the graph).
            let (begun_tx, begun_rx) = channel::<usize>();
            let graph_failed = &graph_failed;
            let ahead = session.clone();
            let helper = scope.spawn(move || -> Result<()> {
                let mut groups = chunks.chunks(PIPELINE_GROUP);
                let mut held: Option<Vec<Result<Perception>>> = None;
                let mut perceiving = true;
                // Entities of perceived chunks not yet in the graph, in chunk order.
                let mut waiting: VecDeque<Vec<Entity>> = VecDeque::new();
                let mut ingested = 0usize;
                loop {
                    // Ahead: perceive until the step thread's queue is full.
                    while perceiving {
                        let group = match held.take() {
                            Some(group) => group,
                            None => match groups.next() {
                                Some(group) => group
                                    .iter()
                                    .map(|c| {
                                        let p = self.perceive(&ahead, c.as_ref());
                                        let entities = p.as_ref().map(|p| p.entities.clone());
                                        waiting.push_back(entities.unwrap_or_default());
                                        p
                                    })
                                    .collect(),
                                None => break,
                            },
                        };
                        match perceived_tx.try_send(group) {
                            Ok(()) => {}
                            Err(TrySendError::Full(group)) => {
                                held = Some(group);
                                break;
                            }
                            // The batch stopped early.
                            Err(TrySendError::Disconnected(_)) => perceiving = false,
                        }
                    }
                    // Behind: add the chunks whose steps have begun to the graph, in order.
                    let Ok(begun) = begun_rx.recv() else {
                        return Ok(());
                    };
                    while ingested < begun {
                        let entities = waiting.pop_front().unwrap_or_default();
                        let text = chunks[ingested].as_ref();
                        if let Err(e) = self.graph.ingest(text, &entities, now_ms()) {
                            graph_failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        ingested += 1;
                    }
                }
            });

            let mut begun = 0usize;
            let stepped = (|| -> Result<Option<PendingStep>> {
                for group in chunks.chunks(PIPELINE_GROUP) {
                    // No perceptions means the helper stopped; its error is reported below.
                    let Ok(perceived) = perceived_rx.recv() else {
                        return Ok(None);
                    };
                    for (c, perception) in group.iter().zip(perceived) {
                        let perception = perception?;
                        self.ensure_open()?;
                        let session = self.session(session_id)?;
                        if graph_failed.load(Ordering::Relaxed) {
                            return Ok(None);
                        }
                        let started = Instant::now()
                            .checked_sub(perception.took)
                            .unwrap_or_else(Instant::now);
                        begun += 1;
                        let step = self.act(session, c.as_ref(), perception, started, detail, true);
                        match step? {
                            Begun::Done(r) => sink(*r)?,
                            Begun::Pending(p) => return Ok(Some(*p)),
                        }
                    }
                    let _ = begun_tx.send(begun);
                }
                Ok(None)
            })();
            let _ = begun_tx.send(begun);
            drop(begun_tx);
            drop(perceived_rx);
            let graph = helper.join().unwrap_or_else(|_| {
                err(ErrorCode::Internal, "the pipeline helper thread panicked")
            });
            // A graph error stops the steps, so it came first.
            graph?;
            stepped
        })
    }
}
