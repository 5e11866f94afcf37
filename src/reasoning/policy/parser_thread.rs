//! Runs Cedar's parsing and load-time analysis on a thread with a stack sized for it.
//!
//! Cedar parses, converts, validates and computes entity hierarchies recursively, one or more
//! stack frames per nesting level (measured on this crate's debug build: up to ~60 KB per level
//! of `((…))` or `[[…]]`, ~14 KB in release). The text reaching Cedar is bounded first
//! ([`super::nesting`], [`super::hierarchy`]), and then parsed here, never on the caller's
//! thread: a napi call runs on the Node main thread, whose stack is shared with V8, and batch
//! threads have 2 MB. The stack is only reserved address space: pages are committed when the
//! parser actually reaches them.

use std::any::Any;

use crate::error::{Error, ErrorCode, Result};

/// Stack of the parser thread: room for [`super::nesting::MAX_TEXT_NESTING`] levels of the
/// most expensive constructs with a margin of two. Measured: text just under that bound needs
/// 48–80 MB in a debug build; release frames are about four times smaller (~14 MB).
pub(crate) const PARSER_STACK_BYTES: usize = if cfg!(debug_assertions) {
    160 << 20
} else {
    48 << 20
};

/// Runs `work` on a fresh thread with [`PARSER_STACK_BYTES`] of stack and returns its result.
/// A panic inside `work` becomes an [`ErrorCode::Internal`] error naming `what`.
pub(crate) fn on_parser_stack<T: Send>(
    what: &str,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("lean-agentic-parser".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, work)
            .map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("cannot start the parser thread for {what}: {e}"),
                )
            })?;
        handle.join().unwrap_or_else(|panic| {
            Err(Error::new(
                ErrorCode::Internal,
                format!(
                    "{what} failed unexpectedly ({}); nothing was changed",
                    panic_text(panic.as_ref())
                ),
            ))
        })
    })
}

/// Below this many items [`map_on_parser_threads`] stays on the calling thread.
pub(crate) const PARALLEL_MIN: usize = 256;

/// `items` mapped through `work`, in order. From [`PARALLEL_MIN`] items on, the items are split
/// over one parser thread per core (each with [`PARSER_STACK_BYTES`]); call it from the parser
/// thread. The first error (by item order) is returned.
pub(crate) fn map_on_parser_threads<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let Some(chunk) = parallel_chunk(items.len()) else {
        return items.iter().map(&work).collect();
    };
    let work = &work;
    run_all(
        items
            .chunks(chunk)
            .map(|part| move || part.iter().map(work).collect())
            .collect(),
    )
}

/// [`map_on_parser_threads`] over owned items, each moved into `work`.
pub(crate) fn map_on_parser_threads_owned<T: Send, R: Send>(
    items: Vec<T>,
    work: impl Fn(T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let Some(chunk) = parallel_chunk(items.len()) else {
        return items.into_iter().map(&work).collect();
    };
    let work = &work;
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut rest = items.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(chunk).collect());
    }
    run_all(
        chunks
            .into_iter()
            .map(|part| move || part.into_iter().map(work).collect())
            .collect(),
    )
}

/// The chunk size splitting `len` items over the cores, or `None` to stay on this thread.
fn parallel_chunk(len: usize) -> Option<usize> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    (len >= PARALLEL_MIN && threads >= 2).then(|| len.div_ceil(threads))
}

/// Runs every job on its own parser thread; their results, concatenated in order.
fn run_all<R: Send, J: FnOnce() -> Result<Vec<R>> + Send>(jobs: Vec<J>) -> Result<Vec<R>> {
    let parts: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                std::thread::Builder::new()
                    .name("lean-agentic-parser".into())
                    .stack_size(PARSER_STACK_BYTES)
                    .spawn_scoped(scope, job)
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle {
                Ok(handle) => handle.join().unwrap_or_else(|panic| {
                    Err(Error::new(
                        ErrorCode::Internal,
                        format!(
                            "a parser thread failed unexpectedly ({})",
                            panic_text(panic.as_ref())
                        ),
                    ))
                }),
                Err(e) => Err(Error::new(
                    ErrorCode::Internal,
                    format!("cannot start a parser thread: {e}"),
                )),
            })
            .collect()
    });
    let mut all = Vec::new();
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

/// The message of a panic payload.
fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_with_the_large_stack_and_panics_become_errors() {
        // 8 MB of frames would overflow a default 2 MB test thread.
        fn deep(n: usize) -> usize {
            let pad = std::hint::black_box([0u8; 4096]);
            if n == 0 {
                0
            } else {
                1 + deep(n - 1) + usize::from(pad[n % 4096])
            }
        }
        assert_eq!(on_parser_stack("test", || Ok(deep(2048))), Ok(2048));
        let e = on_parser_stack::<()>("loading test", || panic!("boom")).expect_err("panicked");
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(
            e.message
                .contains("loading test failed unexpectedly (boom)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn mapping_keeps_order_and_reports_the_first_error() {
        for n in [3, PARALLEL_MIN * 3 + 1] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_on_parser_threads(&items, |&i| Ok(2 * i)).expect("maps");
            assert_eq!(doubled, items.iter().map(|i| 2 * i).collect::<Vec<_>>());
            let failed = map_on_parser_threads(&items, |&i| {
                if i >= 2 {
                    Err(Error::new(ErrorCode::PolicyParse, format!("item {i}")))
                } else {
                    Ok(i)
                }
            });
            assert_eq!(failed.expect_err("fails").message, "item 2");
            let owned = map_on_parser_threads_owned(items.clone(), |i| Ok(i + 1)).expect("maps");
            assert_eq!(owned, items.iter().map(|i| i + 1).collect::<Vec<_>>());
        }
    }
}
