//! The `shoplens` binary: the command line of `shoplens::cli`.

use clap::Parser;

/// Stack of the runtime's threads: query planning recurses over the expression tree, so deeply
/// nested SQL needs more than the default 2 MB before it is refused.
const STACK_BYTES: usize = 32 << 20;

fn main() {
    let cli = shoplens::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(shoplens::cli::run(cli)) {
        // messages quote shop data (names, rejected rows): no escape sequences reach the terminal
        let message = format!("{e:#}");
        eprintln!("error: {}", shoplens::model::text::terminal_safe(&message));
        if let Some(hint) = shoplens::cli::hint(&message) {
            eprintln!("hint: {hint}");
        }
        std::process::exit(1);
    }
}
