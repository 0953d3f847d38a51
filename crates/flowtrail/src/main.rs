//! flowtrail: fast, trustworthy access to network flow logs and HTTP logs.
//!
//! Only this crate reads the command line and environment and writes to the terminal.

mod cli;
mod commands;
mod input;
mod output;
mod pipeline;
mod taxii;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("flowtrail: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
