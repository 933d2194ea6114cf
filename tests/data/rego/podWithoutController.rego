# KubeEye-style module: a pod no controller owns (it will not come back if
# its node goes). Equivalent built-in rule: nakedPod.
package kubeeye_workloads_rego

deny[msg] {
    input.Object.kind == "Pod"
    not owned(input.Object)
    msg := {
        "Name": input.Object.metadata.name,
        "Namespace": input.Object.metadata.namespace,
        "Type": "Pod",
        "Message": "NakedPod"
    }
}

owned(pod) {
    count(pod.metadata.ownerReferences) > 0
}
