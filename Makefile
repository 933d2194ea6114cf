# The verbs of kubeeye development. `scripts/test` is what CI runs.
.PHONY: fmt lint test bench demo

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

test:
	scripts/test

bench:
	cargo bench --bench evaluate
	cargo bench --bench render
	cargo bench --bench scale
	cargo bench --bench scale -- --pods 3000

demo:
	cargo run --release -- run --snapshot examples/demo-cluster
