# rdma-deploy: top-level entry points. Every target installs the Debian packages it lacks first
# (`make deps`), so `make demo` and `make test` work on a fresh Debian 12 machine as root.
SHELL   := /bin/bash
BUILD   ?= build
JOBS    ?= $(shell nproc)
DISTRO  ?= bookworm
TIMED   := scripts/timed

.PHONY: deps build package unit lint fuzz e2e e2e-lab e2e-full e2e-kernel test demo bench clean help

help:
	@echo "make demo      boot a Soft-RoCE lab node, deploy the inbox stack on it, print the agent's verdict"
	@echo "make test      unit + lint + fuzz, then the Debian 12 lab end-to-end suite (CI runs this)"
	@echo "make unit      build, unit and fixture tests, lint, fuzz (no VM)"
	@echo "make e2e       the Debian 12 lab end-to-end suite only"
	@echo "make e2e-lab   only the lab's own tests (rdma-core and perftest tools on 2 nodes)"
	@echo "make e2e-full  the end-to-end suite on Debian 12, 13 and 11"
	@echo "make e2e-kernel  build linux-source-6.1 + patches/rxe-lab, boot it on a lab node through the trial"
	@echo "make bench     benchmarks under bench/ (needs the lab)"
	@echo "make deps      install the Debian packages the project needs (root)"

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The agent as a Debian package (CPack), for the control node's own release.
package: build
	@cd $(BUILD) && cpack -G DEB >/dev/null && ls -1 $(CURDIR)/$(BUILD)/rdma-agent_*.deb

lint: deps
	@$(TIMED) lint scripts/lint.sh

fuzz: deps
	@$(TIMED) fuzz scripts/fuzz.sh

unit: build
	@$(TIMED) unit-tests ctest --test-dir $(BUILD) --output-on-failure -LE lab
	@$(TIMED) deploy-tests tests/deploy/run.sh
	@$(TIMED) kernel-tools-tests tests/kernel/run.sh
	@$(TIMED) lab-tests /usr/bin/python3 tests/lab/test_lab.py
	@$(TIMED) fleet-tests tests/fleet/run.sh
	@$(TIMED) abi-guard-tests env RDMA_ABI_GUARD_AGENT=$(abspath $(BUILD))/rdma-agent tests/abi-guard/run.sh
	@$(TIMED) bundle-tests tests/bundle/run.sh
	@$(TIMED) txn-tool-tests /usr/bin/python3 tests/txn/test_rdma_txn.py
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory fuzz

e2e: package
	@$(TIMED) "e2e ($(DISTRO))" tests/e2e/run.sh --distro $(DISTRO)

e2e-lab: deps
	@$(TIMED) "e2e-lab ($(DISTRO))" tests/e2e/run.sh --distro $(DISTRO) --suites lab

e2e-full: package
	@$(TIMED) "e2e-full" tests/e2e/run.sh --full

# Issue 6: a kernel built from Debian's linux-source-6.1 with the project's series, deployed to a
# 1-node lab and booted through the one-shot trial (30-90 min for the build on 2 cores, cached).
e2e-kernel: package
	@scripts/deps.sh kernel
	@$(TIMED) "e2e-kernel" tests/kernel/e2e-kernel.sh

test:
	@$(TIMED) "make test" $(MAKE) --no-print-directory unit e2e

demo: package
	@scripts/demo.sh

bench: package
	@$(TIMED) bench bench/run.sh

clean:
	rm -rf $(BUILD)
