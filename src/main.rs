//! The `ke` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use kubeeye::app;
use kubeeye::cli::Cli;
use kubeeye::exit::ExitStatus;
use std::io::IsTerminal;

/// mimalloc returns freed pages to the system and keeps per-thread heaps from
/// fragmenting: page-by-page collection then stays flat in RSS whatever the
/// cluster size (glibc malloc's arenas grew with every page processed).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One TLS crypto provider for every client (kube, object_store, reqwest, lettre): aws-lc-rs.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    // ke's own warnings always; the libraries' lines (kube, hyper, object_store …)
    // only with -v: what they report reaches the user as ke's own messages and coverage gaps.
    let level = match cli.verbose {
        0 => "kubeeye=warn",
        1 => "kubeeye=info,warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Log colours follow --color and the terminal, like the tables (CronJob logs get none).
    let ansi = cli.color.enabled(std::io::stderr().is_terminal());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();

    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match app::run(cli.command, cli.color, &mut out, terminal) {
        Ok(status) => status.into(),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote files, rules and servers' answers: no escape sequence reaches the terminal.
            let message = describe(&e);
            let message = if std::io::stderr().is_terminal() { escape_controls(&message) } else { message };
            eprintln!("error: {message}");
            ExitStatus::Invalid.into()
        }
    }
}

/// The error and its causes on one line, skipping causes a message already quotes.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Control characters (but newlines and tabs) as `\\uXXXX`.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(
            |c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    format!("\\u{:04x}", u32::from(c))
                } else {
                    c.to_string()
                }
            },
        )
        .collect()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
