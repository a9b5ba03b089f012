# The README's commands. Each target bootstraps what it needs (scripts/bootstrap.sh).
.PHONY: bootstrap demo up down test bench lint
VENV := .venv/bin

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap  ## the whole pipeline on sample complaints; exits non-zero if any is lost
	$(VENV)/suqiu demo

up: bootstrap  ## start the pipeline in the background (PIDs and logs under .run/)
	$(VENV)/suqiu up

down:  ## stop what `make up` started
	@if [ -x $(VENV)/suqiu ]; then $(VENV)/suqiu down; else echo "nothing to stop"; fi

test: bootstrap  ## the whole test suite against real RabbitMQ and a real Mongo-protocol server
	$(VENV)/python -m pytest

bench: bootstrap  ## throughput and latency of the running pipeline (see README: Benchmark)
	$(VENV)/suqiu bench

lint: bootstrap
	$(VENV)/ruff check shared services suqiu tests
	$(VENV)/mypy shared services suqiu
