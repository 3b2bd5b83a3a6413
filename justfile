# Common tasks. `just --list` shows them.
venv := ".venv"

# Run the demo in ./subset-demo/: an embedded PostgreSQL (stopped after), a lab pipeline, its recipe
demo:
    {{venv}}/bin/subset demo

# Run the whole test suite (integration tests on MySQL/MariaDB and PostgreSQL)
test *args:
    {{venv}}/bin/python -m pytest {{args}}

# ruff, ruff format and mypy on both packages
lint:
    {{venv}}/bin/ruff check datajoint_core subsetter tests bench tools conformance
    {{venv}}/bin/ruff format --check datajoint_core subsetter tests bench tools conformance
    {{venv}}/bin/mypy

# Benchmarks with their baselines (not part of CI)
bench:
    {{venv}}/bin/python -m bench

# Start the local MariaDB and PostgreSQL servers if they are not running
services:
    pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
    mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 || start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd

# Create the development virtual environment
setup:
    python3 -m venv {{venv}} && {{venv}}/bin/pip install -e '.[test]'

# Run the reference DataJoint release's own test suite against datajoint_core (a report, not a gate)
conformance *args:
    {{venv}}/bin/python -m conformance {{args}}
