//! Command-line definitions (clap). Parsing only; `app` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kubeeye: find what is wrong with a Kubernetes cluster before your users do.
#[derive(Debug, Parser)]
#[command(name = "ke", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Exit codes: 0 clean, 1 findings at --fail-on, 2 invalid input (rules, flags, paths), \
3 inspection incomplete (see the report's coverage).\n\nExamples:\n  \
ke diag --snapshot examples/demo-cluster\n  \
ke diag --snapshot manifests/ -f rules.yaml -o json --fail-on danger\n  \
ke rules list\n  ke rules explain runAsPrivileged")]
pub struct Cli {
    /// Log more to stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect manifests or a cluster snapshot and print the findings.
    #[command(long_about = "Inspect manifests or a cluster snapshot and print the findings.\n\n\
--snapshot takes YAML or JSON files (multi-document, kind: List and *List objects) or directories, \
walked recursively; a `kubectl cluster-info dump --output-directory` directory loads as is. \
Malformed documents are reported under NOT INSPECTED and the rest still loads.")]
    Diag(DiagArgs),
    /// List or explain the built-in and custom rules.
    Rules {
        /// What to show.
        #[command(subcommand)]
        command: RulesCommand,
    },
}

/// `ke diag` options.
#[derive(Debug, Args)]
pub struct DiagArgs {
    /// Manifest file or directory to inspect instead of a live cluster (repeatable).
    #[arg(long, value_name = "PATH", required = true)]
    pub snapshot: Vec<PathBuf>,
    /// Rule file in KubeEye or Polaris format: checks, customChecks, exemptions (repeatable).
    #[arg(short = 'f', long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Namespace selection.
    #[command(flatten)]
    pub scope: Scope,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Exit with code 1 when a finding reaches this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Cluster name shown in the report (default: the first snapshot's directory name).
    #[arg(long)]
    pub cluster_name: Option<String>,
}

/// Namespace selection, as kubectl spells it.
#[derive(Debug, Args, Clone, Default)]
pub struct Scope {
    /// Inspect only this namespace (repeatable); cluster-scoped objects are then skipped.
    #[arg(short, long, value_name = "NS", conflicts_with = "all_namespaces")]
    pub namespace: Vec<String>,
    /// Inspect every namespace (the default).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Skip this namespace (repeatable).
    #[arg(long, value_name = "NS")]
    pub exclude_namespace: Vec<String>,
}

/// `ke rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Print the rule catalogue: id, severity in effect, category, target, description.
    List {
        /// Rule files whose custom checks and overrides to include (repeatable).
        #[arg(short = 'f', long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Explain one rule: what it detects, why it matters, how to fix it.
    Explain {
        /// Rule id (or its KubeEye alias).
        id: String,
        /// Rule files to include (repeatable).
        #[arg(short = 'f', long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
    },
}

/// Report formats of `ke diag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Grouped tables for the terminal.
    Table,
    /// The JSON report contract.
    Json,
    /// The same report as YAML.
    Yaml,
}

/// Formats of `ke rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table.
    Table,
    /// JSON.
    Json,
}

/// `--fail-on` thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only danger findings fail.
    Danger,
    /// Danger or warning findings fail.
    Warning,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
