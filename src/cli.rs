//! Command-line definitions (clap). Parsing only; `app` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kubeeye: find what is wrong with a Kubernetes cluster before your users do.
#[derive(Debug, Parser)]
#[command(name = "ke", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Exit codes: 0 clean, 1 findings at --fail-on, 2 invalid input (rules, flags, paths, config), \
3 inspection incomplete (see the report's coverage), 4 a report could not be delivered (ke run).\n\nExamples:\n  \
ke diag                                   inspect the cluster of the current kubeconfig context\n  \
ke diag --context prod -n shop -o json    one namespace of another context, as JSON\n  \
ke diag --snapshot examples/demo-cluster  the shipped demo snapshot, no cluster needed\n  \
ke diag --snapshot manifests/ -f rules.yaml --fail-on danger\n  \
ke snapshot -o support-bundle/            save what ke reads, for offline review\n  \
ke rules list\n  ke rules explain runAsPrivileged")]
pub struct Cli {
    /// Log more to stderr: -v adds ke's progress and the libraries' warnings (kube, HTTP, object store), -vv debug.
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
    /// Inspect a cluster (or a snapshot of one) and print the findings.
    #[command(long_about = "Inspect a cluster, or a snapshot of one, and print the findings.\n\n\
Without --snapshot, ke reads the cluster of the current kubeconfig context (--kubeconfig, KUBECONFIG, \
~/.kube/config), or the pod's service account when it runs in a cluster. It only reads: it never \
changes anything and never reads Secrets.\n\n\
--snapshot takes YAML or JSON files (multi-document, kind: List and *List objects) or directories, \
walked recursively; a `kubectl cluster-info dump --output-directory` directory or a `ke snapshot` \
directory loads as is. Malformed documents are reported under NOT INSPECTED and the rest still loads.")]
    #[command(
        after_help = "Exit codes: 0 inspected, nothing at --fail-on; 1 a finding reached --fail-on; 2 invalid rules, \
flags, config or paths, or no cluster configuration (nothing inspected); 3 the inspection is incomplete (see NOT \
INSPECTED) or the cluster is unreachable.\n\nExamples:\n  \
ke diag                                     the current kubeconfig context\n  \
ke diag --context prod -n shop -o json      one namespace of another context\n  \
ke diag -o html > report.html               a self-contained HTML report\n  \
ke diag --output-dir out/ --previous old.json   all three reports, marked new/open against old.json\n  \
ke diag --snapshot examples/demo-cluster    the demo snapshot, no cluster needed\n  \
ke diag -f rules.yaml --fail-on danger      custom rules; exit 1 on a danger finding"
    )]
    Diag(DiagArgs),
    /// Save what ke reads from a cluster to a directory, for `ke diag --snapshot` later.
    #[command(long_about = "Save what ke reads from a cluster to a directory: the objects the checks use, \
Warning events, the tails of container logs, health endpoints, node metrics and kubelet summaries. \
`ke diag --snapshot DIR` then reproduces the same findings offline (support bundles, review).\n\n\
Secrets are never read, and values are masked by default, because bundles get passed around: literal \
environment values, ConfigMap data and kubectl's last-applied-configuration become \
`(redacted by ke snapshot)` (or `(a private key, redacted by ke snapshot)`, naming the shape, where the value looked like a credential, \
so the sensitive-data rules still fire), and passwords, tokens, keys and URL credentials inside args, \
commands, annotations, event messages and log lines become `***`. --keep-values writes everything as \
read (for custom rules that inspect such values); treat that bundle like the cluster's secrets.")]
    Snapshot(SnapshotArgs),
    /// Install a component ke relies on into the cluster (server-side apply).
    #[command(long_about = "Install a component ke relies on into the cluster, with server-side apply \
