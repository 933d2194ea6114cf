//! A kubeconfig that points a real client (the `ke` binary, kube-rs, kubectl) at the fake.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// The context (and cluster) name the kubeconfig defines.
pub const CONTEXT: &str = "fake";

/// The kubeconfig YAML: one cluster with the CA inline (when there is one), one token user, one current context.
pub fn render(server_url: &str, ca_pem: Option<&str>, token: &str) -> String {
    let mut cluster = json!({"server": server_url});
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] = STANDARD.encode(ca).into();
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": "kubeeye", "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "kubeeye"}}],
        "current-context": CONTEXT,
        "preferences": {},
    });
    serde_norway::to_string(&config).expect("a JSON value serializes to YAML")
}
