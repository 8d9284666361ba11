//! The binary's hot code is laid out first and together (build.rs, lld's
//! `--symbol-ordering-file`): what keeps a steady agent's resident code small.
//! Fails when `link/hot-symbols.txt` no longer names this build's functions
//! (symbol names carry a hash of the toolchain, the dependency versions and the
//! profile): regenerate it with `scripts/gen-symbol-order`.
#![cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]

use std::collections::{HashMap, HashSet};

/// `_ZN...17h0123456789abcdefE` without its hash (and LLVM's `.llvm.N` suffixes).
fn base(name: &str) -> &str {
    let name = name.split(".llvm.").next().unwrap_or(name);
    match name.len().checked_sub(20) {
        Some(i) if name.is_char_boundary(i) && name[i..].starts_with("17h") => &name[..i],
        _ => name,
    }
}

#[test]
fn hot_functions_come_first_in_text() {
    let order: Vec<String> =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/link/hot-symbols.txt"))
            .expect("link/hot-symbols.txt")
            .lines()
            .map(str::to_string)
            .collect();
    let out = std::process::Command::new("nm")
        .args(["--defined-only", "-S", env!("CARGO_BIN_EXE_nodecast")])
        .output()
        .expect("nm (binutils) runs");
    assert!(out.status.success(), "nm failed");
    // name -> (address, size) of code symbols
    let mut syms: HashMap<String, (u64, u64)> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let p: Vec<&str> = line.split_whitespace().collect();
        if p.len() == 4 && matches!(p[2], "t" | "T" | "w" | "W") {
            let (Ok(addr), Ok(size)) =
                (u64::from_str_radix(p[0], 16), u64::from_str_radix(p[1], 16))
            else {
                continue;
            };
            syms.insert(p[3].to_string(), (addr, size));
        }
    }
    // The list holds each function under its name in several builds (profiles,
    // and `cargo build` against `cargo test`, whose dev-dependencies change the
    // feature set and so the hashes): count functions, not names.
    let bases: HashSet<&str> = syms.keys().map(|n| base(n)).collect();
    let listed: HashSet<&str> = order
        .iter()
        .map(|n| base(n))
        .filter(|b| bases.contains(b))
        .collect();
    let matched: HashSet<&str> = order
        .iter()
        .filter(|n| syms.contains_key(*n))
        .map(|n| base(n))
        .collect();
    let exact: Vec<(u64, u64)> = order.iter().filter_map(|n| syms.get(n).copied()).collect();
    println!(
        "{} names listed; {} functions of this build by name without hash, {} of them by exact name",
        order.len(),
        listed.len(),
        matched.len()
    );
    // Most listed functions that exist here must match exactly, or the list is stale.
    assert!(
        matched.len() >= 500 && matched.len() * 10 >= listed.len() * 7,
        "link/hot-symbols.txt is stale for this build ({} of {} functions match exactly): run scripts/gen-symbol-order",
        matched.len(),
        listed.len()
    );
    // Laid out together at the start of the code: the span they occupy is little
    // more than their own size (alignment padding between functions).
    let text_start = syms.values().map(|s| s.0).min().unwrap();
    let end = exact.iter().map(|(a, s)| a + s).max().unwrap();
    let size: u64 = exact.iter().map(|(_, s)| s).sum();
    println!(
        "hot functions: {} KiB, spanning {} KiB from the start of the code",
        size / 1024,
        (end - text_start) / 1024
    );
    assert!(
        (end - text_start) * 10 <= size * 13,
        "hot functions are spread over {} KiB for {} KiB of code: the ordering was not applied",
        (end - text_start) / 1024,
        size / 1024
    );
}
