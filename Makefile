# The two commands of the quick start, and the measurements.
.PHONY: run test deps venv build release bench measure measure-web screenshot

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build -c release

# The daemon on the embedded defaults: SQLite, the demo agent, http://127.0.0.1:8050/
run: build
	.build/debug/lph serve

# Every test: the folder graph without a cycle, the Swift suites, the dashboard in a real headless browser,
# cross-site requests from an attacker page, the speckit profile through the real
# specify-cli, a full disk and the inotify watch limit,
# malformed and slow HTTP clients and 1,000 SSE clients that never read,
# 200 kill -9 cycles of the real daemon under load, three nodes on one PostgreSQL
# with one killed (300 job files, streams across nodes), schemathesis against the
# API, and one quick run of the benchmark harness (proves it works; asserts no speed).
# Each step has a bound far above its usual time (the whole runs in about 12 minutes
# on 2 cores), so a hang fails fast, naming its step, instead of using up CI's time.
# The Swift tests run one at a time: each starts whole daemons, and in parallel on two
# cores every test's wait would be measured against the whole suite's CPU, not its own work.
BOUND = timeout --kill-after=30s
LPH = .build/debug/lph
VENV = .venv/bin/python
test: deps venv
	python3 scripts/folder-graph.py
	$(BOUND) 20m swift test --no-parallel
	$(BOUND) 10m $(VENV) Tests/Browser/dashboard_test.py $(LPH)
	$(BOUND) 5m $(VENV) Tests/Browser/csrf_test.py $(LPH)
	$(BOUND) 10m $(VENV) Tests/Agents/speckit_test.py $(LPH)
	$(BOUND) 15m python3 Tests/Reliability/crash_test.py $(LPH) --cycles 200
	$(BOUND) 10m python3 Tests/Reliability/limits_test.py $(LPH)
	$(BOUND) 10m python3 Tests/Reliability/http_abuse_test.py $(LPH)
	$(BOUND) 10m python3 Tests/Reliability/cluster_test.py $(LPH)
	$(BOUND) 10m $(VENV) Tests/Fuzz/api_fuzz_test.py $(LPH)
	$(BOUND) 10m python3 bench/run.py --quick $(LPH)

# The Python tools the tests drive (Selenium, schemathesis, specify-cli), in .venv.
venv:
	$(BOUND) 10m Tests/Support/make-venv.sh

# The pipeline against this machine's floors, side by side (release build):
# one table, also written to bench/results.json.
bench: release
	python3 bench/run.py .build/release/lph

# The README's picture of the dashboard with a job running.
screenshot: build venv
	$(VENV) Tests/Browser/dashboard_test.py $(LPH) docs/dashboard.png

# Backbone figures: lines stored per second and drop-to-start latency (release build).
measure: release
	python3 bench/backbone.py .build/release/lph

# Web figures: SSE fan-out to many clients, and the dashboard under a log flood (release build).
measure-web: release venv
	python3 bench/fanout.py .build/release/lph --clients 100 --rate 1000
	python3 bench/fanout.py .build/release/lph --clients 1000 --rate 100
	$(VENV) bench/dashboard.py .build/release/lph --rate 10000
