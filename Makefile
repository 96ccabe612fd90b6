# postern: build, test and run. GNU make.
#   make          build everything into $(BUILD)/
#   make run      install missing deps, build, run the suite in the foreground
#   make check    deps, -Werror build, unit, integration and sanitizer tests
#   make bench    benchmarks (msgs/s, latency, fsyncs per message)

CC	?= cc
BUILD	?= build
SAN	?=
PREFIX	?= /usr/local
CONF	?=

PKG_CFLAGS := $(shell pkg-config --cflags libevent libunbound openssl 2>/dev/null)
EVENT_LIBS := $(shell pkg-config --libs libevent 2>/dev/null || echo -levent)
UNBOUND_LIBS := $(shell pkg-config --libs libunbound 2>/dev/null || echo -lunbound)
SSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
DB_LIBS	:= -ldb-5.3
PAM_LIBS := -lpam

WARN	= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
HARDEN	= -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ifeq ($(SAN),1)
OPT	= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANLD	= -fsanitize=address,undefined
HARDEN	= -fstack-protector-strong -fPIE
else
OPT	= -O2 -g
SANLD	=
endif
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) $(PKG_CFLAGS) -Ilib \
	   -DPOSTERN_LIBEXECDIR='"$(PREFIX)/libexec/postern"'
LDFLAGS	+= -pie -Wl,-z,relro,-z,now $(SANLD)
BASE_LIBS = $(EVENT_LIBS) -lbsd

LIB_SRC		:= $(wildcard lib/*.c)
LIB_OBJ		:= $(LIB_SRC:%.c=$(BUILD)/%.o)

# folder -> binary, and the libraries each needs
DAEMONS		:= master smtpd queue-mgr deliver resolver ctl sendmail
BIN_master	:= postern
BIN_smtpd	:= postern-smtpd
BIN_queue-mgr	:= postern-queue
BIN_deliver	:= postern-deliver
BIN_resolver	:= postern-resolver
BIN_ctl		:= posternctl
BIN_sendmail	:= postern-sendmail
LIBS_master	:= $(PAM_LIBS) $(SSL_LIBS) -lcrypt
LIBS_smtpd	:= $(SSL_LIBS)
LIBS_queue-mgr	:= $(DB_LIBS)
LIBS_deliver	:= $(SSL_LIBS)
LIBS_resolver	:= $(UNBOUND_LIBS)
LIBS_ctl	:= $(DB_LIBS) $(UNBOUND_LIBS)
LIBS_sendmail	:=
# objects of another folder a binary also links (posternctl's offline view
# reads the spool with queue-mgr's own record code; route uses deliver's
# route choice and the resolver's answer parser)
EXTRA_ctl	:= $(BUILD)/queue-mgr/record.o $(BUILD)/queue-mgr/spool.o \
		   $(BUILD)/queue-mgr/qid.o $(BUILD)/resolver/dnsmsg.o \
		   $(BUILD)/deliver/route.o

# every .c of a folder, and the same less main.c (what unit tests link)
src_of	= $(wildcard $(1)/*.c)
obj_of	= $(patsubst %.c,$(BUILD)/%.o,$(call src_of,$(1)))
objnomain_of = $(filter-out $(BUILD)/$(1)/main.o,$(call obj_of,$(1)))

BINS	:= $(foreach d,$(DAEMONS),$(BUILD)/$(BIN_$(d)))

.PHONY: all deps run check unit-build fuzz bench stress clean install
all: $(BINS)

define daemon_rule
$(BUILD)/$(BIN_$(1)): $(call obj_of,$(1)) $(EXTRA_$(1)) $(LIB_OBJ)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $(LIBS_$(1)) $$(BASE_LIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))

$(BUILD)/%.o: %.c $(wildcard lib/*.h) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests: tests/unit/test_<folder>_*.c links lib/ and <folder> less main.c.
UNIT_SRC	:= $(wildcard tests/unit/test_*.c)
UNIT_BIN	:= $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# test_smtpd_x -> smtpd, test_queue_x -> queue-mgr, test_lib_x -> (lib only)
unit_word	= $(word 2,$(subst _, ,$(1)))
unit_folder	= $(if $(filter queue,$(call unit_word,$(1))),queue-mgr,$(filter $(DAEMONS),$(call unit_word,$(1))))
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ) $$(foreach f,$$(call unit_folder,$$*),$$(call objnomain_of,$$(f)) $$(EXTRA_$$(f)))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(foreach f,$(call unit_folder,$*),$(call objnomain_of,$(f)) $(EXTRA_$(f)) $(LIBS_$(f))) $(LIB_OBJ) -lcmocka $(BASE_LIBS)

unit-build: $(UNIT_BIN)

deps:
	@scripts/deps.sh

run: deps all
	@scripts/run.sh $(CONF)

check: deps
	@scripts/check.sh

fuzz:
	@scripts/fuzz.sh build

bench: deps all
	@scripts/bench.sh $(ARGS)

stress: deps all
	@scripts/bench.sh --stress $(ARGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/libexec/postern $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(BUILD)/postern $(BUILD)/posternctl $(BUILD)/postern-sendmail $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 $(BUILD)/postern-smtpd $(BUILD)/postern-queue $(BUILD)/postern-deliver $(BUILD)/postern-resolver $(DESTDIR)$(PREFIX)/libexec/postern/
	-install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	-install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build build-asan build-fuzz
