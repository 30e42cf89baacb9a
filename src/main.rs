//! The `poolsim` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = match poolsim::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(poolsim::commands::run(cli).exit_code());
}
