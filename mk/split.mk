# The split process (src/split): loading a lower-half helper program into a
# reserved window of this process and calling into it; the base of cairn's
# MPI support. Independent of libcairn for now: a static archive, and the
# test programs of tests/split (tests/split/run.sh runs them).
#
# The files that run in the SIGSYS handler, with the lower half's thread
# pointer, are built without the stack protector, and without the loop
# patterns gcc would turn into calls to libc's memmove.

SPLIT_SRC := $(wildcard src/split/*.c) $(wildcard src/split/*.S)
SPLIT_OBJ := $(patsubst src/split/%,$(B)/obj/split/%.o,$(SPLIT_SRC))
SPLIT_LIB := $(B)/obj/split/libsplit.a
SPLIT_TESTS := $(B)/tests/split/split_test $(B)/tests/split/lower

all: split
split: $(SPLIT_LIB) $(SPLIT_TESTS)
.PHONY: split

SPLIT_SIGSAFE := $(B)/obj/split/trap.c.o $(B)/obj/split/window.c.o
$(SPLIT_SIGSAFE): SPLIT_FLAGS := -fno-stack-protector -fno-tree-loop-distribute-patterns

$(B)/obj/split/%.c.o: src/split/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden $(SPLIT_FLAGS) -MMD -c $< -o $@
$(B)/obj/split/%.S.o: src/split/%.S
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -fPIC -c $< -o $@

$(SPLIT_LIB): $(SPLIT_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# the upper half: the checks; the lower half: the helper it loads (a PIE)
$(B)/tests/split/split_test: tests/split/split_test.c src/split/split.h $(SPLIT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -o $@ $< $(SPLIT_LIB) -lpthread
$(B)/tests/split/lower: tests/split/lower.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fPIE -pie -o $@ $< -lpthread