(field manager `kubeeye`), so running it again updates in place.\n\n\
npd: node-problem-detector, a DaemonSet in kube-system that turns kernel and runtime log lines (OOM kills, \
hung tasks, ext4 errors, a read-only filesystem, a corrupt overlay2 …) into node conditions and events that \
ke reports. The manifests are those in deploy/npd/; --dry-run prints them. This needs write access \
(cluster-admin), unlike every other ke command.\n\n\
Running it again merges: files and rules you added to its ConfigMap are kept and loaded.\n\n\
--health-checker adds node-problem-detector's health checker (the kustomize component \
deploy/npd/health-checker/), which sets KubeletUnhealthy (the kubelet's /healthz) and \
ContainerRuntimeUnhealthy (`crictl pods` against the runtime's socket), read by KubeletHealthStatus and \
DockerHealthStatus. It is off by default because of what it grants: the pod runs in the node's network \
namespace (hostNetwork, needed for the kubelet's 127.0.0.1:10248), so the NetworkPolicy no longer applies \
to it; and it can connect to the container runtime's socket (mounted read-only, which does not limit a \
socket), so it could control every container on the node. The node's crictl is mounted read-only too \
(the image has none): every node needs it at --crictl (default /usr/bin/crictl), or the pod stays \
ContainerCreating there. Repair is disabled (--enable-repair=false): it reports, and never restarts the \
kubelet or the runtime. No D-Bus socket is mounted: without repair nothing asks systemd.\n\n\
Once installed, a plain `ke install npd` keeps the health checker with its settings (it says so); \
--no-health-checker removes it.")]
    #[command(after_help = "Examples:\n  \
ke install npd --dry-run                                   print what would be applied\n  \
ke install npd                                             install or update (keeps your edits)\n  \
ke install npd --health-checker                            with the health checker, containerd\n  \
ke install npd --health-checker --container-runtime cri-o --crictl /usr/local/bin/crictl\n  \
ke install npd --no-health-checker                         remove the health checker only")]
    Install(InstallArgs),
    /// Remove a component installed with `ke install`.
    Uninstall(UninstallArgs),
    /// The nightly job: inspect, write HTML/CSV/JSON reports, archive them, mail and post the digest.
    #[command(long_about = "The nightly job: one complete inspection, reports rendered as HTML, CSV and JSON \
and written locally first, archived in object storage (<store>/<cluster>/YYYY/MM/DD/<time>/report.*, \
<cluster>/latest.json, an index.html of every cluster), compared with the previous run, and a digest \
mailed and posted to Slack or webhooks. Each channel is retried on its own; one failing never stops \
the others.\n\nWith no config at all, `ke run --snapshot examples/demo-cluster` inspects the demo \
snapshot, archives to ./kubeeye-reports/ and prints the digest it would mail.\n\n\
Exit codes: 0 clean, 1 findings at failOn, 2 invalid config, 3 inspection incomplete, 4 a delivery failed \
(the local reports are written anyway). With --schedule it runs until SIGTERM or Ctrl-C, one run at a time.")]
    Run(RunArgs),
    /// Render a saved JSON report as HTML, CSV, a table, JSON or YAML.
    Render(RenderArgs),
    /// List or explain the built-in and custom rules.
    Rules {
        /// What to show.
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Run host rules on this node (what the node-check Job's container runs) and print one JSON result.
    #[command(name = "node-check")]
    #[command(long_about = "Run host rules on this node and print the result as one JSON line on stdout \
(schemas/node-check-result.schema.json); diagnostics go to stderr. This is what the per-node Job of `ke run` \
and `ke diag --node-checks` runs; you can run it by hand to see what a node would answer.\n\n\
The request (JSON: schemaVersion, node, rules, limits, previous, diskMounts, clockBeaconMillis) comes \
from a file (--request) or an environment variable (--request-env). Host paths are read under --host-root: \
the Job mounts the host's paths under /host. With clockBeaconMillis, lines {\"clock\": …} are printed \
every 100 ms for that long before the checks, for the inspection to read the clock while the pod runs; \
the result is always the last line.")]
    #[command(after_help = "Exit codes: 0 a result was printed (whatever the rules found); 2 the request is \
missing or invalid.\n\nExamples:\n  \
ke node-check --request req.json --host-root /         this machine\n  \
ke node-check --request-env KE_NODE_CHECK_REQUEST --host-root /host   in the Job")]
    NodeCheck(NodeCheckArgs),
    /// Print the config file's reference: its JSON Schema or the Markdown reference.
    Config {
        /// What to print.
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// `ke node-check` arguments.
#[derive(Debug, Args)]
pub struct NodeCheckArgs {
    /// Read the request from this file (`-` for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "request_env", required_unless_present = "request_env")]
    pub request: Option<PathBuf>,
    /// Read the request from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub request_env: Option<String>,
    /// Where the host's `/` is: host paths are read under it (`/host` in the Job).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub host_root: PathBuf,
    /// The system D-Bus for systemd rules (default: unix:path=<host-root>/run/dbus/system_bus_socket).
    #[arg(long, value_name = "ADDRESS")]
    pub system_bus: Option<String>,
}

/// `ke config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The config file's JSON Schema (draft-07), as in schemas/config.schema.json.
    Schema,
    /// Every key with its type, default, environment variable and an example, as in docs/config.md.
    Docs,
}

/// How to reach the cluster, as kubectl spells it.
#[derive(Debug, Args, Clone, Default)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Give up on the whole inspection after this long (e.g. 90s, 10m); what was read by then is reported.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration_arg)]
    pub timeout: std::time::Duration,
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    match crate::config::parse_duration(s)? {
        d if d.is_zero() => Err(format!("`{s}` is too short: durations here go from 1s to 366d")),
        d => Ok(d),
    }
}

/// `ke install` options.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The component.
    #[arg(value_enum)]
    pub component: Component,
    /// Print the manifests instead of sending them to the cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Add the health checker (KubeletUnhealthy, ContainerRuntimeUnhealthy): host network and the runtime socket; see above.
    #[arg(long, conflicts_with = "no_health_checker")]
    pub health_checker: bool,
    /// Remove the health checker installed earlier (a plain `ke install npd` keeps it).
    #[arg(long)]
    pub no_health_checker: bool,
    /// The runtime the health checker asks (its CRI socket) [default: as installed, else containerd].
    #[arg(long, value_enum, value_name = "RUNTIME", requires = "health_checker")]
    pub container_runtime: Option<crate::install::health_checker::Runtime>,
    /// Where crictl is on every node, mounted read-only [default: as installed, else /usr/bin/crictl].
    #[arg(long, value_name = "PATH", requires = "health_checker", value_parser = parse_crictl)]
    pub crictl: Option<String>,
    /// Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl InstallArgs {
    /// What to do with the health checker.
    pub fn health_checker(&self) -> crate::install::health_checker::Choice {
        use crate::install::health_checker::Choice;
        if self.no_health_checker {
            Choice::Disable
        } else if self.health_checker {
            Choice::Enable { runtime: self.container_runtime, crictl: self.crictl.clone() }
        } else {
            Choice::AsInstalled
        }
    }
}

fn parse_crictl(s: &str) -> Result<String, String> {
    if !s.starts_with('/') || s.split('/').any(|part| part == "..") || s.ends_with('/') {
        return Err(format!("`{s}` is not an absolute path to a file on the nodes (e.g. /usr/bin/crictl)"));
    }
    Ok(s.to_string())
}

/// `ke uninstall` options.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The component.
    #[arg(value_enum)]
    pub component: Component,
    /// Print the manifests instead of deleting them from the cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Components `ke install` manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Component {
    /// node-problem-detector.
    Npd,
}

/// `ke snapshot` options.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Directory to write (created; must be empty if it exists).
    #[arg(short, long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Cluster access.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Namespace selection.
    #[command(flatten)]
    pub scope: Scope,
    /// Config file (its `inspection:` settings: page size, log limits …).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write values as read. By default literal env values, ConfigMap data and
    /// kubectl's last-applied-configuration are masked, and secret-looking parts
    /// of args, commands, annotations, event messages and logs; the masked bundle
    /// gives the same findings.
    #[arg(long)]
    pub keep_values: bool,
}

