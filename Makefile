# cairn: transparent checkpoint/restart for Linux programs.
#
#   make                 build into build/
#   make check           run the test suite (tests/run)
#   make demo            run the bundled demo (demo/run)
#   make install PREFIX=/usr/local [DESTDIR=...]
#
# The build tree mirrors the install tree (bin/, lib/, libexec/cairn/), so
# `cairn` finds its runtime and restorer relative to its own path in both.

PREFIX  ?= /usr/local
DESTDIR ?=
B       := build

CC      ?= gcc
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS  ?= -O2 -g
BASE    := -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc
LDLIBS_X := -lxxhash

IMAGE_SRC   := $(wildcard src/image/*.c)
RUNTIME_SRC := $(wildcard src/runtime/*.c) $(wildcard src/runtime/*.S)
CLI_SRC     := $(wildcard src/cli/*.c) $(wildcard src/common/*.c)
RESTORE_SRC := $(wildcard src/restore/*.c) $(wildcard src/restore/*.S)

IMAGE_PIC := $(patsubst src/%,$(B)/obj/pic/%.o,$(IMAGE_SRC))
IMAGE_OBJ := $(patsubst src/%,$(B)/obj/exe/%.o,$(IMAGE_SRC))
RUNTIME_OBJ := $(patsubst src/%,$(B)/obj/pic/%.o,$(RUNTIME_SRC))
CLI_OBJ := $(patsubst src/%,$(B)/obj/exe/%.o,$(CLI_SRC))
RESTORE_OBJ := $(patsubst src/%,$(B)/obj/restore/%.o,$(RESTORE_SRC))

# The restorer runs after the old address space is gone: no libc, no stack
# protector, linked at a fixed low address (below any non-PIE program at
# 0x400000) so that the kernel's brk starts below every image's heap.
RESTORE_CFLAGS := -std=gnu11 $(WARN) -Isrc -O2 -g -ffreestanding -fno-builtin \
	-fno-stack-protector -fno-pic -fno-pie -mno-red-zone -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-exceptions
RESTORE_LDFLAGS := -nostdlib -static -no-pie -Wl,-Ttext-segment=0x100000 \
	-Wl,--build-id=none -Wl,-z,noexecstack

BINS := $(B)/bin/cairn $(B)/lib/libcairn.so $(B)/libexec/cairn/cairn-restore

all: $(BINS)

$(B)/obj/pic/%.c.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec -MMD -c $< -o $@
$(B)/obj/pic/%.S.o: src/%.S
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -fPIC -c $< -o $@
$(B)/obj/exe/%.c.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -MMD -c $< -o $@
$(B)/obj/restore/%.c.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RESTORE_CFLAGS) -MMD -c $< -o $@
$(B)/obj/restore/%.S.o: src/%.S
	@mkdir -p $(dir $@)
	$(CC) $(RESTORE_CFLAGS) -c $< -o $@

$(B)/lib/libcairn.so: $(RUNTIME_OBJ) $(IMAGE_PIC)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,noexecstack -Wl,-soname,libcairn.so -o $@ $^ $(LDLIBS_X) -lpthread -ldl

$(B)/bin/cairn: $(CLI_OBJ) $(IMAGE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_X)

$(B)/libexec/cairn/cairn-restore: $(RESTORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(RESTORE_CFLAGS) $(RESTORE_LDFLAGS) -o $@ $^

check: all
	tests/run

demo: all
	demo/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/libexec/cairn $(DESTDIR)$(PREFIX)/include
	install -m 755 $(B)/bin/cairn $(DESTDIR)$(PREFIX)/bin/cairn
	install -m 755 $(B)/lib/libcairn.so $(DESTDIR)$(PREFIX)/lib/libcairn.so
	install -m 755 $(B)/libexec/cairn/cairn-restore $(DESTDIR)$(PREFIX)/libexec/cairn/cairn-restore
	install -m 644 include/*.h $(DESTDIR)$(PREFIX)/include/ 2>/dev/null || true

clean:
	rm -rf $(B)

format:
	clang-format -i $$(find src include tests bench -name '*.[ch]')

.PHONY: all check demo install clean format

# Further parts of the build (one file each) add to BINS and to install.
-include $(wildcard mk/*.mk)
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
