# gantry: one Makefile, explicit source lists.
#   make            build build/gantry
#   make test       bootstrap, build with ASan+UBSan, run every test
#   make demo       bootstrap, build, run the bundled example and its dry run
#   make bench      benchmarks side by side with their peers (bench/)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each, default 60)
#   make install    PREFIX=/usr/local DESTDIR=

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= gcc
ifeq ($(CC),cc)
CC := gcc
endif

PKGS := yaml-0.1 jansson libgit2 libcurl expat libmicrohttpd gnutls libarchive zlib sqlite3
# libpq: its header only; agent/queue_pg_lib.c loads it with dlopen (glibc's
# libc has dlopen, no -ldl) for a PostgreSQL queue, so it is not linked
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libpq 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lyaml -ljansson -lgit2 -lcurl -lexpat -lmicrohttpd -lgnutls -larchive -lz -lsqlite3)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
ifneq ($(CI),)
WARN += -Werror
endif
ifneq ($(WERROR),)
WARN += -Werror
endif
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DGANTRY_VERSION='"$(VERSION)"' \
	$(WARN) $(PKG_CFLAGS) -I.
CFLAGS ?= -O2 -g
LDLIBS := $(PKG_LIBS) -lcrypto -lseccomp -lpthread -lm
# gantry-agent (agent/agent_main.c) links only what the daemon uses; the
# archive brings in only the objects it needs, and --as-needed keeps a
# library out unless one of them calls it
AGENT_PKGS := yaml-0.1 jansson libmicrohttpd zlib sqlite3 gnutls
AGENT_LIBS := -Wl,--as-needed $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null || \
	echo -lyaml -ljansson -lmicrohttpd -lz -lsqlite3 -lgnutls) -lpthread -lm

LIB_SRC := lib/util.c lib/err.c lib/buf.c lib/strv.c lib/mask.c lib/fs.c lib/crypto.c \
	lib/log.c lib/jsonx.c lib/git.c lib/git_url.c lib/git_cache.c lib/git_mirror.c lib/git_tree.c lib/git_submodule.c \
	lib/git_stream.c lib/xml.c lib/jwt.c lib/jwt_keyring.c lib/jwt_verify.c lib/aws/sigv4.c lib/aws/client.c \
	lib/aws/creds.c lib/aws/endpoint.c lib/aws/error.c lib/aws/profile.c \
	lib/aws/proto.c lib/aws/sts.c lib/aws/s3.c lib/aws/s3filter.c lib/aws/xfer.c \
	lib/aws/s3sync.c lib/aws/s3sync_job.c \
	lib/mime.c lib/localtree.c
WF_SRC := workflows/yml.c workflows/yml_read.c workflows/expr.c workflows/expr_eval.c \
	workflows/expr_func.c workflows/expr_tmpl.c workflows/workflow.c \
	workflows/validate.c workflows/validate_on.c workflows/validate_jobs.c \
	workflows/matrix.c workflows/filter.c
SBX_SRC := sandbox/sbx.c sandbox/cgroup.c sandbox/cgroup_sweep.c sandbox/priv.c sandbox/job.c \
	sandbox/init.c sandbox/proto.c
STEPS_SRC := steps/steps.c steps/run.c steps/composite.c steps/checkout.c \
	steps/stepx.c steps/aws_creds.c steps/artifact.c steps/artifact_upload.c \
	steps/artifact_download.c steps/artifact_glob.c steps/artifact_store.c \
	steps/s3sync.c
AGENT_SRC := agent/cli.c agent/cmd_run.c agent/cmd_validate.c agent/exec.c \
	agent/job.c agent/context.c agent/filecmd.c agent/output.c \
	agent/reusable.c agent/eval.c agent/stepio.c \
	agent/hashfiles.c agent/cmd_cache.c agent/cmd_aws.c agent/cmd_aws_s3.c agent/cmd_oidc.c agent/oidc.c agent/report.c agent/jobenv.c agent/run_args.c agent/run_clone.c agent/run_inputs.c agent/run_standby.c \
	agent/agent_config.c agent/agent_config_value.c agent/webhook.c agent/webhook_check.c agent/queue.c agent/queue_sqlite.c \
	agent/queue_sqlite_read.c agent/queue_pg_lib.c agent/queue_pg.c agent/queue_pg_read.c agent/queue_pg_schema.c \
	agent/cmd_agent.c agent/http_reply.c agent/agent_http.c agent/agent_api.c agent/agent_intake.c agent/agent_worker.c agent/agent_standby.c agent/agent_spawn.c agent/agent_heartbeat.c agent/agent_retention.c agent/forge_status.c agent/forge_status_send.c agent/agent_fleet_keys.c
