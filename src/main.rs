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
        let message = error_chain(&e);
        eprintln!("error: {}", shoplens::model::text::terminal_safe(&message));
        if let Some(hint) = shoplens::cli::hint(&message) {
            eprintln!("hint: {hint}");
        }
        std::process::exit(1);
    }
}

/// The error and its causes joined by ": ", less a cause whose text the message already holds
/// (`path: Not a directory` whose source is `Not a directory` is said once).
fn error_chain(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
