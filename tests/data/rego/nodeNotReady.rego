# KubeEye-style node module: a node whose Ready condition is not True.
# Equivalent built-in rule: NodeNotReady.
package kubeeye_nodes_rego

deny[msg] {
    input.Object.kind == "Node"
    condition := input.Object.status.conditions[_]
    condition.type == "Ready"
    condition.status != "True"
    msg := {
        "Name": input.Object.metadata.name,
        "Namespace": "",
        "Type": "Node",
        "Level": "danger",
        "Message": sprintf("node %s is not ready: %s", [input.Object.metadata.name, condition.reason])
    }
}
