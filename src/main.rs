//! The `shoplens` binary: the command line of `shoplens::cli`.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = shoplens::cli::Cli::parse();
    if let Err(e) = shoplens::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
