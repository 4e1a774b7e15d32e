# tpdiag - device diagnostics and after-sales system.
#
#   make            build everything into build/
#   make test       unit + integration tests (installs missing deps first)
#   make check      the same suite under ASan+UBSan (build-san/)
#   make fuzz       coverage-guided fuzzing of every parser (clang libFuzzer)
#   make demo       local end-to-end demo: fan wears out -> claim
#   make bench      footprint, latency, ingest and scale beside references (a table)
#   make eval       how early and how accurately claims call failures (FLEET=DIR, or generated)
#   make deps       install the Debian packages needed (no-op when present)
#   make fresh      `make demo` + `make test` of the committed HEAD in a bare Debian root (root)
#   make install    PREFIX=/usr/local DESTDIR= (rebuilds when PREFIX changed)
#   make uninstall  the same variables
#
# CC, CFLAGS, LDFLAGS, BUILD are overridable.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
PKG_CONFIG ?= pkg-config
# Where tpcollect serves its console and tracking page from (cloud/web/ installed).
WEBDIR  ?= $(PREFIX)/share/tpdiag/web
# Business calendars per region (cloud/calendars/REGION.json installed).
CALDIR  ?= $(PREFIX)/share/tpdiag/calendars
# Config files (PROGRAM.conf) read by default: /etc/tpdiag for PREFIX=/usr.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc/tpdiag,$(PREFIX)/etc/tpdiag)
# Man pages (man/, written for PREFIX=/usr/local: install puts in the real
# paths) and systemd units (systemd/*.service.in, paths filled in).
MANDIR  ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MAN1    := man/tpdiag.1 man/tpclaim.1 man/tpsim.1 man/tpkey.1
MAN8    := man/tpdiagd.8 man/tpcollect.8
UNITS   := tpdiagd.service tpcollect.service
# Debian's libjs-* packages (the console's charts: libjs-dygraphs), served under /lib/.
JSDIR   ?= /usr/share/javascript

PKGS    := libmosquitto libcjson sqlite3 libpq libmicrohttpd inih libcurl
# What tpdiagd and tpdiag link (`make agent`, and every cross build).
AGENT_PKGS := libmosquitto libcjson inih

# Cross builds: `make CROSS_COMPILE=aarch64-linux-gnu-` (or mipsel-linux-gnu-)
# with Debian's cross gcc and the target's multiarch -dev packages (`make
# cross` installs them). pkg-config reads only the target's .pc files, so no
# host flag (-I/usr/include/x86_64-linux-gnu) leaks in; only the agent is
# built, into build-TRIPLET/.
CROSS_COMPILE ?=
ifneq ($(CROSS_COMPILE),)
CROSS_TRIPLET := $(patsubst %-,%,$(CROSS_COMPILE))
ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif
BUILD := build-$(CROSS_TRIPLET)
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS_TRIPLET)/pkgconfig:/usr/share/pkgconfig pkg-config
PKGS := $(AGENT_PKGS)
.DEFAULT_GOAL := agent
endif
DEB_PKGS := build-essential pkg-config libmosquitto-dev libcjson-dev libmbedtls-dev \
	    libsqlite3-dev libmicrohttpd-dev libinih-dev libcurl4-openssl-dev \
	    libcmocka-dev libcsv-dev mosquitto mosquitto-clients sqlite3 curl openssl python3 tmux \
	    prometheus python3-aiosmtpd libjs-dygraphs chromium mandoc systemd libpq-dev postgresql \
	    libnats-dev nats-server

WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
# Evaluated when a recipe first needs them, not when make reads this file:
# on a bare machine `make deps-check` installs the packages first (every
# object and program waits for it, below), and only then is pkg-config asked.
# Each asks once per make (the eval/:= idiom caches the answer).
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)
ALL_CFLAGS = $(WARN) -ffunction-sections -fdata-sections -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) \
	      -DTPD_DATADIR='"$(PREFIX)/share/tpdiag"' -DTPD_WEBDIR='"$(WEBDIR)"' \
	      -DTPD_CALDIR='"$(CALDIR)"' \
	      -DTPD_SYSCONFDIR='"$(SYSCONFDIR)"' -DTPD_JSDIR='"$(JSDIR)"' $(CFLAGS)
