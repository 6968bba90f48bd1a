# cairn's MPI upper half (src/mpi): build/lib/cairn-mpi/libmpich.so.12, a
# library with MPICH's ABI that an unmodified program built by mpicc.mpich
# loads instead of MPICH's (LD_LIBRARY_PATH=build/lib/cairn-mpi), and that
# passes each call to a lower half holding the real MPICH.
#
# The wrappers, the function index and the export list are generated at
# build time by tools/mpigen.py from the committed description in api/
# (api/README); nothing is extracted from the installed MPICH at build time
# except its mpi.h, for the ABI's types. Without MPICH's headers this part
# is skipped.

MPICH_INC ?= /usr/include/x86_64-linux-gnu/mpich
MPICC ?= mpicc.mpich
MPI_API := api/mpich-4.0.2

ifneq ($(wildcard $(MPICH_INC)/mpi.h),)

MPI_GEN := $(B)/gen/mpi
MPI_LIBDIR := $(B)/lib/cairn-mpi
MPI_LIB := $(MPI_LIBDIR)/libmpich.so.12
MPI_GEN_C := $(MPI_GEN)/wrappers.c $(MPI_GEN)/names.c $(MPI_GEN)/predefined.c \
	$(MPI_GEN)/lower_wait.c $(MPI_GEN)/replay.c
MPI_SRC := $(wildcard src/mpi/*.c)
MPI_OBJ := $(patsubst src/mpi/%.c,$(B)/obj/mpi/%.o,$(MPI_SRC)) \
	$(patsubst $(MPI_GEN)/%.c,$(B)/obj/mpi/gen/%.o,$(MPI_GEN_C))
MPI_CFLAGS := $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-isystem $(MPICH_INC) -I$(MPI_GEN)

# The test programs: ordinary MPICH programs, built by mpicc and not linked
# against anything of cairn's (tests/mpi/run.sh runs them).
MPI_TEST_SRC := $(filter-out tests/mpi/lower_table_check.c,$(wildcard tests/mpi/*.c))
MPI_TESTS := $(patsubst tests/mpi/%.c,$(B)/tests/mpi/%,$(MPI_TEST_SRC))

# The split lower half: the helper program (a PIE linked with the real
# MPICH, holding the generated table), in libexec/cairn/ of the build tree
# as of the install tree, where libmpich.so.12 finds it (lower_split.c).
# Its DT_RPATH (not RUNPATH: that one yields to LD_LIBRARY_PATH) names the
# real MPICH's directory, so that the lower half never loads cairn's
# libmpich.so.12, which comes first in the job's LD_LIBRARY_PATH.
MPI_HELPER := $(B)/libexec/cairn/cairn-mpi-lower
MPICH_LIBDIR ?= $(patsubst %/,%,$(dir $(realpath $(shell $(CC) -print-file-name=libmpich.so.12))))

all: mpi
mpi: $(MPI_LIB) $(MPI_LIBDIR)/libmpi.so.12 $(MPI_HELPER) $(MPI_TESTS) \
	$(B)/tests/mpi/lower_table_check
.PHONY: mpi

$(MPI_GEN)/stamp: tools/mpigen.py $(MPI_API).api $(MPI_API).overrides $(MPI_API).constants
	@mkdir -p $(MPI_GEN)
	python3 tools/mpigen.py --api $(MPI_API) --out $(MPI_GEN)
	@touch $@
$(MPI_GEN_C) $(MPI_GEN)/mpi_gen.h $(MPI_GEN)/lower_table.c $(MPI_GEN)/exports.map: $(MPI_GEN)/stamp

$(B)/obj/mpi/%.o: src/mpi/%.c $(MPI_GEN)/stamp
	@mkdir -p $(dir $@)
	$(CC) $(MPI_CFLAGS) -MMD -c $< -o $@
$(B)/obj/mpi/gen/%.o: $(MPI_GEN)/%.c $(MPI_GEN)/stamp
	@mkdir -p $(dir $@)
	$(CC) $(MPI_CFLAGS) -Isrc -MMD -c $< -o $@

# (split.mk comes after this file: its archive by name)
MPI_SPLIT_LIB := $(B)/obj/split/libsplit.a
$(MPI_LIB): $(MPI_OBJ) $(MPI_GEN)/exports.map $(MPI_SPLIT_LIB)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,noexecstack -Wl,-z,defs -Wl,-soname,libmpich.so.12 \
		-Wl,--version-script=$(MPI_GEN)/exports.map -o $@ $(MPI_OBJ) $(MPI_SPLIT_LIB) \
		-ldl -lpthread

MPI_LOWER_SRC := src/mpi/helper/main.c $(MPI_GEN)/lower_table.c $(MPI_GEN)/lower_wait.c
MPI_LOWER_DEPS := src/split/helper.h src/split/split.h src/mpi/wait.h src/mpi/wait_loops.h
$(MPI_HELPER): $(MPI_LOWER_SRC) $(MPI_LOWER_DEPS) $(MPI_GEN)/stamp
	@mkdir -p $(dir $@)
	$(MPICC) $(BASE) $(CFLAGS) -DMPI_LOWER_SIDE -I$(MPI_GEN) -fPIE -pie -Wl,-z,noexecstack \
		-Wl,--disable-new-dtags -Wl,-rpath,$(MPICH_LIBDIR) -o $@ $(MPI_LOWER_SRC) -lpthread
$(MPI_LIBDIR)/libmpi.so.12: $(MPI_LIB)
	ln -sf libmpich.so.12 $@

$(B)/tests/mpi/%: tests/mpi/%.c
	@mkdir -p $(dir $@)
	$(MPICC) -std=gnu11 $(WARN) -Wno-stringop-overflow $(CFLAGS) -o $@ $< -ldl

# The lower half's table, compiled against the real MPICH as the split
# helper will: every entry must be that library's PMPI_ function.
# The waiting forms are the lower half's own (lower_wait.c), exported here
# (-rdynamic) so that the check finds them by name too.
$(B)/tests/mpi/lower_table_check: tests/mpi/lower_table_check.c $(MPI_GEN)/stamp $(MPI_LOWER_DEPS)
	@mkdir -p $(dir $@)
	$(MPICC) -std=gnu11 $(WARN) $(CFLAGS) -DMPI_LOWER_SIDE -Isrc -I$(MPI_GEN) -rdynamic -o $@ $< \
		$(MPI_GEN)/lower_table.c $(MPI_GEN)/lower_wait.c $(MPI_GEN)/names.c -ldl

install: install-mpi
install-mpi: mpi
	install -d $(DESTDIR)$(PREFIX)/lib/cairn-mpi
	install -m 755 $(MPI_LIB) $(DESTDIR)$(PREFIX)/lib/cairn-mpi/libmpich.so.12
	ln -sf libmpich.so.12 $(DESTDIR)$(PREFIX)/lib/cairn-mpi/libmpi.so.12
	install -d $(DESTDIR)$(PREFIX)/libexec/cairn
	install -m 755 $(MPI_HELPER) $(DESTDIR)$(PREFIX)/libexec/cairn/cairn-mpi-lower
.PHONY: install-mpi

endif