/// `ke diag` options.
#[derive(Debug, Args)]
pub struct DiagArgs {
    /// Inspect these manifest files or directories instead of a live cluster (repeatable).
    #[arg(long, value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
    /// Cluster access (ignored with --snapshot).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Config file: inspection thresholds and windows, rule files (see examples/kubeeye.yaml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Cluster name shown in the report (default: the kubeconfig context or the snapshot's).
    #[arg(long)]
    pub cluster_name: Option<String>,
    /// Also write report.html, report.csv and report.json into this directory.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// A previous JSON report: mark findings new or open and list the resolved ones.
    #[arg(long, value_name = "REPORT.json")]
    pub previous: Option<PathBuf>,
    /// Also run the host rules (`target: Host`, KubeEye sysctl/systemd/file/nodeInfo
    /// rules) on the nodes they select, one short-lived Job per node in
    /// `nodeChecks.namespace` (install deploy/node-checks/ first). Without it,
    /// host rules are listed as not run.
    #[arg(long)]
    pub node_checks: bool,
}

/// `ke render` options.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A JSON report written by `ke diag -o json` or `ke run`.
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Html)]
    pub output: OutputFormat,
    /// A previous JSON report to compare with.
    #[arg(long, value_name = "REPORT.json")]
    pub previous: Option<PathBuf>,
}

