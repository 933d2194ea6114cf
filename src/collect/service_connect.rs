//! TCP connects to each Service's ClusterIP ports, from where the job runs
//! (KubeEye's `serviceConnect`). Off unless `inspection.serviceConnect.enabled`.
//!
//! Each Service with a ClusterIP and TCP ports becomes one `kubeeye.io/v1
//! ServiceProbe` object (same namespace and name, the Service's labels and
//! annotations, one entry per port: `open`, `refused`, `timeout` or `error`
//! with the OS's reason), which the `ServiceNotAnswering` check judges. The
//! connection is closed as soon as it is open; nothing is sent.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::config::ServiceConnectSettings;
use crate::inventory::{Inventory, Object};

/// The kind of the objects [`probe`] records.
pub const KIND: &str = "ServiceProbe";

/// One port to try.
struct Target {
    service: usize,
    name: Option<String>,
    port: u16,
    address: SocketAddr,
}

/// Connects to the TCP ports of every Service of the inventory that has a
/// ClusterIP, `concurrency` at a time, each within `timeout`; one
/// [`KIND`] object per Service probed.
pub async fn probe(inventory: &Inventory, settings: &ServiceConnectSettings) -> Vec<Object> {
    let services: Vec<&Object> = inventory
        .objects
        .iter()
        .filter(|o| o.id.kind == "Service" && o.id.group.is_empty() && cluster_ip(o).is_some())
        .collect();
    let targets: Vec<Target> = services
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let ips = cluster_ips(s);
            tcp_ports(s)
                .into_iter()
                .flat_map(move |(name, port)| {
                    ips.clone().into_iter().map(move |ip| Target {
                        service: i,
                        name: name.clone(),
                        port,
                        address: SocketAddr::new(ip, port),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let timeout = settings.timeout;
    let results: Vec<(Target, Value)> = futures::stream::iter(targets)
        .map(|t| async move {
            let result = connect(t.address, timeout).await;
            (t, result)
        })
        .buffer_unordered(settings.concurrency.max(1))
        .collect()
        .await;
    let mut ports: Vec<Vec<Value>> = vec![Vec::new(); services.len()];
    for (t, result) in results {
        let mut entry = json!({"port": t.port, "address": t.address.to_string()});
        if let (Some(map), Value::Object(r)) = (entry.as_object_mut(), result) {
            if let Some(name) = t.name {
                map.insert("name".into(), Value::String(name));
            }
            map.extend(r);
        }
        ports[t.service].push(entry);
    }
    services
        .iter()
        .zip(ports)
        .filter(|(_, ports)| !ports.is_empty())
        .filter_map(|(service, mut ports)| {
            ports.sort_by_key(|p| (p.get("port").and_then(Value::as_u64), p.get("address").map(Value::to_string)));
            let meta = service.metadata();
            Object::from_value(json!({
                "apiVersion": "kubeeye.io/v1",
                "kind": KIND,
                "metadata": {
                    "name": service.id.name,
                    "namespace": service.id.namespace,
                    "labels": meta.get("labels").cloned().unwrap_or(Value::Null),
                    "annotations": meta.get("annotations").cloned().unwrap_or(Value::Null),
                },
                "timeoutSeconds": timeout.as_secs_f64(),
                "ports": ports,
            }))
        })
        .collect()
}

/// `{"result": "open"}`, or why not: `refused`, `timeout`, `error` with the OS's reason.
async fn connect(address: SocketAddr, timeout: Duration) -> Value {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_stream)) => json!({"result": "open"}),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => json!({"result": "refused"}),
        Ok(Err(e)) => json!({"result": "error", "error": e.to_string()}),
        Err(_) => json!({"result": "timeout"}),
    }
}

/// The Service's ClusterIP, unless it is headless (`None`), an ExternalName
/// Service, or has none yet.
fn cluster_ip(service: &Object) -> Option<IpAddr> {
    let spec = service.raw.get("spec")?;
    if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        return None;
    }
    spec.get("clusterIP").and_then(Value::as_str)?.parse().ok()
}

/// Every ClusterIP of a dual-stack Service (`clusterIPs`), else its `clusterIP`.
fn cluster_ips(service: &Object) -> Vec<IpAddr> {
    let listed: Vec<IpAddr> = service
        .raw
        .get("spec")
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .map(|ips| ips.iter().filter_map(Value::as_str).filter_map(|ip| ip.parse().ok()).collect())
        .unwrap_or_default();
    if listed.is_empty() { cluster_ip(service).into_iter().collect() } else { listed }
}

/// The Service's TCP ports (protocol absent means TCP), with their names.
fn tcp_ports(service: &Object) -> Vec<(Option<String>, u16)> {
    let ports = service.raw.get("spec").and_then(|s| s.get("ports")).and_then(Value::as_array);
    ports
        .into_iter()
        .flatten()
        .filter(|p| p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == "TCP")
        .filter_map(|p| {
            let port = p.get("port").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0)?;
            Some((p.get("name").and_then(Value::as_str).map(str::to_string), port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(services: Vec<Value>) -> Inventory {
        let mut inventory = Inventory::default();
        for s in services {
            inventory.push(Object::from_value(s).expect("object"));
        }
        inventory
    }

    fn service(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
    }

    #[tokio::test]
    async fn open_refused_and_skipped_ports() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let open = listener.local_addr().expect("addr").port();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let inv = inventory(vec![
            service(
                "web",
                json!({"clusterIP": "127.0.0.1", "ports": [
                    {"name": "http", "port": open}, {"port": closed, "protocol": "TCP"},
                    {"name": "dns", "port": closed, "protocol": "UDP"}]}),
            ),
            service("headless", json!({"clusterIP": "None", "ports": [{"port": closed}]})),
            service(
                "mail",
                json!({"type": "ExternalName", "externalName": "smtp.example.com", "ports": [{"port": 25}]}),
            ),
        ]);
        let settings = ServiceConnectSettings { enabled: true, ..ServiceConnectSettings::default() };
        let probes = probe(&inv, &settings).await;
        assert_eq!(probes.len(), 1, "headless and ExternalName Services are not probed: {probes:?}");
        assert_eq!((probes[0].id.kind.as_str(), probes[0].id.name.as_str()), (KIND, "web"));
        let ports = probes[0].raw["ports"].as_array().expect("ports");
        assert_eq!(ports.len(), 2, "the UDP port is not probed: {ports:?}");
        let result = |port: u16| ports.iter().find(|p| p["port"] == port).map(|p| p["result"].clone());
        assert_eq!(result(open), Some(json!("open")));
        assert_eq!(result(closed), Some(json!("refused")));
        assert_eq!(ports.iter().find(|p| p["port"] == open).map(|p| p["name"].clone()), Some(json!("http")));
    }
}
