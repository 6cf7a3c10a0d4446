//! Keeps the resident size flat however many samples a run converts.
//!
//! Image bytes are read on the worker threads and freed on the sink thread once written.
//! glibc gives every thread its own malloc arena, and arenas holding long-lived buffers
//! between short-lived ones fragment: peak RSS grew by ~20% from 1,500 to 12,000 samples
//! (`bench/run.sh --scaling`). With one arena, memory the sink frees is what the workers
//! allocate next, and the peak stays within a few percent. Our allocations are few and
//! large (a handful per sample), so the single arena's lock costs nothing measurable.

/// Limits glibc malloc to one arena. Call before any other thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn use_one_malloc_arena() {
    // SAFETY: mallopt only changes a tuning parameter of the allocator; called at start-up
    // while the process has one thread, it races with nothing.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Other allocators (musl, macOS, Windows) have no per-thread arenas to limit.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn use_one_malloc_arena() {}
