# A module that fails on nodes only (a complete rule with two values):
# each node is a coverage entry naming the rule and the node (tests/rego.rs).
package failing

size = 1 { input.Object.kind == "Node" }
size = 2 { input.Object.kind == "Node" }

deny[msg] {
    size == 3
    msg := {"Message": "never"}
}
