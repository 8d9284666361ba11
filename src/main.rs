fn main() {
    std::process::exit(nodecast::cli::main());
}
