//! The `obscura` command. What it does is the library's [`obscura::cli`], which
//! `python -m obscura` runs too: the same arguments give the same output, byte for byte.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(obscura::cli::main(std::env::args().skip(1)))
}

/// The command is native only (`wasm-pack test` builds every target for WebAssembly too).
#[cfg(target_arch = "wasm32")]
fn main() {}