/// `ke run` options. Everything can also come from the config file; flags win.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file (commented examples: examples/kubeeye.yaml, and `data.kubeeye.yaml` of deploy/configmap.yaml).
    #[arg(long, value_name = "FILE", env = "KE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Validate the config, rule files, storage and notification settings, then try each channel without
    /// delivering: list the store's prefix, connect (and log in) to SMTP, reach each webhook host (TLS
    /// included). Exit 0 when all answer, 2 for a config error, 4 when a channel cannot be reached.
    #[arg(long)]
    pub check_config: bool,
    /// Inspect these files or directories instead of the cluster (repeatable).
    #[arg(long, value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
    /// Cluster access.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Namespace selection (overrides the config's namespaces).
    #[command(flatten)]
    pub scope: Scope,
    /// Extra rule files (repeatable).
    #[arg(short = 'f', long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Exit with code 1 when a finding reaches this severity (overrides failOn).
    #[arg(long, value_enum, value_name = "SEVERITY", env = "KE_FAIL_ON")]
    pub fail_on: Option<FailOn>,
    /// Cluster name in reports and the archive (overrides the config's cluster).
    #[arg(long, env = "KE_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    /// Local report directory (overrides outputs.directory).
    #[arg(long, value_name = "DIR", env = "KE_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,
    /// Archive URL: s3://bucket/prefix, gs://…, az://…, file:///path (overrides storage.url).
    #[arg(long, value_name = "URL", env = "KE_STORE")]
    pub store: Option<String>,
    /// Keep running and inspect on this schedule: 5 cron fields as in a CronJob ("0 2 * * *"), or @daily.
    #[arg(long, value_name = "CRON", env = "KE_SCHEDULE")]
    pub schedule: Option<String>,
    /// Time zone of --schedule (IANA name such as Europe/Berlin; default UTC).
    #[arg(long, value_name = "TZ", requires = "schedule", env = "KE_TIME_ZONE")]
    pub time_zone: Option<String>,
}

/// Namespace selection, as kubectl spells it.
#[derive(Debug, Args, Clone, Default)]
pub struct Scope {
    /// Inspect only this namespace (repeatable); cluster-scoped objects are then skipped.
    #[arg(short, long, value_name = "NS", conflicts_with = "all_namespaces", value_parser = parse_namespace)]
    pub namespace: Vec<String>,
    /// Inspect every namespace (the default).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Skip this namespace (repeatable).
    #[arg(long, value_name = "NS", value_parser = parse_namespace)]
    pub exclude_namespace: Vec<String>,
}

fn parse_namespace(s: &str) -> Result<String, String> {
    crate::config::check_namespace(s).map(|()| s.to_string())
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
    /// Print the rule reference as Markdown (docs/rules.md): every rule, how it binds, a failing example.
    #[command(after_help = "Regenerate the shipped reference from the repository root:\n  \
cargo run -q -- rules docs > docs/rules.md")]
    Docs {
        /// Rule files whose custom checks to document too (repeatable).
        #[arg(short = 'f', long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Fixtures laid out as DIR/<rule-id>/fail*.yaml, shown as failing examples
        /// [default: tests/fixtures when it exists].
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
    },
}

/// Report formats of `ke diag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Grouped tables for the terminal.
    Table,
    /// The JSON report contract (schemas/report.schema.json).
    Json,
    /// The same report as YAML.
    Yaml,
    /// One row per finding, for spreadsheets.
    Csv,
    /// A self-contained HTML page.
    Html,
    /// SARIF 2.1.0 for code scanning (GitHub, GitLab): rules with help text, file and line for --snapshot.
    Sarif,
    /// JUnit XML for CI test reports: a failing test case per danger or warning finding.
    Junit,
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
    /// Any finding fails.
    Info,
}

impl FailOn {
    /// The lowest severity that fails.
    pub fn severity(self) -> crate::report::Severity {
        match self {
            FailOn::Danger => crate::report::Severity::Danger,
            FailOn::Warning => crate::report::Severity::Warning,
            FailOn::Info => crate::report::Severity::Info,
        }
    }
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

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal; `NO_COLOR` turns `auto` off.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn namespaces_are_labels_so_no_name_reaches_another_api_path() {
        for bad in ["default/secrets?x=", "../secrets", "Default", "a b", "-x", ""] {
            assert!(Cli::try_parse_from(["ke", "diag", "-n", bad]).is_err(), "{bad:?} accepted");
            assert!(Cli::try_parse_from(["ke", "diag", "--exclude-namespace", bad]).is_err(), "{bad:?} accepted");
        }
        assert!(Cli::try_parse_from(["ke", "diag", "-n", "kube-system", "-n", "shop-2"]).is_ok());
    }

    #[test]
    fn durations_out_of_range_are_refused() {
        assert!(Cli::try_parse_from(["ke", "diag", "--timeout", "9223372036854775807s"]).is_err());
        assert!(Cli::try_parse_from(["ke", "diag", "--timeout", "0s"]).is_err());
        assert!(Cli::try_parse_from(["ke", "diag", "--timeout", "90s"]).is_ok());
    }
}
