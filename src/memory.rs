//! The agent's own memory: malloc tuning and handing back what it no longer uses.
//! Used by the daemon's loops and the backfill, outside any one pipeline stage.

/// Forecast windows and store compactions free large blocks in the middle of the
/// heap, which glibc does not hand back by itself; without this an agent's RSS
/// ratchets up to its largest cycle plus fragmentation and stays there.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Blocks from this size up are mapped on their own and returned when freed.
#[cfg(target_env = "gnu")]
const MMAP_THRESHOLD: libc::c_int = 128 << 10;

/// glibc gives each thread its own malloc arena; for a small agent the extra arenas
/// cost megabytes of RSS and buy nothing. A fixed mmap threshold keeps large
/// transient buffers (a sled compaction's, a backfill response) out of the heap,
/// where their free space stays resident: glibc otherwise raises the threshold to
/// the largest block freed so far, up to 32 MiB. Call before any thread starts
/// (public for the memory benches).
pub fn tune_malloc() {
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Unmaps the resident pages of the read-only segments (code, constants, unwind
/// tables) of the binary and its shared libraries; returns the bytes advised.
///
/// Start-up code (flag parsing, TLS and store set-up, the backfill client) runs
/// once, and the kernel maps 64 KiB around every page that faults in, so about
/// three quarters of a 9 MiB binary stays in the agent's RSS while a cycle touches
/// a fraction of it. These segments are never written, so `MADV_DONTNEED` only drops
/// the mappings: the pages stay in the page cache (clean, shared, reclaimable) and
/// the next access maps them again with a minor fault. Writable segments, which hold
/// the relocated (private, anonymous) pages, are left alone, as is the vDSO.
pub fn release_file_pages() -> usize {
    advise_read_only_segments(libc::MADV_DONTNEED)
}

/// Has the binary's code fault in page by page, without read-ahead, from a page
/// cache without large folios: a fault with read-ahead fills the page cache with
/// large folios, a package install or a copy leaves the file cached in large
/// folios too, and the kernel maps a cached large folio whole, so every page that
/// runs would bring its neighbours into RSS. Newer kernels read ahead on a code
/// fault whatever `MADV_RANDOM` says (Linux 6.18 here: one collection read 8 MiB
/// of the binary into a page cache emptied before it); the kernel still maps
/// only the cached pages of the 64 KiB around a fault, which is why the hot code
/// is laid out together (build.rs). Call first thing at start-up.
pub fn code_pages_on_demand() {
    advise_read_only_segments(libc::MADV_RANDOM);
    shed_start_up_code();
}

/// Drops the mappings of the binary's read-only segments and the binary's page
/// cache that no process maps (clean pages only: they are read again on use).
/// Called at start, after start-up and after a backfill: with the hot code laid
/// out together (build.rs), what comes back is the code that runs.
pub fn shed_start_up_code() {
    release_file_pages();
    #[cfg(target_os = "linux")]
    if let Ok(exe) = std::fs::File::open("/proc/self/exe") {
        use std::os::fd::AsRawFd;
        // Dirty pages are not dropped: a binary copied or linked moments ago is
        // still being written back. Nothing is written when it is clean.
        let _ = exe.sync_data();
        // SAFETY: fadvise on a descriptor we own; it only drops clean, unmapped cache.
        unsafe { libc::posix_fadvise(exe.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

fn advise_read_only_segments(advice: libc::c_int) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    {
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(32);
        // SAFETY: the callback only reads the headers glibc hands it, and only for
        // the duration of the call; `ranges` outlives the iteration.
        unsafe {
            libc::dl_iterate_phdr(
                Some(read_only_segments),
                (&mut ranges as *mut Vec<(usize, usize)>).cast(),
            );
        }
        let mut advised = 0;
        for (start, len) in ranges {
            // SAFETY: the range is a whole-page part of a loaded, never-written,
            // file-backed segment; dropping its mappings or read-ahead cannot
            // change its contents.
            if unsafe { libc::madvise(start as *mut libc::c_void, len, advice) } == 0 {
                advised += len;
            }
        }
        advised
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
    {
        let _ = advice;
        0
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
unsafe extern "C" fn read_only_segments(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    let ranges = &mut *(data as *mut Vec<(usize, usize)>);
    let info = &*info;
    let name = if info.dlpi_name.is_null() {
        &[][..]
    } else {
        std::ffi::CStr::from_ptr(info.dlpi_name).to_bytes()
    };
    // The main program has an empty name; the vDSO is the one object without a path.
    if !(name.is_empty() || name.starts_with(b"/")) || info.dlpi_phdr.is_null() {
        return 0;
    }
    let page = page_size();
    let headers = std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize);
    if headers.iter().any(|h| {
        h.p_type == libc::PT_DYNAMIC
            && has_text_relocations(info.dlpi_addr as usize + h.p_vaddr as usize)
    }) {
        return 0;
    }
    for h in headers {
        if h.p_type != libc::PT_LOAD || h.p_flags & libc::PF_W != 0 || h.p_memsz == 0 {
            continue;
        }
        let lo = info.dlpi_addr as usize + h.p_vaddr as usize;
        let hi = lo + h.p_memsz as usize;
        // Only whole pages: a page shared with another segment would have to be
        // left alone anyway, and linkers never share one between protections.
        let start = lo.div_ceil(page) * page;
        let end = hi / page * page;
        if end > start {
            ranges.push((start, end - start));
        }
    }
    0
}

/// An object with text relocations had its "read-only" pages written at load time.
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
unsafe fn has_text_relocations(dynamic: usize) -> bool {
    const DT_TEXTREL: i64 = 22;
    const DT_FLAGS: i64 = 30;
    const DF_TEXTREL: u64 = 4;
    #[repr(C)]
    struct Dyn {
        d_tag: i64,
        d_val: u64,
    }
    let mut d = dynamic as *const Dyn;
    while (*d).d_tag != 0 {
        let e = &*d;
        if e.d_tag == DT_TEXTREL || (e.d_tag == DT_FLAGS && e.d_val & DF_TEXTREL != 0) {
            return true;
        }
        d = d.add(1);
    }
    false
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}