# sd_notify (READY, STOPPING, WATCHDOG) for tpcollect when libsystemd-dev is
# installed; without it the collector runs the same, minus the notifications.
HAVE_SYSTEMD = $(eval HAVE_SYSTEMD := $(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo yes))$(HAVE_SYSTEMD)
# tpcollect --broker nats:// (cloud/broker_nats.c) when libnats-dev is
# installed (make deps installs it); without it that module is a stub that
# says so, and mqtt:// works the same.
HAVE_NATS = $(eval HAVE_NATS := $(shell $(PKG_CONFIG) --exists libnats 2>/dev/null && echo yes))$(HAVE_NATS)
# mbedTLS 2.28 and libcsv ship no .pc file.
MBED_LIBS  = -lmbedtls -lmbedx509 -lmbedcrypto
LIBS       = $(PKG_LIBS) $(MBED_LIBS) -lm
# What only the collector's modules (libtpcloud.a) add: the registry's CSV.
CLOUD_LIBS = -lcsv

# The agent core and what the collector and tools share.
LIB_SRCS := src/err.c src/wire.c src/trace.c src/product.c src/detect.c src/telem.c \
	    src/report.c src/statefile.c src/jws.c src/agent.c src/board.c src/board_sim.c src/board_linux.c src/board_linux_probe.c src/sysfs.c src/selfcheck.c \
	    src/mqtt.c src/cli.c src/jsonfile.c src/cmd.c src/spool.c src/inflight.c src/localsock.c src/counters.c \
	    src/trend.c src/cusum.c src/predict.c src/utf8.c src/log.c src/units.c
# The collector's modules (its main is cloud/tpcollect.c).
CLOUD_SRCS := cloud/ingest.c cloud/store.c cloud/store_sqlite.c cloud/store_pg.c cloud/registry.c \
	      cloud/claims.c cloud/api.c cloud/collector.c cloud/calendar.c cloud/policy.c \
	      cloud/lifecycle.c cloud/tokens.c cloud/devices.c cloud/fleet.c cloud/pool.c cloud/seqgap.c \
	      cloud/events.c cloud/metrics.c cloud/webhook.c cloud/telem_codec.c cloud/workcal.c \
	      cloud/rollup.c cloud/broker_nats.c

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLOUD_OBJS := $(CLOUD_SRCS:%.c=$(BUILD)/%.o)
PROGS      := $(BUILD)/tpdiagd $(BUILD)/tpdiag $(BUILD)/tpcollect $(BUILD)/tpclaim $(BUILD)/tpkey \
	      $(BUILD)/tpsim

UNIT_TESTS := test_wire test_trace test_product test_detect test_telem test_jws \
	      test_agent test_statefile test_ingest test_store test_claims test_registry test_cli \
	      test_policy test_lifecycle test_cmd test_spool test_board_linux test_counters \
	      test_trend test_predict test_selfcheck test_fleet test_utf8 test_webhook \
	      test_seqgap test_log test_mqtt test_telem_codec test_pool test_units test_workcal
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/tests/%)
# Programs the integration scenarios drive (not tests by themselves).
HELPER_BINS := $(BUILD)/tests/crash_sub

# Fuzz targets for every parser of outside input (tests/fuzz/). `make test`
# links them with a corpus-replay driver; `make fuzz` with clang's libFuzzer.
FUZZ_TARGETS := fuzz_json_files fuzz_ingest fuzz_device_input fuzz_webhooks fuzz_registry_csv \
                fuzz_telem_codec fuzz_units fuzz_workcal
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

# Keep the objects of pattern-built binaries (tests, fuzz targets): make would
# otherwise delete them as intermediates, rebuild them next time, and print
# its "rm" after the suite's closing "tests: N passed, M failed" line.
.SECONDARY:

.PHONY: all test check demo eval bench soak deps deps-check clean install uninstall unit fuzz fresh \
	agent cross FORCE

