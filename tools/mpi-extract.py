#!/usr/bin/env python3
"""Extract MPICH's C interface into cairn's API description (api/).

    tools/mpi-extract.py [--include DIR] [--lib PATH] [--out api/]

Reads mpi_proto.h (every prototype) and mpi.h (predefined handle values) of
an installed MPICH, and the dynamic symbols of its libmpich.so.12 (nm -D),
and writes:

  api/mpich-4.0.2.api        one record per function: C signature plus the
                             roles this script can infer from types and names
  api/mpich-4.0.2.constants  predefined handle values, per handle kind

What cannot be inferred is recorded by hand in api/mpich-4.0.2.overrides,
which tools/mpigen.py applies on top. The outputs are committed: the build
reads them and never runs this script. Re-run it after an MPICH upgrade and
review the diff. The file formats are documented in api/README.
"""

import argparse
import os
import re
import subprocess
import sys

# C type of a handle -> handle kind, as used in the description.
HANDLE_TYPES = {
    'MPI_Comm': 'comm', 'MPI_Group': 'group', 'MPI_Datatype': 'datatype',
    'MPI_Op': 'op', 'MPI_Request': 'request', 'MPI_Win': 'win',
    'MPI_File': 'file', 'MPI_Errhandler': 'errhandler', 'MPI_Info': 'info',
    'MPI_Message': 'message', 'MPI_Session': 'session',
    'MPIO_Request': 'request',  # mpio.h: #define MPIO_Request MPI_Request
    'MPIX_Grequest_class': 'grequest_class',
    'MPI_T_enum': 't_enum', 'MPI_T_cvar_handle': 't_cvar',
    'MPI_T_pvar_handle': 't_pvar', 'MPI_T_pvar_session': 't_session',
    'MPI_T_event_registration': 't_event_reg',
    'MPI_T_event_instance': 't_event_inst',
}

# Function-pointer typedefs the application passes in: the lower half will
# call them back, so each is a callback of the named kind.
CALLBACK_TYPES = {
    'MPI_User_function': 'user_op', 'MPI_User_function_c': 'user_op_c',
    'MPI_Comm_errhandler_function': 'comm_errhandler',
    'MPI_Comm_errhandler_fn': 'comm_errhandler',
    'MPI_Handler_function': 'comm_errhandler',
    'MPI_Win_errhandler_function': 'win_errhandler',
    'MPI_File_errhandler_function': 'file_errhandler',
    'MPI_Session_errhandler_function': 'session_errhandler',
    'MPI_Comm_copy_attr_function': 'comm_copy_attr',
    'MPI_Comm_delete_attr_function': 'comm_delete_attr',
    'MPI_Type_copy_attr_function': 'type_copy_attr',
    'MPI_Type_delete_attr_function': 'type_delete_attr',
    'MPI_Win_copy_attr_function': 'win_copy_attr',
    'MPI_Win_delete_attr_function': 'win_delete_attr',
    'MPI_Copy_function': 'comm_copy_attr', 'MPI_Delete_function': 'comm_delete_attr',
    'MPI_Grequest_query_function': 'grequest_query',
    'MPI_Grequest_free_function': 'grequest_free',
    'MPI_Grequest_cancel_function': 'grequest_cancel',
    'MPIX_Grequest_poll_function': 'grequest_poll',
    'MPIX_Grequest_wait_function': 'grequest_wait',
    'MPI_Datarep_conversion_function': 'datarep_conversion',
    'MPI_Datarep_conversion_function_c': 'datarep_conversion',
    'MPI_Datarep_extent_function': 'datarep_extent',
    'MPI_T_event_cb_function': 't_event_cb',
    'MPI_T_event_free_cb_function': 't_event_free_cb',
    'MPI_T_event_dropped_cb_function': 't_event_dropped_cb',
}

BUFFER_NAMES = re.compile(r'(buf|_addr|^base$|^baseptr$|^inbuf$|^outbuf$|^inoutbuf$|^location$)')
KEYVAL_NAMES = re.compile(r'(^|_)keyval$')
# Names of count parameters, in order of preference, for arrays of handles.
COUNT_NAMES = ['count', 'incount', 'n', 'outcount']


def strip_comments(text):
    return re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)


def parse_prototypes(proto_text):
    """Yield (ret, name, [param strings]) for MPI_/MPIX_ functions."""
    text = strip_comments(proto_text)
    text = re.sub(r'MPICH_ATTR_POINTER_WITH_TYPE_TAG\([^)]*\)', ' ', text)
    text = re.sub(r'MPICH_API_PUBLIC|ROMIO_API_PUBLIC|MPICH_ATTR_WARN_UNUSED_RESULT|MPICH_ATTRIBUTE\(\(.*?\)\)', ' ', text)
    for m in re.finditer(r'^([A-Za-z_][\w \*]*?)\s*\b(MPIX?_\w+)\s*\(([^;]*?)\)\s*;', text, re.M):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3)
        if 'typedef' in ret.split():
            continue
        params = ' '.join(params.split())
        plist = [] if params in ('', 'void') else [p.strip() for p in params.split(',')]
        yield ret, name, plist


def split_param(p):
    """'const int ranges[][3]' -> ('const int', 'ranges', '[][3]')."""
    if p == '...':
        return '...', '...', ''
    m = re.match(r'^(.*?)\b(\w+)\s*((?:\[[^\]]*\])*)$', p)
    if not m:
        raise SystemExit('mpi-extract: cannot parse parameter %r' % p)
    ctype = ' '.join(m.group(1).replace('*', ' * ').split()).replace('* *', '**')
    return ctype, m.group(2), m.group(3).replace(' ', '')


