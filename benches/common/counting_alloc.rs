//! A counting global allocator for the memory benchmarks: forwards to the system
//! allocator and keeps the bytes live and their peak. Each bench includes it with
//! `#[path = "common/counting_alloc.rs"] mod counting_alloc;` and installs it with
//! `#[global_allocator] static A: counting_alloc::Counting = counting_alloc::Counting;`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct Counting;

/// Heap bytes allocated and not freed, by anyone in the process (sled's
/// threads included).
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Highest `LIVE` since the bench last stored into it.
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

pub static TRACE_BIG: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Writes "alloc N" for allocations of at least NODECAST_BENCH_TRACE_BIG bytes,
/// without allocating (this runs inside the allocator).
fn trace(n: usize) {
    if n < TRACE_BIG.load(Relaxed) {
        return;
    }
    let mut buf = *b"alloc                    \n";
    let mut i = buf.len() - 2;
    let mut v = n;
    loop {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        i -= 1;
        if v == 0 {
            break;
        }
    }
    // SAFETY: writes a stack buffer to stderr.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), buf.len());
    }
}

fn grew(n: usize) {
    trace(n);
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: forwards to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // sled's page table is a large zeroed allocation: calloc leaves it untouched
        // (not resident) until used, so it must not be zeroed by hand here.
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Relaxed);
            grew(new);
        }
        q
    }
}