all: deps-check $(PROGS)

# The product's programs alone, linked with only what they need.
agent: PKGS := $(AGENT_PKGS)
agent: deps-check $(BUILD)/tpdiagd $(BUILD)/tpdiag

# DEPS_CHECK=0: no package check or install (a distribution's build system,
# e.g. OpenWrt's, brings the libraries: openwrt/tpdiag/Makefile).
DEPS_CHECK ?= 1
ifeq ($(DEPS_CHECK),0)
deps-check:
	@:
else ifneq ($(CROSS_COMPILE),)
deps-check:
	@command -v $(CC) >/dev/null 2>&1 && $(PKG_CONFIG) --exists $(AGENT_PKGS) \
	  && test -f /usr/lib/$(CROSS_TRIPLET)/libmbedtls.so \
	  || { echo "$(CROSS_TRIPLET): no cross compiler or target libraries (make cross installs them)"; exit 1; }
else
deps-check:
	@$(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && test -f /usr/include/mbedtls/pk.h \
	  && test -f /usr/include/csv.h \
	  && test -f /usr/include/cmocka.h && command -v mosquitto >/dev/null 2>&1 \
	  && command -v sqlite3 >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 \
	  && command -v tmux >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
	  && command -v chromium >/dev/null 2>&1 && test -d /usr/share/javascript/dygraphs \
	  && command -v mandoc >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1 \
	  && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null \
	  || $(MAKE) --no-print-directory deps
endif

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null

# The install paths compiled in (TPD_DATADIR, TPD_SYSCONFDIR): the stamp
# changes only when they do, and then every object is rebuilt, so
# `make install PREFIX=/opt/tpdiag` after `make` installs programs that
# look in /opt/tpdiag, not in the prefix of the first build.
PATHS_STAMP := $(BUILD)/.paths
$(PATHS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo 'PREFIX=$(PREFIX) SYSCONFDIR=$(SYSCONFDIR) WEBDIR=$(WEBDIR) CALDIR=$(CALDIR)' | \
	  cmp -s - $@ || \
	  echo 'PREFIX=$(PREFIX) SYSCONFDIR=$(SYSCONFDIR) WEBDIR=$(WEBDIR) CALDIR=$(CALDIR)' > $@
FORCE:

# deps-check is order-only: it runs (once) before any compile, also under -j,
# but its running never makes an object out of date.
$(BUILD)/%.o: %.c $(PATHS_STAMP) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Tests reach into the collector's internal headers.
$(BUILD)/tests/%.o: ALL_CFLAGS += -Icloud

$(BUILD)/libtpd.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/libtpcloud.a: $(CLOUD_OBJS)
	$(AR) rcs $@ $^

# The agent's programs drop the library functions they never call (every
# object is built with one section per function): what goes into firmware.
AGENT_LDFLAGS := -Wl,--gc-sections

$(BUILD)/tpdiagd: $(BUILD)/src/tpdiagd.o $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(AGENT_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/cloud/tpcollect.o: ALL_CFLAGS += $(if $(HAVE_SYSTEMD),-DTPD_HAVE_SYSTEMD)
$(BUILD)/cloud/broker_nats.o: ALL_CFLAGS += $(if $(HAVE_NATS),-DTPD_HAVE_NATS)

$(BUILD)/tpcollect: $(BUILD)/cloud/tpcollect.o $(BUILD)/libtpcloud.a $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(CLOUD_LIBS) $(LIBS) $(if $(HAVE_SYSTEMD),-lsystemd) \
	  $(if $(HAVE_NATS),$(shell $(PKG_CONFIG) --libs libnats)) -lpthread -o $@

# tpclaim reads registry CSVs and makes tokens with the collector's modules.
$(BUILD)/tools/tpclaim.o: ALL_CFLAGS += -Icloud

$(BUILD)/tpclaim: $(BUILD)/tools/tpclaim.o $(BUILD)/libtpcloud.a $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(CLOUD_LIBS) $(LIBS) -lpthread -o $@

$(BUILD)/tpdiag: $(BUILD)/tools/tpdiag.o $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(AGENT_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tpsim: $(BUILD)/tools/tpsim.o $(BUILD)/tools/tpsim_gen.o $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tpkey: $(BUILD)/tools/tpkey.o $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libtpcloud.a $(BUILD)/libtpd.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(CLOUD_LIBS) $(LIBS) -lcmocka -lpthread -o $@

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/driver.o $(BUILD)/libtpcloud.a $(BUILD)/libtpd.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(CLOUD_LIBS) $(LIBS) -lpthread -o $@

unit: all $(UNIT_BINS) $(FUZZ_BINS) $(HELPER_BINS)

test: all $(UNIT_BINS) $(FUZZ_BINS) $(HELPER_BINS)
	@BUILD=$(BUILD) tests/run.sh

# Coverage-guided fuzzing, FUZZ_SECONDS per target (needs clang and its
# libFuzzer runtime; installed if missing). Any sanitizer report stops the
# target. A crash (or leak, timeout, OOM) fails the run: libFuzzer writes the
# input as build-fuzz/artifacts/TARGET/crash-*, and it is copied into the
# target's seed corpus so `make test` replays it once it is committed.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
fuzz: deps-check
	@command -v clang >/dev/null 2>&1 \
	  && test -f "$$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$$(uname -m).a" \
	  || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang libclang-rt-dev >/dev/null; }
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)" LDFLAGS="$(FUZZ_SAN)" all
	@mkdir -p build-fuzz/fuzz
	@fail=0; for t in $(FUZZ_TARGETS); do \
	  seeds=tests/fuzz/corpus/$${t#fuzz_}; art=build-fuzz/artifacts/$$t; \
	  clang $(ALL_CFLAGS) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -Icloud tests/fuzz/$$t.c \
	    build-fuzz/libtpcloud.a build-fuzz/libtpd.a $(CLOUD_LIBS) $(LIBS) -lpthread -o build-fuzz/fuzz/$$t || exit 1; \
	  mkdir -p build-fuzz/corpus/$$t $$art; rm -f $$art/*; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  if build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=$$art/ \
	      build-fuzz/corpus/$$t $$seeds > build-fuzz/$$t.log 2>&1; then \
	    sed -n "s/^\(Done [0-9]* runs in [0-9]* second.*\)/fuzz: $$t: \1/p" build-fuzz/$$t.log; \
	  else \
	    fail=1; tail -n 40 build-fuzz/$$t.log; echo "fuzz: $$t FAILED (log: build-fuzz/$$t.log)"; \
	    for a in $$art/*; do [ -f "$$a" ] || continue; cp "$$a" $$seeds/; \
	      echo "fuzz: $$t: input kept as $$seeds/$${a##*/} (commit it: make test replays it)"; done; \
	  fi; \
	done; exit $$fail

check:
	$(MAKE) --no-print-directory test BUILD=build-san \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined"

demo: all
	@tools/demo.sh $(BUILD)

# README's two commands, first try, on a bare Debian bookworm root (mmdebstrap
# + chroot; needs root). Tests the committed HEAD, not the working tree.
fresh:
	@tests/fresh.sh

# Benchmark helpers (tools/bench/): the footprint floor and load generators.
BENCH_BINS := $(BUILD)/bench/floor $(BUILD)/bench/bench_load $(BUILD)/bench/predict_replay

$(BUILD)/bench/floor: tools/bench/floor.c $(PATHS_STAMP) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(LIBS) -o $@

$(BUILD)/bench/bench_load: $(BUILD)/tools/bench/bench_load.o $(BUILD)/libtpd.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

# The edge detectors alone over a labelled fleet, for tuning (README "Evaluation").
$(BUILD)/bench/predict_replay: $(BUILD)/tools/bench/predict_replay.o $(BUILD)/libtpd.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

# A benchmark, not a test: prints each figure beside its reference and target.
bench: all $(BENCH_BINS)
	@command -v collectd >/dev/null 2>&1 || test -x /usr/sbin/collectd || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends collectd-core >/dev/null; }
	@tools/bench/bench.sh $(BUILD)

# Robustness under a long mixed load (SOAK_SECONDS, default 600): valid
# reports, 1 % hostile ones and slow HTTP clients; fails when a valid report
# is not stored or the collector dies.
soak: all
	@tools/soak.sh $(BUILD)

# A benchmark, not a test: prints recall, false claims and lead time per scenario.
eval: all
	@tools/eval.sh $(BUILD) $(FLEET)

# Everything the programs need under $(DESTDIR)$(PREFIX): programs, product
# descriptions and demo traces, the warranty policy, the regions' business
# calendars (CALDIR), the broker config and ACL (examples: copy them to
# /etc/mosquitto/), example configs (into
# $(SYSCONFDIR), never over an existing one), and the demo
# ($(PREFIX)/share/tpdiag/tools/demo.sh $(PREFIX)/bin).
DATADIR := $(PREFIX)/share/tpdiag
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/boards/traces \
	  $(DESTDIR)$(DATADIR)/mosquitto $(DESTDIR)$(DATADIR)/tools/lib $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 boards/*.json $(DESTDIR)$(DATADIR)/boards/
	install -m 0644 boards/traces/*.csv $(DESTDIR)$(DATADIR)/boards/traces/
	install -m 0644 cloud/warranty.json $(DESTDIR)$(DATADIR)/warranty.json
	install -m 0644 cloud/mosquitto/tpdiag.conf cloud/mosquitto/acl $(DESTDIR)$(DATADIR)/mosquitto/
	install -m 0755 tools/demo.sh $(DESTDIR)$(DATADIR)/tools/demo.sh
	install -m 0644 tools/lib/stack.sh $(DESTDIR)$(DATADIR)/tools/lib/stack.sh
	install -d $(DESTDIR)$(WEBDIR)
	install -m 0644 cloud/web/* $(DESTDIR)$(WEBDIR)/
	install -d $(DESTDIR)$(CALDIR)
	install -m 0644 cloud/calendars/*.json $(DESTDIR)$(CALDIR)/
	for c in tpdiagd tpcollect tpclaim; do \
	  test -e $(DESTDIR)$(SYSCONFDIR)/$$c.conf || install -m 0644 etc/$$c.conf $(DESTDIR)$(SYSCONFDIR)/; \
	done
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR)
	for m in $(MAN1) $(MAN8); do \
	  d=$(DESTDIR)$(MANDIR)/man$${m##*.}; \
	  sed -e 's|/usr/local/etc/tpdiag|$(SYSCONFDIR)|g' -e 's|/usr/local/share/tpdiag/web|$(WEBDIR)|g' \
	      -e 's|/usr/local/share/tpdiag|$(DATADIR)|g' $$m > $$d/$${m##*/} && chmod 0644 $$d/$${m##*/} || exit 1; \
	done
	for u in $(UNITS); do \
	  sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	      -e 's|@TYPE@|$(if $(HAVE_SYSTEMD),notify,simple)|' -e 's|@WATCHDOG@|$(if $(HAVE_SYSTEMD),,#)|' \
	      systemd/$$u.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done

# Removes what install put there, except the config files (they may have
# been edited): those are listed for the operator to remove.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(PROGS)))
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(WEBDIR) $(DESTDIR)$(CALDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
	  $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS))
	@for c in tpdiagd tpcollect tpclaim; do \
	  test -e $(DESTDIR)$(SYSCONFDIR)/$$c.conf && echo "uninstall: kept $(DESTDIR)$(SYSCONFDIR)/$$c.conf"; \
	done; true

# The agent for each CROSS_TARGETS triplet: installs Debian's cross gcc and
# the target's -dev packages when missing (dpkg --add-architecture), builds,
# checks `file` says the target's ELF and prints the stripped size.
CROSS_TARGETS ?= aarch64-linux-gnu mipsel-linux-gnu
cross:
	@tools/cross.sh $(CROSS_TARGETS)

clean:
	rm -rf build build-san build-fuzz build-aarch64-linux-gnu build-mipsel-linux-gnu

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
