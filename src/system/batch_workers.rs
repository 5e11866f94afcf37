//! Long-lived threads that run batches handed over from the JS thread, a session always on the
//! same thread.
//!
//! A session's steps are sequential, so its batches gain nothing from a pool of interchangeable
//! threads — and lose: memory a step frees (history entries, feedback-window slots, cache
//! entries) would often have been allocated by another thread, and the allocator pays for every
//! such free (a verified step ~20% slower when each slice ran on a new thread: BENCHMARKS.md,
//! "Engine step, Rust only"). So each session is pinned to one of a few threads (one per core, at most
//! [`MAX_WORKERS`]), assigned round-robin when first seen; different sessions still run in
//! parallel. Threads start on first use.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Sender};
use std::thread::{JoinHandle, ThreadId};

use parking_lot::Mutex;

/// A unit of work.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// Most batch threads.
const MAX_WORKERS: usize = 8;

/// Stack of a batch thread: the Node main thread's 8 MB, so that a policy nested as deep as
/// `MAX_POLICY_NESTING` allows evaluates on a batch thread exactly as in a synchronous call
/// (Cedar's evaluator needs up to ~57 KB per level in debug builds, ~6 KB in release; on
/// Rust's default 2 MB it stops with "recursion limit reached" past ~25 levels in debug).
/// Only touched pages are committed.
const BATCH_STACK_BYTES: usize = 8 << 20;

/// The batch threads.
pub(crate) struct BatchWorkers {
    workers: Mutex<Vec<Worker>>,
    /// The thread of each session seen (forgotten all at once past [`MAX_REMEMBERED`]).
    assigned: Mutex<HashMap<String, usize>>,
}

/// Sessions whose thread is remembered; past this the assignment starts afresh.
const MAX_REMEMBERED: usize = 100_000;

struct Worker {
    sender: Sender<Job>,
    thread: Option<JoinHandle<()>>,
    id: ThreadId,
}

impl BatchWorkers {
    /// No threads yet.
    pub(crate) fn new() -> Self {
        BatchWorkers {
            workers: Mutex::new(Vec::new()),
            assigned: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `job` on the thread of `key` (a session id), starting the threads on first use.
    /// Fails only when a thread cannot be started.
    pub(crate) fn run(&self, key: &str, job: Job) -> std::io::Result<()> {
        if cfg!(target_family = "wasm") {
            // WebAssembly: on the calling thread (the engine starts no threads there; see
            // `Journal::hand_over`).
            job();
            return Ok(());
        }
        let mut workers = self.workers.lock();
        if workers.is_empty() {
            let n = std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(1, MAX_WORKERS);
            for i in 0..n {
                let (sender, receiver) = channel::<Job>();
                let thread = std::thread::Builder::new()
                    .name(format!("lean-agentic-batch-{i}"))
                    .stack_size(BATCH_STACK_BYTES)
                    .spawn(move || {
                        for job in receiver {
                            job();
                        }
                    })?;
                let id = thread.thread().id();
                workers.push(Worker {
                    sender,
                    thread: Some(thread),
                    id,
                });
            }
        }
        let i = {
            let mut assigned = self.assigned.lock();
            if let Some(&i) = assigned.get(key) {
                i
            } else {
                if assigned.len() >= MAX_REMEMBERED {
                    assigned.clear();
                }
                let i = assigned.len() % workers.len();
                assigned.insert(key.to_string(), i);
                i
            }
        };
        // A worker only stops when `self` is dropped, so the send cannot fail here.
        let _ = workers[i].sender.send(job);
        Ok(())
    }
}

impl Drop for BatchWorkers {
    fn drop(&mut self) {
        let me = std::thread::current().id();
        for mut w in self.workers.get_mut().drain(..) {
            drop(w.sender);
            // The last owner of the engine may be a job on one of these threads: never join
            // the current thread (it ends by itself once its channel is closed).
            if let Some(t) = w.thread.take() {
                if w.id != me {
                    let _ = t.join();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_key_always_runs_on_the_same_thread_and_jobs_run_in_order() {
        let workers = BatchWorkers::new();
        let (tx, rx) = channel();
        for i in 0..20 {
            let tx = tx.clone();
            workers
                .run(
                    "session-a",
                    Box::new(move || tx.send((i, std::thread::current().id())).unwrap()),
                )
                .unwrap();
        }
        drop(tx);
        let got: Vec<_> = rx.iter().collect();
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            (0..20).collect::<Vec<_>>()
        );
        assert!(got.iter().all(|g| g.1 == got[0].1));
        assert_ne!(got[0].1, std::thread::current().id());
    }

    #[test]
    fn new_keys_are_spread_over_the_threads() {
        let workers = BatchWorkers::new();
        let (tx, rx) = channel();
        for key in ["a", "b"] {
            let tx = tx.clone();
            workers
                .run(
                    key,
                    Box::new(move || tx.send(std::thread::current().id()).unwrap()),
                )
                .unwrap();
        }
        drop(tx);
        let ids: Vec<_> = rx.iter().collect();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        if threads > 1 {
            assert_ne!(ids[0], ids[1], "two sessions on two threads");
        }
    }
}
