# A module far too slow on every node: stopped at the per-object time budget,
# then not run on the remaining objects (tests/rego.rs).
package slow

deny[msg] {
    input.Object.kind == "Node"
    xs := numbers.range(1, 4000)
    count([1 | xs[_]; xs[_]]) > 0
    msg := {"Message": "slow"}
}