MAIN_SRC := agent/main.c
CORE_SRC := $(LIB_SRC) $(WF_SRC) $(SBX_SRC) $(STEPS_SRC) $(AGENT_SRC)

UNIT_TESTS := buf strv mask yml expr expr_cases workflow matrix filter sbx \
	filecmd cgroup priv sbxjob git git_mirror sigv4 xml jwt jwt_keyring jwt_verify aws mime s3filter \
	localtree artifact agent_config webhook webhook_payload queue queue_read queue_concurrent queue_pg_lib agent_fleet_keys forge_status forge_status_gitlab forge_status_child agent_retention run_standby
FUZZ_TARGETS := fuzz_yml fuzz_expr fuzz_workflow fuzz_filecmd fuzz_xml fuzz_aws fuzz_jwt fuzz_webhook fuzz_clone_url

REL := build/rel
ASAN := build/asan
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

REL_OBJ := $(CORE_SRC:%.c=$(REL)/%.o)
ASAN_OBJ := $(CORE_SRC:%.c=$(ASAN)/%.o)

.PHONY: all test demo bench fuzz install clean bootstrap unit-bins check-banned
all: build/gantry build/gantry-agent

$(REL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(REL)/libgantry.a: $(REL_OBJ)
	rm -f $@ && ar rcs $@ $^

$(ASAN)/libgantry.a: $(ASAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/gantry: $(REL)/agent/main.o $(REL)/libgantry.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN)/gantry: $(ASAN)/agent/main.o $(ASAN)/libgantry.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

build/gantry-agent: $(REL)/agent/agent_main.o $(REL)/libgantry.a
	$(CC) $(CFLAGS) -o $@ $^ $(AGENT_LIBS)

$(ASAN)/gantry-agent: $(ASAN)/agent/agent_main.o $(ASAN)/libgantry.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(AGENT_LIBS)

$(ASAN)/tests/unit_%: $(ASAN)/tests/unit/%.o $(ASAN)/libgantry.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit-bins: $(UNIT_TESTS:%=$(ASAN)/tests/unit_%) $(ASAN)/gantry $(ASAN)/gantry-agent

bootstrap:
	@scripts/bootstrap

test: bootstrap
	@$(MAKE) --no-print-directory unit-bins build/gantry build/gantry-agent
	@scripts/run-tests $(ASAN)

demo: bootstrap
	@$(MAKE) --no-print-directory build/gantry build/gantry-agent
	@scripts/demo build/gantry

bench: build/gantry build/gantry-agent
	@bench/run build/gantry

FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DGANTRY_VERSION='"$(VERSION)"' -g -O1 -fsanitize=fuzzer,address,undefined \
	$(PKG_CFLAGS) -I.
build/fuzz/%: tests/fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

fuzz: bootstrap $(FUZZ_TARGETS:%=build/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus-$$t; \
		echo "== $$t ($(FUZZ_SECONDS)s)"; \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
			-artifact_prefix=build/fuzz/ build/fuzz/corpus-$$t \
			tests/fuzz/corpus/$$t || exit 1; \
	done

install: build/gantry build/gantry-agent
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/gantry $(DESTDIR)$(PREFIX)/bin/gantry
	install -m 0755 build/gantry-agent $(DESTDIR)$(PREFIX)/bin/gantry-agent

check-banned:
	@scripts/check-banned

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(UNIT_TESTS:%=$(ASAN)/tests/unit/%.d) \
	$(ASAN)/agent/main.d $(REL)/agent/main.d $(ASAN)/agent/agent_main.d \
	$(REL)/agent/agent_main.d
