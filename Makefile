# pinotops.pinot — the two commands that matter are `make demo` and `make test`.
.PHONY: demo test units sanity lint docs build system system-0.11 system-mixed bench down

# Start a local Pinot cluster and Kubernetes control plane, decommission one server, show before/after.
demo:
	bash tests/tooling/demo.sh

# Every test: unit, sanity, lint, docs, build, and the system tests against a real cluster.
test:
	bash tests/tooling/run_tests.sh

units sanity lint docs build system system-0.11 system-mixed:
	STAGES=$@ bash tests/tooling/run_tests.sh

# Performance benchmarks (long, not part of `make test`); exits non-zero while a budget is missed. See docs/performance.md.
bench:
	bash -c 'eval "$$(tests/tooling/bootstrap.sh 2.19)" && $$VENV/bin/python tests/bench/run_bench.py'

# Stop whatever the demo, an interrupted test run or the benchmarks left running.
down:
	bash tests/tooling/down.sh