def infer_role(fname, ctype, pname, dims, names):
    """Best guess at a parameter's role; overrides correct the rest."""
    const = ctype.startswith('const ')
    base = ctype[6:] if const else ctype
    stars = base.count('*')
    core = base.replace('*', '').strip()
    is_array = dims != ''
    if pname == '...':
        return 'unknown variadic'
    if core in CALLBACK_TYPES and stars == 1:
        return 'in callback(%s)' % CALLBACK_TYPES[core]
    kind = HANDLE_TYPES.get(core)
    if kind is None and core == 'int' and KEYVAL_NAMES.search(pname):
        kind = 'keyval'
    if kind is not None:
        if is_array and stars == 0:
            count = next((c for c in COUNT_NAMES if c in names), '?')
            d = 'in' if const else ('inout' if kind == 'request' else 'out')
            return '%s handle(%s) array(%s)' % (d, kind, count)
        if stars == 0:
            return 'in handle(%s)' % kind
        if stars == 1:
            return '%s handle(%s)' % ('in' if const else 'out', kind)
        return 'unknown'
    if core == 'MPI_Status':
        if is_array:
            count = next((c for c in COUNT_NAMES if c in names), '?')
            return '%s statuses(%s)' % ('in' if const else 'out', count)
        return '%s status' % ('in' if const else 'out')
    if core == 'void' and stars >= 1 and BUFFER_NAMES.search(pname):
        return '%s buffer' % ('in' if const else 'out')
    if core == 'char' and stars == 1:
        return '%s string' % ('in' if const else 'out')
    if stars == 0 and not is_array:
        return 'in'
    # Plain data behind a pointer (int *flag, MPI_Aint *extent, char ***argv,
    # void *attribute_val...): shared memory, passed through unchanged.
    return '%s pointer' % ('in' if const else 'out')


def read_exports(lib):
    try:
        out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit('mpi-extract: cannot list the symbols of %s: %s' % (lib, e))
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def parse_constants(mpi_h):
    """Predefined handle values: '#define MPI_X ((MPI_Type)0x...)'."""
    text = strip_comments(mpi_h)
    out = []
    for m in re.finditer(r'^#\s*define\s+(MPIX?_\w+)\s+\(*\s*(MPI_\w+)\s*\)\s*\(?\s*(0x[0-9a-fA-F]+)\s*\)*\s*$', text, re.M):
        name, ctype, val = m.groups()
        if ctype in HANDLE_TYPES:
            out.append((HANDLE_TYPES[ctype], name, int(val, 16)))
    # Attribute keyvals are plain ints: MPI_TAG_UB 0x64400001 ...
    for m in re.finditer(r'^#\s*define\s+(MPI_\w+)\s+(0x6[46][0-9a-fA-F]{6})\s*$', text, re.M):
        out.append(('keyval', m.group(1), int(m.group(2), 16)))
    m = re.search(r'^#\s*define\s+MPI_KEYVAL_INVALID\s+(0x[0-9a-fA-F]+)', text, re.M)
    if m:
        out.append(('keyval', 'MPI_KEYVAL_INVALID', int(m.group(1), 16)))
    seen, uniq = set(), []
    for c in out:
        if c[1] not in seen:
            seen.add(c[1])
            uniq.append(c)
    return uniq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--include', default='/usr/include/x86_64-linux-gnu/mpich')
    ap.add_argument('--lib', default='/usr/lib/x86_64-linux-gnu/libmpich.so.12')
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'api'))
    ap.add_argument('--version', default='4.0.2')
    a = ap.parse_args()

    # MPI-IO's prototypes live in ROMIO's mpio.h, the rest in mpi_proto.h.
    proto = open(os.path.join(a.include, 'mpi_proto.h')).read()
    proto += '\n' + open(os.path.join(a.include, 'mpio.h')).read()
    mpi_h = open(os.path.join(a.include, 'mpi.h')).read()
    exports = read_exports(a.lib)

    funcs, seen = [], set()
    for ret, name, params in parse_prototypes(proto):
        if name in seen:
            continue
        seen.add(name)
        parsed = [split_param(p) for p in params]
        names = [p[1] for p in parsed]
        exported = name in exports and ('P' + name) in exports
        funcs.append((ret, name, parsed, exported, names))

    api = os.path.join(a.out, 'mpich-%s.api' % a.version)
    with open(api, 'w') as f:
        f.write('# MPICH %s C interface, extracted by tools/mpi-extract.py from\n' % a.version)
        f.write('# %s/{mpi_proto.h,mpio.h} and nm -D %s.\n' % (a.include, a.lib))
        f.write('# Do not edit: correct roles in mpich-%s.overrides. Format: api/README.\n' % a.version)
        f.write('# %d functions, %d exported.\n\n' % (len(funcs), sum(1 for x in funcs if x[3])))
        for ret, name, parsed, exported, names in funcs:
            f.write('function %s -> %s%s\n' % (name, ret, '' if exported else ' | not-exported'))
            for ctype, pname, dims in parsed:
                role = infer_role(name, ctype, pname, dims, names)
                f.write('    %s: %s%s | %s\n' % (pname, ctype, ' ' + dims if dims else '', role))
            f.write('\n')

    consts = os.path.join(a.out, 'mpich-%s.constants' % a.version)
    with open(consts, 'w') as f:
        f.write('# Predefined handles of MPICH %s (from mpi.h), by kind: KIND NAME VALUE.\n' % a.version)
        f.write('# The upper half passes these through unchanged. Extracted by tools/mpi-extract.py.\n')
        for kind, name, val in parse_constants(mpi_h):
            f.write('%s %s 0x%08x\n' % (kind, name, val))
    print('mpi-extract: wrote %s (%d functions) and %s' % (api, len(funcs), consts))


if __name__ == '__main__':
    main()
