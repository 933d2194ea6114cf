//! Control-plane health for the live collector: the apiserver's
//! `/readyz?verbose` and `/livez` and its serving certificate, sent as one
//! late `APIServerHealth` object; the deprecated component statuses only when
//! `/readyz` cannot be read.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::client::{Api, status_error};
use super::live::Msg;
use super::{cert, pager, resources};
use crate::inventory::{CoverageGap, Object, section};

/// `/readyz?verbose`, `/livez` and the serving certificate as one `APIServerHealth` object.
pub(super) async fn health(api: Api, tx: mpsc::Sender<Msg>) {
    let mut health =
        json!({"apiVersion": "kubeeye.io/v1", "kind": "APIServerHealth", "metadata": {"name": "apiserver"}});
    let mut readyz_read = false;
    for (key, path) in [("readyz", "/readyz?verbose"), ("livez", "/livez")] {
        match api.get(path).await {
            Ok(answer) if answer.status != 401 && answer.status != 403 => {
                readyz_read |= key == "readyz";
                health[key] = json!({"status": answer.status, "body": String::from_utf8_lossy(&answer.body)});
            }
            Ok(answer) => {
                let _ = tx
                    .send(Msg::Gap(CoverageGap::error(section::CONTROL_PLANE, path, status_error(&answer).to_string())))
                    .await;
            }
            Err(e) => {
                let _ = tx.send(Msg::Gap(CoverageGap::error(section::CONTROL_PLANE, path, e.to_string()))).await;
            }
        }
    }
    let plain_http = url::Url::parse(&api.url).is_ok_and(|u| u.scheme() == "http");
    if plain_http {
        // `kubectl proxy` and the like: there is no serving certificate to read here.
        let gap = CoverageGap::unavailable(
            section::CONTROL_PLANE,
            "apiserver serving certificate",
            format!("{} is plain http (a proxy?): the certificate expiry check needs the https endpoint", api.url),
        );
        let _ = tx.send(Msg::Gap(gap)).await;
    } else {
        certificate(&api, &mut health, &tx).await;
    }
    let mut late: Vec<Object> = Object::from_value(health).into_iter().collect();
    if !readyz_read {
        // Without /readyz, the deprecated component statuses are all there is.
        let res = resources::COMPONENT_STATUSES;
        if let Ok(body) = api.get_ok(&res.path(None)).await
            && let Ok(list) = serde_json::from_slice::<Value>(&body)
        {
            let items = list.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            late.extend(items.into_iter().filter_map(|i| pager::to_object(i, res.kind, &res.api_version())));
        }
    }
    let _ = tx.send(Msg::Late(late)).await;
}

/// The serving certificate of an https API server, or an error gap.
async fn certificate(api: &Api, health: &mut Value, tx: &mpsc::Sender<Msg>) {
    match cert::serving_certificate(&api.url, Duration::from_secs(10)).await {
        Ok(cert) => health["certificate"] = cert,
        Err(e) => {
            let gap = CoverageGap::error(section::CONTROL_PLANE, "apiserver serving certificate", e);
            let _ = tx.send(Msg::Gap(gap)).await;
        }
    }
}
