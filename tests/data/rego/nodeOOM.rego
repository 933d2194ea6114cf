# KubeEye-style event module: the kernel killed a process for memory on a node
# (node-problem-detector's OOMKilling events). Equivalent built-in rule: NodeOOM.
package kubeeye_events_rego

deny[msg] {
    input.Object.kind == "Event"
    input.Object.type == "Warning"
    input.Object.reason == "OOMKilling"
    input.Object.involvedObject.kind == "Node"
    msg := {
        "Name": input.Object.involvedObject.name,
        "Namespace": "",
        "Type": "Node",
        "Level": "warning",
        "Message": "NodeOOMKilling"
    }
}
