//! `imageRegistry` (rule `PodSetImageRegistry`): an image is not from an allowed registry.

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::index::Index;
use crate::checks::workload::Workload;
use crate::checks::{ContainerRef, Outcome};

pub(super) const CHECK: CodeCheck = CodeCheck { name: "imageRegistry", run: Run::Container(run) };

fn run(_: &Workload<'_>, c: &ContainerRef<'_>, index: &Index<'_>) -> Outcome {
    if index.allowed_registries.is_empty() {
        return Outcome::Skip;
    }
    let image = c.raw.get("image").and_then(Value::as_str).unwrap_or_default();
    let name = normalized_image(image);
    let allowed = index.allowed_registries.iter().any(|r| {
        let r = r.trim_end_matches('/');
        name == r || name.starts_with(&format!("{r}/"))
    });
    if allowed {
        Outcome::Pass
    } else {
        Outcome::Fail(Some(format!(
            "Image {image} is not from an allowed registry ({})",
            index.allowed_registries.join(", ")
        )))
    }
}

/// `nginx` → `docker.io/library/nginx`, `quay.io/x/y:1` → `quay.io/x/y` (tag and digest removed).
fn normalized_image(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let (path, last) = match without_digest.rsplit_once('/') {
        Some((p, l)) => (Some(p), l),
        None => (None, without_digest),
    };
    let last = last.split(':').next().unwrap_or(last);
    let name = match path {
        Some(p) => format!("{p}/{last}"),
        None => last.to_string(),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        name
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        assert_eq!(normalized_image("nginx:1.25"), "docker.io/library/nginx");
        assert_eq!(normalized_image("bitnami/redis"), "docker.io/bitnami/redis");
        assert_eq!(normalized_image("quay.io/prometheus/node-exporter:v1.7.0"), "quay.io/prometheus/node-exporter");
        assert_eq!(normalized_image("registry:5000/app@sha256:abcd"), "registry:5000/app");
        assert_eq!(normalized_image("localhost/app:1"), "localhost/app");
    }
}
