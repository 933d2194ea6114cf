# KubeEye-style RBAC module with two kinds of message, so each Message is its own rule.
# Equivalent built-in rules: rolePodExecAttach, clusterrolebindingClusterAdmin.
package kubeeye_rbac_rego

deny[msg] {
    input.Object.kind == "Role"
    rule := input.Object.rules[_]
    allows(rule.resources, {"pods/exec", "pods/attach", "pods/*", "*"})
    allows(rule.verbs, {"create", "get", "*"})
    msg := {
        "Name": input.Object.metadata.name,
        "Namespace": input.Object.metadata.namespace,
        "Type": "Role",
        "Level": "danger",
        "Message": "RoleAllowsPodExec"
    }
}

deny[msg] {
    input.Object.kind == "ClusterRoleBinding"
    input.Object.roleRef.name == "cluster-admin"
    subject := input.Object.subjects[_]
    not regex.match("^system:", subject.name)
    msg := {
        "Name": input.Object.metadata.name,
        "Namespace": "",
        "Type": "ClusterRoleBinding",
        "Level": "danger",
        "Message": "ClusterAdminBound"
    }
}

allows(listed, wanted) {
    item := listed[_]
    wanted[item]
}
