//! Splitting memory-bound scans over the CPU's cores.
//!
//! An int8 scan of 100k rows reads ~38 MB; one core does not saturate the memory bus, so long
//! scans run in one part per core (scoped threads; at most 4). Short ones stay on the calling
//! thread: a thread costs tens of microseconds.

use std::sync::OnceLock;

/// Scans shorter than this stay on one thread.
pub(crate) const PARALLEL_MIN_ROWS: usize = 16_384;

/// Threads used by long scans: the available cores, at most 4; one on WebAssembly, where the
/// engine runs its helper work inline (threads spawned mid-call are not reliable there).
pub(crate) fn scan_threads() -> usize {
    if cfg!(target_family = "wasm") {
        return 1;
    }
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(4)
    })
}

/// The part size for scanning `n` rows: all of them (one part) below [`PARALLEL_MIN_ROWS`] or
/// on one core, else one part per scan thread.
pub(crate) fn part_len(n: usize) -> usize {
    let threads = scan_threads();
    if threads > 1 && n >= PARALLEL_MIN_ROWS {
        n.div_ceil(threads)
    } else {
        n.max(1)
    }
}

/// Runs `f` over `items` split across the scan threads, concatenating the results in order;
/// a panic in a worker is raised again here.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = scan_threads();
    if threads == 1 || items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| {
                let f = &f;
                s.spawn(move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
