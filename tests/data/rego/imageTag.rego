# KubeEye-style module (tests/rego.rs): images without a tag, or tagged latest.
# Equivalent built-in rule: tagNotSpecified.
package kubeeye_workloads_rego

workloadsType := {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}

deny[msg] {
    resource := input
    container := containers(resource.Object)[_]
    untagged(container.image)
    msg := {
        "Name": resource.Object.metadata.name,
        "Namespace": resource.Object.metadata.namespace,
        "Type": resource.Object.kind,
        "Level": "danger",
        "Message": "ImageTagNotSpecified"
    }
}

# One helper, a body per kind of object.
containers(object) = c {
    object.kind == "Pod"
    c := object.spec.containers
}
containers(object) = c {
    workloadsType[object.kind]
    c := object.spec.template.spec.containers
}
containers(object) = c {
    object.kind == "CronJob"
    c := object.spec.jobTemplate.spec.template.spec.containers
}

untagged(image) {
    not regex.match(`:[^/:]+$`, image)
    not contains(image, "@sha256:")
}
untagged(image) {
    endswith(image, ":latest")
}
