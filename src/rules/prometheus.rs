//! PromQL rules: a query asked of the cluster's Prometheus at the
//! inspection's time, where every series returned is a finding. This module
//! holds what is decided at load time: the query, the endpoint a KubeEye
//! `InspectRule` names, which labels name the finding's object, and the
//! message template with the series' labels and value.

use std::collections::BTreeMap;
use std::fmt;

/// How a `target: Prometheus` rule decides.
#[derive(Debug, Clone)]
pub struct PromQuery {
    /// The PromQL expression, run as an instant query.
    pub query: String,
    /// The Prometheus this rule asks (a KubeEye `spec.prometheusEndpoint`);
    /// `None`: the configured one (`inspection.prometheus`).
    pub endpoint: Option<String>,
    /// Which labels name the finding's object.
    pub object: ObjectFrom,
    /// The finding's message.
    pub message: Template,
}

/// Which series labels name a finding's object (`object:` of the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectFrom {
    /// `namespace` + `pod` a Pod (reported per controller), `namespace` +
    /// `deployment`/`statefulset`/`daemonset` the workload, `node` (then
    /// `instance`, port removed) a Node, `namespace` alone the Namespace,
    /// otherwise the cluster.
    #[default]
    Auto,
    /// A Node, from `node`, else `instance` (port removed): node-exporter
    /// series that also carry the exporter pod's `namespace` and `pod`.
    Node,
    /// A Pod from `namespace` + `pod`, reported per controller.
    Pod,
    /// The workload from `namespace` + `deployment`, `statefulset` or `daemonset`.
    Workload,
    /// The Namespace from `namespace`.
    Namespace,
    /// The cluster as a whole, whatever the labels.
    Cluster,
}

impl ObjectFrom {
    /// Parses `object:` of a rule.
    pub fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "Auto" | "auto" => Self::Auto,
            "Node" => Self::Node,
            "Pod" => Self::Pod,
            "Workload" => Self::Workload,
            "Namespace" => Self::Namespace,
            "Cluster" => Self::Cluster,
            other => {
                return Err(format!(
                    "object: unknown value `{other}` (expected Auto, Node, Pod, Workload, Namespace or Cluster)"
                ));
            }
        })
    }
}

/// One piece of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Label(String),
    Value,
}

/// A finding message with placeholders, in the syntax of Prometheus alerting
/// rules: `{{ $labels.mountpoint }}` (or `{{ .Labels.mountpoint }}`) and
/// `{{ $value }}` (or `{{ .Value }}`). Anything else in braces is a load error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses a template; the error names the placeholder that is not understood.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(format!("message: `{{{{` without a closing `}}}}` in `{text}`"));
            };
            let inner = after[..end].trim();
            let label = inner.strip_prefix("$labels.").or_else(|| inner.strip_prefix(".Labels."));
            let part = match (inner, label) {
                ("$value" | ".Value", _) => Part::Value,
                (_, Some(name)) if is_label_name(name) => Part::Label(name.to_string()),
                _ => {
                    return Err(format!(
                        "message: unknown placeholder `{{{{ {inner} }}}}` (use `{{{{ $labels.NAME }}}}` or `{{{{ $value }}}}`)"
                    ));
                }
            };
            parts.push(part);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Whether the template shows anything of the series (a label or the value).
    pub fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    /// The labels the template names.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Label(l) => Some(l.as_str()),
            _ => None,
        })
    }

    /// The message for one series; a label the series lacks is empty, as in Prometheus.
    pub fn render(&self, labels: &BTreeMap<String, String>, value: f64) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Label(l) => out.push_str(labels.get(l).map_or("", String::as_str)),
                Part::Value => out.push_str(&format_value(value)),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Label(l) => write!(f, "{{{{ $labels.{l} }}}}")?,
                Part::Value => f.write_str("{{ $value }}")?,
            }
        }
        Ok(())
    }
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A sample value for people: integers without a fraction, others with at
/// most four decimals, and Prometheus's spelling of the special values.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" || text == "-0" { format!("{value:e}") } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    #[test]
    fn templates_fill_labels_and_the_value() {
        let t = Template::parse("{{ $labels.mountpoint }} on {{.Labels.instance}} has {{ $value }}% left").unwrap();
        let l = labels(&[("mountpoint", "/var"), ("instance", "node-1:9100")]);
        assert_eq!(t.render(&l, 3.25), "/var on node-1:9100 has 3.25% left");
        assert_eq!(t.labels().collect::<Vec<_>>(), ["mountpoint", "instance"]);
        assert!(t.has_placeholders());
        assert_eq!(Template::parse("no {{ $labels.missing }}here").unwrap().render(&l, 1.0), "no here");
        assert!(!Template::parse("plain text").unwrap().has_placeholders());
    }

    #[test]
    fn template_errors_name_the_placeholder() {
        assert!(Template::parse("{{ $labels }}").unwrap_err().contains("`{{ $labels }}`"));
        assert!(Template::parse("{{ humanize $value }}").unwrap_err().contains("unknown placeholder"));
        assert!(Template::parse("{{ $labels.9x }}").is_err());
        assert!(Template::parse("open {{ $value").unwrap_err().contains("without a closing"));
    }

    #[test]
    fn values_read_as_people_write_them() {
        assert_eq!(format_value(42.0), "42");
        assert_eq!(format_value(0.123456), "0.1235");
        assert_eq!(format_value(-0.06), "-0.06");
        assert_eq!(format_value(0.00001234), "1.234e-5");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }

    #[test]
    fn object_names_parse() {
        assert_eq!(ObjectFrom::parse("Node"), Ok(ObjectFrom::Node));
        assert!(ObjectFrom::parse("Deployment").unwrap_err().contains("expected Auto"));
    }
}
