//! Lays out the functions a steady agent runs first and together in `.text`
//! (`link/hot-symbols.txt`, written by `scripts/gen-symbol-order`), so that the
//! pages a node keeps resident are few: the kernel maps 64 KiB around every code
//! page that faults in, and scattered hot code kept nearly the whole binary in RSS.
//!
//! Only where the linker is known to be lld: on x86_64-unknown-linux-gnu rustc
//! links with its own lld since 1.90, unless a linker is configured. Elsewhere
//! (musl images, other linkers) the build is unchanged. `NODECAST_NO_SYMBOL_ORDER=1`
//! turns it off.

use std::path::Path;

fn main() {
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-symbols.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=NODECAST_NO_SYMBOL_ORDER");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if std::env::var_os("NODECAST_NO_SYMBOL_ORDER").is_some_and(|v| v != "0") || !order.exists() {
        return;
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let custom_linker = std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || std::env::var("CARGO_ENCODED_RUSTFLAGS")
            .is_ok_and(|f| f.contains("linker") || f.contains("link-self-contained"));
    if target != "x86_64-unknown-linux-gnu" || custom_linker || !rustc_links_with_lld() {
        return;
    }
    for arg in [
        format!("-Wl,--symbol-ordering-file={}", order.display()),
        // Names of another profile's build, or stale ones, are expected.
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ] {
        println!("cargo:rustc-link-arg-bin=nodecast={arg}");
    }
}

/// rustc 1.90 and later link x86_64-unknown-linux-gnu with the bundled lld.
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("-V").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
