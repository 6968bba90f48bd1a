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
SPLIT_TESTS := $(B)/tests/split/split_test $(B)/tests/split/lower \
	$(B)/tests/split/lower_nopie $(B)/tests/split/lower_nolib

all: split
split: $(SPLIT_LIB) $(SPLIT_TESTS)
.PHONY: split

SPLIT_SIGSAFE := $(addprefix $(B)/obj/split/,trap.c.o window.c.o signal.c.o \
	fd.c.o thread.c.o)
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

# the upper half: the checks (with the stack protector everywhere, so that
# the crossings run under it); the lower half: the helper it loads (a PIE)
$(B)/tests/split/split_test: tests/split/split_test.c tests/split/maps.h \
		tests/split/lower.h src/split/split.h $(SPLIT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fstack-protector-all -o $@ $< $(SPLIT_LIB) -lpthread
$(B)/tests/split/lower: tests/split/lower.c src/split/helper.h src/split/split.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fPIE -pie -o $@ $< -lpthread

# helpers that cannot load: not a PIE; needing a library that is not
# there (linked against a stub in a directory the loader never searches)
$(B)/tests/split/lower_nopie: tests/split/lower.c src/split/helper.h src/split/split.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -fno-pie -no-pie -o $@ $< -lpthread
$(B)/tests/split/lower_nolib: tests/split/lower.c src/split/helper.h src/split/split.h
	@mkdir -p $(dir $@)/stub
	echo 'int split_test_stub(void) { return 0; }' | \
		$(CC) -shared -fPIC -x c -o $(dir $@)/stub/libsplit_test_gone.so -
	$(CC) $(BASE) $(CFLAGS) -fPIE -pie -o $@ $< -lpthread \
		-Wl,--no-as-needed -L$(dir $@)/stub -lsplit_test_gone

# The MPI test (tests/split/mpi_*.c), when MPICH's headers are installed:
# the lower half linked with MPICH, the upper half not linked with MPI (it
# includes mpi.h for types and constants only), and the native baseline.
SPLIT_MPICH_INC := /usr/include/x86_64-linux-gnu/mpich
ifneq ($(wildcard $(SPLIT_MPICH_INC)/mpi.h),)
SPLIT_MPI_TESTS := $(B)/tests/split/mpi_split $(B)/tests/split/mpi_lower \
	$(B)/tests/split/mpi_native
split: $(SPLIT_MPI_TESTS)
$(B)/tests/split/mpi_split: tests/split/mpi_split.c tests/split/mpi_ops.h \
		tests/split/maps.h src/split/split.h $(SPLIT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -I$(SPLIT_MPICH_INC) -o $@ $< $(SPLIT_LIB) -lpthread
$(B)/tests/split/mpi_lower: tests/split/mpi_lower.c tests/split/mpi_ops.h \
		src/split/helper.h src/split/split.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -I$(SPLIT_MPICH_INC) -fPIE -pie -o $@ $< -lmpich -lpthread
$(B)/tests/split/mpi_native: tests/split/mpi_native.c tests/split/mpi_ops.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -I$(SPLIT_MPICH_INC) -o $@ $< -lmpich
endif
