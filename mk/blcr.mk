# BLCR's interface on top of cairn: libcr.so.0 (include/libcr.h) and the
# cr_run, cr_checkpoint and cr_restart commands (names of the cairn binary,
# which acts on the name it is called by).

BLCR_SRC := $(wildcard src/blcr/*.c)
BLCR_OBJ := $(patsubst src/%,$(B)/obj/pic/%.o,$(BLCR_SRC) $(wildcard src/common/*.c))
BLCR_CMDS := $(B)/bin/cr_run $(B)/bin/cr_checkpoint $(B)/bin/cr_restart

all: $(B)/lib/libcr.so.0 $(B)/lib/libcr.so $(BLCR_CMDS) $(B)/lib/pkgconfig/cairn.pc $(B)/lib/pkgconfig/libcr.pc

$(B)/lib/libcr.so.0: $(BLCR_OBJ) $(B)/lib/libcairn.so
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,noexecstack -Wl,-soname,libcr.so.0 -Wl,-rpath,'$$ORIGIN' \
		-o $@ $(BLCR_OBJ) -L$(B)/lib -lcairn -lpthread

$(B)/lib/libcr.so: $(B)/lib/libcr.so.0
	ln -sf libcr.so.0 $@

$(BLCR_CMDS): $(B)/bin/cairn
	ln -sf cairn $@

# pkg-config files; the build tree's own point at the build tree, the
# installed ones at PREFIX.
define pc_cairn
prefix=$(1)
libdir=$${prefix}/lib
includedir=$${prefix}/include

Name: cairn
Description: cairn's interface for programs taking part in their checkpoints
Version: 0.1
Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lcairn
Cflags: -I$${includedir}
endef
define pc_libcr
prefix=$(1)
libdir=$${prefix}/lib
includedir=$${prefix}/include

Name: libcr
Description: BLCR's checkpoint/restart interface (libcr.h), provided by cairn
Version: 0.8.6
Requires.private: cairn
Libs: -L$${libdir} -Wl,-rpath,$${libdir} -lcr
Cflags: -I$${includedir}
endef
export pc_cairn pc_libcr

$(B)/lib/pkgconfig/cairn.pc: mk/blcr.mk
	@mkdir -p $(dir $@)
	printf '%s\n' "$$(p=$(CURDIR)/$(B); echo "$$pc_cairn" | sed "s|^prefix=.*|prefix=$$p|; s|^includedir=.*|includedir=$(CURDIR)/include|")" >$@
$(B)/lib/pkgconfig/libcr.pc: mk/blcr.mk
	@mkdir -p $(dir $@)
	printf '%s\n' "$$(p=$(CURDIR)/$(B); echo "$$pc_libcr" | sed "s|^prefix=.*|prefix=$$p|; s|^includedir=.*|includedir=$(CURDIR)/include|")" >$@

install: install-blcr
install-blcr: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(B)/lib/libcr.so.0 $(DESTDIR)$(PREFIX)/lib/libcr.so.0
	ln -sf libcr.so.0 $(DESTDIR)$(PREFIX)/lib/libcr.so
	for c in cr_run cr_checkpoint cr_restart; do ln -sf cairn $(DESTDIR)$(PREFIX)/bin/$$c; done
	echo "$$pc_cairn" | sed 's|^prefix=.*|prefix=$(PREFIX)|' >$(DESTDIR)$(PREFIX)/lib/pkgconfig/cairn.pc
	echo "$$pc_libcr" | sed 's|^prefix=.*|prefix=$(PREFIX)|' >$(DESTDIR)$(PREFIX)/lib/pkgconfig/libcr.pc
.PHONY: install-blcr
