#!/usr/bin/env python3
"""Generate cairn's MPI upper half from the API description in api/.

    tools/mpigen.py --api api/mpich-4.0.2 --out DIR     generate into DIR
    tools/mpigen.py --api api/mpich-4.0.2 --check       check, list stubs

Reads NAME.api, NAME.overrides and NAME.constants (format: api/README) and
writes into DIR:

  mpi_gen.h         enum mpi_fn (one index per exported function), the
                    prototypes of the hand-written mpi_impl_* functions
  wrappers.c        the upper half: PMPI_X for every exported function (a
                    generated crossing, a call of the hand-written
                    mpi_impl_X, or a stub that aborts naming itself) and the
                    weak alias MPI_X, as MPICH does
  names.c           mpi_fn_names[]: "PMPI_X" by index, for providers that
                    look the lower half's functions up by name
  lower_table.c     the lower half's table: &PMPI_X by index, compiled
                    against the real MPICH inside the lower half
  lower_wait.c      the waiting forms of the blocking calls (`waits`):
                    compiled into the lower half (cairn_wait_X) and, for
                    the dlmopen provider, into the upper half (dlm_wait_X)
  predefined.c      which real handle values are MPICH's predefined ones
  exports.map       the linker version script: exactly the exported names
  exports.txt       the same names, one per line
"""

import argparse
import fnmatch
import os
import re
import sys

# Functions of cairn's own that the library exports besides MPI's (tests
# and benchmarks look them up with dlsym).
CAIRN_EXTENSIONS = ['cairn_mpi_crossings', 'cairn_mpi_lower_name', 'cairn_mpi_lower_window',
                    'cairn_mpi_lower_fds', 'cairn_mpi_lower_signals', 'cairn_mpi_interrupt_waits',
                    'cairn_mpi_wait_interruptions', 'cairn_mpi_lower_tids']

HANDLE_CTYPES = {'comm': 'MPI_Comm', 'group': 'MPI_Group', 'datatype': 'MPI_Datatype',
                 'op': 'MPI_Op', 'request': 'MPI_Request', 'message': 'MPI_Message',
                 'errhandler': 'MPI_Errhandler', 'info': 'MPI_Info', 'keyval': 'int',
                 'win': 'MPI_Win', 'file': 'MPI_File'}

# Kinds whose handles are pointers (MPI_File): translated by hf_* (handles.c)
# instead of the int tables' h_*.
POINTER_KINDS = {'file'}


class Param:
    def __init__(self, name, ctype, dims, role):
        self.name, self.ctype, self.dims = name, ctype, dims
        self.set_role(role)

    def set_role(self, role):
        self.role = role
        words = role.split()
        self.dir = words[0] if words and words[0] in ('in', 'out', 'inout') else None
        m = re.search(r'handle\((\w+)\)', role)
        self.kind = m.group(1) if m else None
        m = re.search(r'array\((\w+(?:\(\w+(?:,\w+)?\))?|\?)\)', role)
        self.array = m.group(1) if m else None
        m = re.search(r'callback\((\w+)\)', role)
        self.callback = m.group(1) if m else None
        self.unknown = 'unknown' in words or self.array == '?'
        self.target_disp = 'target_disp' in words

    def decl(self):
        if self.name == '...':
            return '...'
        t = self.ctype
        return '%s%s%s%s' % (t, '' if t.endswith('*') else ' ', self.name, self.dims)

    @property
    def by_pointer(self):
        return self.ctype.endswith('*')


class Function:
    def __init__(self, name, ret, exported):
        self.name, self.ret, self.exported = name, ret, exported
        self.params = []
        self.impl = 'generated'
        self.why = ''
        self.waits = None  # None, 'loop' or the name of the non-blocking twin
        self.rebuild = False  # logged, replayed in a new lower half
        self.p2p = []  # what the call means for the message counts (flight.c)

    @property
    def short(self):
        return self.name.split('_', 1)[1]

    @property
    def pname(self):
        return 'P' + self.name

    def proto(self, fname, drop_variadic=False):
        ps = [p for p in self.params if not (drop_variadic and p.name == '...')]
        return '%s %s(%s)' % (self.ret, fname, ', '.join(p.decl() for p in ps) or 'void')


def parse_api(path):
    funcs, cur = [], None
    for ln, line in enumerate(open(path), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if line.startswith('function '):
            head, _, flags = line[9:].partition('|')
            name, _, ret = head.partition('->')
            cur = Function(name.strip(), ret.strip(), 'not-exported' not in flags)
            funcs.append(cur)
            continue
        m = re.match(r'^\s+([\w.]+):\s*(.*?)\s*((?:\[[^\]]*\])*)\s*\|\s*(.*?)\s*$', line)
        if not m or cur is None:
            raise SystemExit('%s:%d: cannot parse: %s' % (path, ln, line.rstrip()))
        cur.params.append(Param(m.group(1), m.group(2), m.group(3), m.group(4)))
    return funcs


# `p2p` words (src/mpi/flight.c): send (to dest, counted before the call),
# recv (from the status, after), irecv/precv/psend (the request made is a
# receive, a persistent receive, a persistent send to dest), start/startall,
# and complete-one/all/any/some (requests that completed: receives count);
# imrecv (the request receives a message already counted), cancel (the
# application asks to cancel a request), free (it frees one).
P2P_WORDS = ('send', 'recv', 'irecv', 'precv', 'psend', 'start', 'startall', 'imrecv', 'cancel', 'free',
             'complete-one', 'complete-all', 'complete-any', 'complete-some')

# Collectives: each one started counts on its communicator (flight.c).
COLL_RE = re.compile(r'^MPI_I?(Barrier|Bcast|Gatherv?|Scatterv?|Allgatherv?|Alltoall[vw]?|Reduce|'
                     r'Allreduce|Reduce_scatter(_block)?|Scan|Exscan|Neighbor_\w+?)(_init)?(_c)?$',
                     re.IGNORECASE)  # MPI_Ibarrier, MPI_Ineighbor_alltoall...


def apply_overrides(path, funcs, check):
    cfg = {'kinds': set(), 'callbacks': set(), 'passthrough-kinds': set(), 'data-exports': [],
           'lower-data': []}
    byname = {f.name: f for f in funcs}
    unused = []
    for ln, raw in enumerate(open(path), 1):
        line = raw.split('#', 1)[0].strip() if not raw.lstrip().startswith('#') else ''
        if not line:
            continue
        m = re.match(r'^(kinds|callbacks|passthrough-kinds|data-exports|lower-data):\s*(.*)$', line)
        if m:
            if m.group(1) in ('data-exports', 'lower-data'):
                cfg[m.group(1)] += m.group(2).split()
            else:
                cfg[m.group(1)] |= set(m.group(2).split())
            continue
        m = re.match(r'^([\w*?\[\]]+)\.([\w*?.\[\]]+)\s*=\s*(.+)$', line)
        if m:
            fpat, ppat, role = m.groups()
            hit = False
            for f in funcs:
                if fnmatch.fnmatchcase(f.name, fpat):
                    for p in f.params:
                        if fnmatch.fnmatchcase(p.name, ppat):
                            p.set_role(role)
                            hit = True
            if not hit:
                unused.append('%s:%d: %s matches no parameter' % (path, ln, line))
            continue
        m = re.match(r'^([\w*?\[\]]+):\s*(rebuild|waits(?:\s+(loop|pair|MPI_\w+))?)$', line)
        if m:
            hit = [f for f in funcs if fnmatch.fnmatchcase(f.name, m.group(1))]
            for f in hit:
                if m.group(2) == 'rebuild':
                    f.rebuild = True
                else:
                    f.waits = m.group(3) or 'MPI_I' + f.short[0].lower() + f.short[1:]
            if not hit:
                unused.append('%s:%d: %s matches no function' % (path, ln, line))
            continue
        m = re.match(r'^([\w*?\[\]]+):\s*p2p\s+([\w -]+)$', line)
        if m:
            words = m.group(2).split()
            bad = [x for x in words if x not in P2P_WORDS]
            if bad:
                raise SystemExit('%s:%d: unknown p2p word %s' % (path, ln, bad[0]))
            hit = [f for f in funcs if fnmatch.fnmatchcase(f.name, m.group(1))]
            for f in hit:
                f.p2p = words
            if not hit:
                unused.append('%s:%d: %s matches no function' % (path, ln, line))
            continue
        m = re.match(r'^([\w*?\[\]]+):\s*(local|manual|generated|unsupported)\s*(.*)$', line)
        if m:
            fpat, impl, why = m.groups()
            hit = [f for f in funcs if fnmatch.fnmatchcase(f.name, fpat)]
            for f in hit:
                f.impl, f.why = impl, why
            if not hit:
                unused.append('%s:%d: %s matches no function' % (path, ln, line))
            continue
        raise SystemExit('%s:%d: cannot parse: %s' % (path, ln, line))
    if unused:
        print('\n'.join(unused), file=sys.stderr)
        if check:
            raise SystemExit(1)
    return cfg


def decide(funcs, cfg):
    """Turn 'generated' functions whose roles we cannot handle into stubs."""
    for f in funcs:
        if f.impl != 'generated':
            continue
        for p in f.params:
            why = None
            if p.kind in cfg['passthrough-kinds']:
                continue
            if p.unknown:
                why = 'parameter %s has an unknown role (%s)' % (p.name, p.role)
            elif p.kind and p.kind not in cfg['kinds']:
                why = '%s handles are not virtualized yet' % p.kind
            elif p.callback:
                why = '%s callbacks need hand-written support' % p.callback
            elif p.kind and p.array and p.by_pointer:
                why = 'parameter %s: array behind a pointer' % p.name
            if why:
                f.impl, f.why = 'unsupported', why
                break


def check_waits(funcs):
    """A waiting function must be generated, and its twin must take the same
    parameters (less the status) and a request last."""
    byname = {f.name: f for f in funcs}
    for f in funcs:
        if not f.waits:
            continue
        if f.impl != 'generated' or not f.exported:
            raise SystemExit('mpigen: %s waits but is %s' % (f.name, f.impl))
        if f.waits in ('loop', 'pair'):
            continue
        t = byname.get(f.waits)
        if not t or not t.exported:
            raise SystemExit('mpigen: %s waits on %s, which MPICH does not export' % (f.name, f.waits))
        mine = [(p.name, p.ctype, p.dims) for p in f.params if p.role != 'out status']
        theirs = [(p.name, p.ctype, p.dims) for p in t.params]
        if theirs[:-1] != mine or t.params[-1].kind != 'request' or t.params[-1].dir != 'out':
            raise SystemExit('mpigen: %s waits on %s, whose parameters differ' % (f.name, f.waits))


REBUILD_KINDS = ('comm', 'group', 'datatype', 'op', 'errhandler', 'info', 'keyval')


def elem_type(p):
    """The C type of one element of an array parameter."""
    base = p.ctype.replace('const', '').strip()
    if p.dims:
        return base + p.dims[2:]  # int [][3] -> int[3]
    if base.endswith('*'):
        return base[:-1].strip()
    raise SystemExit('mpigen: %s is no array' % p.name)


def array_ptr_type(p):
    """The pointer type an array parameter decays to."""
    if p.ctype.endswith('*'):
        return p.ctype
    rest = p.dims[2:]
    return '%s (*)%s' % (p.ctype, rest) if rest else p.ctype + ' *'


def rebuild_plan(f):
    """How each parameter of a rebuilt call is logged: a list of
    (param, how), how one of value, string, array, handle, handles,
    handle_out, handle_inout, info."""
    plan = []
    for p in f.params:
        if p.kind == 'info' and not p.by_pointer and not f.name.startswith('MPI_Info_'):
            # a hint to another call: replayed as MPI_INFO_NULL (hints may
            # be ignored; the info may come from calls not logged)
            plan.append((p, 'info'))
        elif p.kind in REBUILD_KINDS:
            if p.array:
                plan.append((p, 'handles'))
            elif not p.by_pointer:
                plan.append((p, 'handle'))
            elif p.dir == 'out':
                plan.append((p, 'handle_out'))
            elif p.dir == 'inout':
                plan.append((p, 'handle_inout'))
            else:
                raise SystemExit('mpigen: %s.%s: cannot log it' % (f.name, p.name))
        elif p.kind:
            raise SystemExit('mpigen: %s.%s: %s handles are not rebuilt' % (f.name, p.name, p.kind))
        elif 'string' in p.role.split():
            plan.append((p, 'string'))
        elif p.array:
            plan.append((p, 'array'))
        elif not p.by_pointer and not p.dims:
            plan.append((p, 'value'))
        else:
            raise SystemExit('mpigen: %s.%s (%s): cannot log it (an array needs array(N))'
                             % (f.name, p.name, p.role))
    return plan


def gen_log(f):
    """The wrapper's lines that log a successful call (rebuild)."""
    out = ['\tif (rc == MPI_SUCCESS) {', '\t\tstruct mpi_log_rec *L = mpi_log_begin(F_%s);' % f.name]
    for p, how in rebuild_plan(f):
        k = 'MK_' + (p.kind or '').upper()
        if how == 'value':
            out.append('\t\tmpi_log_put(L, &%s, sizeof(%s));' % (p.name, p.name))
        elif how == 'string':
            out.append('\t\tmpi_log_str(L, %s);' % p.name)
        elif how == 'array':
            out.append('\t\tmpi_log_array(L, %s, %s ? (size_t)%s * sizeof(%s) : 0);'
                       % (p.name, p.name, count_expr(f, p.array), elem_type(p)))
        elif how == 'handle':
            out.append('\t\tmpi_log_put(L, &%s, sizeof(int));' % p.name)
        elif how == 'handles':
            out.append('\t\tmpi_log_array(L, %s, %s ? (size_t)%s * sizeof(int) : 0);'
                       % (p.name, p.name, count_expr(f, p.array)))
        elif how == 'handle_out':
            out.append('\t\tint lo_%s = %s ? (int)*%s : 0;' % (p.name, p.name, p.name))
            out.append('\t\tmpi_log_put(L, &lo_%s, sizeof(int));' % p.name)
            out.append('\t\th_mark_rebuilt(%s, lo_%s);' % (k, p.name))
        elif how == 'handle_inout':
            out.append('\t\tmpi_log_put(L, &li_%s, sizeof(int));' % p.name)
    out += ['\t\tmpi_log_end(L);', '\t}']
    return out


def gen_replay(f):
    """Replays a logged call in a new lower half: the same arguments, the
    handles translated to the new half's, the created ones bound to the
    application's virtual handles."""
    out = ['static int replay_%s(struct mpi_log_reader *R)' % f.name, '{']
    args, post = [], []
    for p, how in rebuild_plan(f):
        k = 'MK_' + (p.kind or '').upper()
        n = p.name
        if how == 'value':
            out.append('\t%s %s;' % (p.ctype, n))
            out.append('\tmpi_log_get(R, &%s, sizeof(%s));' % (n, n))
            args.append(n)
        elif how == 'string':
            out.append('\tconst char *%s = mpi_log_get_str(R);' % n)
            args.append(n)
        elif how == 'array':
            out.append('\tconst void *%s = mpi_log_get_array(R, NULL);' % n)
            args.append('(%s)%s' % (array_ptr_type(p), n))
        elif how == 'info':
            args.append('MPI_INFO_NULL')
        elif how == 'handle':
            out.append('\tint v_%s;' % n)
            out.append('\tmpi_log_get(R, &v_%s, sizeof(int));' % n)
            args.append('h_in(%s, v_%s)' % (k, n))
        elif how == 'handles':
            out.append('\tsize_t nb_%s;' % n)
            out.append('\tconst int *v_%s = mpi_log_get_array(R, &nb_%s);' % (n, n))
            out.append('\tint *r_%s = h_in_array(%s, v_%s, (int)(nb_%s / sizeof(int)), NULL, 0);'
                       % (n, k, n, n))
            args.append('r_%s' % n)
            post.append('\th_array_done(r_%s, NULL);' % n)
        elif how == 'handle_out':
            out.append('\tint v_%s, r_%s = 0;' % (n, n))
            out.append('\tmpi_log_get(R, &v_%s, sizeof(int));' % n)
            args.append('&r_%s' % n)
            post.insert(0, '\tif (rc == MPI_SUCCESS)\n\t\th_rebind(%s, v_%s, r_%s);' % (k, n, n))
        elif how == 'handle_inout':
            out.append('\tint v_%s, r_%s;' % (n, n))
            out.append('\tmpi_log_get(R, &v_%s, sizeof(int));' % n)
            out.append('\tr_%s = h_in(%s, v_%s);' % (n, k, n))
            args.append('&r_%s' % n)
            post.insert(0, '\tif (rc == MPI_SUCCESS)\n\t\th_rebind(%s, v_%s, r_%s);' % (k, n, n))
    out.append('\tif (mpi_log_bad(R))\n\t\treturn -1;')
    out.append('\tlong t = cross_enter();')
    out.append('\tint rc = MPI_FN(%s)(%s);' % (f.name, ', '.join(args)))
    out.append('\tcross_leave(t);')
    out += post
    out += ['\treturn rc;', '}', '']
    return out


def gen_refs(f):
    """The handles a logged call's record names, for the log's compaction
    (log.c): each with its kind and whether the call made it (out), changed
    or freed it (inout) or only read it (in)."""
    out = ['static int refs_%s(struct mpi_log_reader *R, struct mpi_log_ref *o, int max)' % f.name,
           '{', '\tint n = 0;']
    for p, how in rebuild_plan(f):
        k = 'MK_' + (p.kind or '').upper()
        if how == 'value':
            out.append('\t{ %s x; mpi_log_get(R, &x, sizeof(x)); }' % p.ctype)
        elif how == 'string':
            out.append('\tmpi_log_get_str(R);')
        elif how == 'array':
            out.append('\tmpi_log_get_array(R, NULL);')
        elif how in ('handle', 'handle_out', 'handle_inout'):
            d = {'handle': 'LOG_IN', 'handle_out': 'LOG_OUT', 'handle_inout': 'LOG_INOUT'}[how]
            out.append('\tif (n == max)\n\t\treturn -1;')
            out.append('\to[n].kind = %s;' % k)
            out.append('\to[n].dir = %s;' % d)
            out.append('\tmpi_log_get(R, &o[n++].v, sizeof(int));')
        elif how == 'handles':
            out.append('\t{')
            out.append('\t\tsize_t nb;')
            out.append('\t\tconst int *v = mpi_log_get_array(R, &nb);')
            out.append('\t\tfor (size_t i = 0; v && i < nb / sizeof(int); i++) {')
            out.append('\t\t\tif (n == max)\n\t\t\t\treturn -1;')
            out.append('\t\t\to[n++] = (struct mpi_log_ref){ %s, v[i], LOG_IN };' % k)
            out.append('\t\t}')
            out.append('\t}')
    out += ['\treturn mpi_log_bad(R) ? -1 : n;', '}', '']
    return out


def is_collective(f):
    """A call every process of a communicator makes (its twin's too)."""
    return any(p.name == 'comm' for p in f.params) and \
        not re.match(r'^MPI_[BSR]?(send|recv|Send|Recv)(_c)?$', f.name)


def request_flight(f, pw):
    """The hook that tells flight.c what the request this call made is."""
    if not any(p.kind == 'request' and p.dir == 'out' and not p.array and p.name == 'request'
               for p in f.params):
        return None
    if 'irecv' in pw:
        return 'flight_mark_post(*request, FL_RECV, 0, comm, source, buf, count, datatype, tag)'
    if 'precv' in pw:
        return ('flight_mark_post(*request, FL_PRECV, F_%s, comm, source, buf, count, datatype, tag)'
                % f.name)
    if 'psend' in pw:
        return ('flight_mark_post(*request, FL_PSEND, F_%s, comm, dest, (void *)buf, count, datatype, tag)'
                % f.name)
    if 'send' in pw:
        return 'flight_mark(*request, FL_SEND, comm, dest)'
    if 'imrecv' in pw:
        return 'flight_mark(*request, FL_WAIT, MPI_COMM_NULL, 0)'
    if p_collective(f):
        # every one is emulated (gen_wrapper): its init makes no request
        raise SystemExit('mpigen: %s: a persistent collective with no emulating form' % f.name)
    if nb_collective(f):
        ps = coll_again_params(f)
        if ps is None:
            return 'flight_mark_coll(*request, comm, fl_cidx, 0, NULL, 0)'
        return 'flight_mark_coll(*request, comm, fl_cidx, F_%s + 1, %s, %d)' % (
            f.name, coll_args([p.name for p in ps]), len(ps))
    return None


def twin_flight(f):
    """What a blocking call's posted twin is, for the cut (flight.c)."""
    pw = f.p2p
    if 'recv' in pw:
        return ('{ .kind = FL_RECV, .comm = comm, .peer = source, .buf = buf, .count = count, '
                '.type = datatype, .tag = tag }')
    if 'send' in pw:
        return '{ .kind = FL_SEND, .comm = comm, .peer = dest }'
    if re.match(r'^MPI_Mrecv(_c)?$', f.name):
        return '{ .kind = FL_WAIT, .comm = MPI_COMM_NULL }'
    if COLL_RE.match(f.name):
        return '{ .kind = FL_WAIT, .comm = comm, %s }' % coll_twin_desc(f)
    return '{ .kind = FL_NONE, .comm = MPI_COMM_NULL }'


FUNCS = {}  # name -> Function, for the collectives' twins (gen)
COLL_ARGS = 10  # MPI_COLL_ARGS (src/mpi/upper.h)


def nb_collective(f):
    """A non-blocking collective (MPI_Ibcast...), not a persistent one."""
    return COLL_RE.match(f.name) and f.name.startswith('MPI_I') and '_init' not in f.name and \
        any(p.name == 'comm' for p in f.params)


def p_collective(f):
    """A persistent collective's init call (MPI_Allreduce_init...)."""
    return COLL_RE.match(f.name) and '_init' in f.name and any(p.name == 'comm' for p in f.params)


def pcoll_form(f):
    """The non-blocking collective that emulates the persistent collective
    f (MPI_Allreduce_init: MPI_Iallreduce), or None: f is none, or its
    form cannot be started from saved arguments (coll_again_params)."""
    if not p_collective(f):
        return None
    m = re.match(r'^MPI_(\w)(\w*)_init(_c)?$', f.name)
    g = FUNCS.get('MPI_I%s%s%s' % (m.group(1).lower(), m.group(2), m.group(3) or ''))
    ps = coll_again_params(g)
    if ps is None or [p.name for p in ps] != [p.name for p in f.params if p.name not in ('info', 'request')]:
        return None
    return g


def coll_again_params(g):
    """The parameters a non-blocking collective g is started again with
    after a restart (mpi_coll_again), or None if it cannot be: handles
    other than int handles, single or in arrays of a size the
    communicator gives (MPI_Ialltoallw's datatypes)."""
    if not g or not nb_collective(g) or g.impl != 'generated':
        return None
    ps = [p for p in g.params if not (p.kind == 'request' and p.dir == 'out')]
    if len(ps) != len(g.params) - 1 or len(ps) > COLL_ARGS:
        return None
    for p in ps:
        if p.kind and (p.by_pointer or p.kind in POINTER_KINDS or p.dir != 'in'):
            return None
        if p.kind and p.array and not re.match(r'^(comm_size|neighbors_(in|out))\(comm\)$', p.array):
            return None
    if sum(1 for p in ps if p.kind and p.array) > 2:
        return None
    return ps


def coll_holds(g, ps):
    """The datatypes and ops of collective g's arguments ps, held by the
    request (flight_hold: the application may free them meanwhile)."""
    out = []
    for p in ps:
        if p.kind not in ('datatype', 'op'):
            continue
        if p.array:
            out.append('\tflight_hold_array(*request, MK_%s, %s, %s);'
                       % (p.kind.upper(), p.name, count_expr(g, p.array)))
        else:
            out.append('\tflight_hold(*request, MK_%s, %s);' % (p.kind.upper(), p.name))
    return out


def coll_args(names):
    return '(long[]){ %s }' % ', '.join('(long)%s' % n for n in names)


def coll_twin_desc(f):
    """A blocking collective's twin, interrupted: which collective, how to
    start it again."""
    g = FUNCS.get(f.waits)
    ps = coll_again_params(g)
    mine = [p.name for p in f.params if p.role != 'out status']
    if ps is None or [p.name for p in ps] != mine:
        return '.cidx = fl_cidx, .again = 0'
    return '.cidx = fl_cidx, .again = F_%s + 1, .args = { %s }' % (
        g.name, ', '.join('(long)%s' % n for n in mine))


def gen_coll_again(funcs):
    """mpi_coll_again: a collective started again from its saved arguments
    (after a restart, or an emulated persistent one's start). Arrays of
    handles are translated into keep[], which the caller keeps with the
    request until it is released."""
    out = ['int mpi_coll_again(const struct mpi_req_flight *f, MPI_Request *real, int *keep[2])', '{',
           '	const long *a = f->args;', '	long t;', '	int rc;', '	keep[0] = keep[1] = NULL;',
           '	switch (f->again - 1) {']
    for g in funcs:
        ps = coll_again_params(g)
        if ps is None:
            continue
        args, pre, nkeep = [], [], 0
        for i, p in enumerate(ps):
            if p.kind and p.array:
                ci = [q.name for q in ps].index('comm')
                n = count_expr(g, p.array).replace('(comm', '((MPI_Comm)a[%d]' % ci)
                pre.append('		keep[%d] = h_in_array(MK_%s, (const int *)a[%d], %s, NULL, 0);'
                           % (nkeep, p.kind.upper(), i, n))
                args.append('keep[%d]' % nkeep)
                nkeep += 1
            elif p.kind:
                args.append('h_in(MK_%s, (int)a[%d])' % (p.kind.upper(), i))
            elif p.dims:
                args.append('(%s *)a[%d]' % (p.ctype, i))
            else:
                args.append('(%s)a[%d]' % (p.ctype, i))
        out.append('	case F_%s:' % g.name)
        out.extend(pre)
        out.append('		t = cross_enter();')
        out.append('		rc = MPI_FN(%s)(%s, real);' % (g.name, ', '.join(args)))
        out.append('		cross_leave(t);')
        out.append('		return rc;')
    out += ['	default:', '		return MPI_ERR_INTERN;', '	}', '}', '']
    return out


def status_arg(f):
    st = [p.name for p in f.params if p.role == 'out status']
    return st[0] if st else 'MPI_STATUS_IGNORE'


def wait_proto(f, fname):
    extra = {'loop': [], 'pair': ['struct mpi_wait_pair *wait_pair']}
    ps = [p.decl() for p in f.params] + extra.get(f.waits, ['MPI_Request *wait_req'])
    return 'int %s(%s)' % (fname, ', '.join(ps + ['const volatile int *wait_stop']))


def gen_lower_wait(f):
    """The lower half's waiting form of f, for lower_wait.c."""
    if f.waits in ('loop', 'pair'):
        return []  # hand-written: src/mpi/wait_loops.h
    twin_args = [p.name for p in f.params if p.role != 'out status'] + ['wait_req']
    return [wait_proto(f, 'WAIT_NAME(%s)' % f.name), '{',
            '\tint rc = LOWER_CALL(%s)(%s);' % (f.waits, ', '.join(twin_args)),
            '\treturn rc != MPI_SUCCESS ? rc : mpi_wait_loop(wait_req, %s, wait_stop);' % status_arg(f),
            '}', '']


def count_expr(f, rule):
    m = re.match(r'^comm_size\((\w+)\)$', rule)
    if m:
        return 'mpi_comm_group_size(%s)' % m.group(1)
    m = re.match(r'^neighbors_(in|out)\((\w+)\)$', rule)
    if m:
        return 'mpi_neighbor_count(%s, %d)' % (m.group(2), m.group(1) == 'out')
    m = re.match(r'^ndims_of\((\w+)\)$', rule)
    if m:  # MPI_Cart_sub's remain_dims: one per dimension of the grid
        return 'mpi_cart_ndims(%s)' % m.group(1)
    m = re.match(r'^last\((\w+),(\w+)\)$', rule)
    if m:  # the last element of array A of N: MPI_Graph_create's edges
        a, n = m.group(1), m.group(2)
        return '((int)%s > 0 && %s ? %s[%s - 1] : 0)' % (n, a, a, n)
    if rule not in [p.name for p in f.params]:
        raise SystemExit('mpigen: %s: array count %r is no parameter' % (f.name, rule))
    return '(int)%s' % rule


PASSTHROUGH = set()


def gen_wrapper(f):
    out = []
    w = out.append
    w('CAIRN_MPI_API %s' % f.proto(f.pname))
    w('{')
    if f.impl == 'unsupported':
        w('\tmpi_unsupported("%s", "%s");' % (f.name, f.why.replace('"', '\\"')))
        w('}')
        return out
    if f.impl in ('local', 'manual'):
        args = ', '.join(p.name for p in f.params if p.name != '...')
        w('\treturn mpi_impl_%s(%s);' % (f.short, args))
        w('}')
        return out
    is_int = f.ret == 'int'
    has_out_request = any(p.kind == 'request' and p.dir == 'out' and not p.array for p in f.params)
    args, post, arrays = [], [], []
    w('\tMPI_LOWER_READY();')
    if f.name in ('MPI_Type_free', 'MPI_Op_free'):
        # one a request still names is freed when that request is (flight.c)
        p = f.params[0]
        w('\tif (h_free_deferred(MK_%s, %s))\n\t\treturn MPI_SUCCESS;' % (p.kind.upper(), p.name))
    g = pcoll_form(f)
    if g:
        # emulated: no request in MPICH until MPI_Start (flight.c)
        ps = coll_again_params(g)
        w('\tint rc = flight_pcoll_init(request, comm, F_%s + 1, %s, %d);'
          % (g.name, coll_args([p.name for p in ps]), len(ps)))
        w('\tif (rc == MPI_SUCCESS) {')
        out.extend('\t' + x for x in coll_holds(g, ps))
        w('\t}')
        w('\treturn rc;')
        w('}')
        return out
    if f.name in ('MPI_Start', 'MPI_Request_free'):
        w('\tint fl_rc;')
        w('\tif (flight_%s(request, &fl_rc))' % ('pcoll_start' if f.name == 'MPI_Start' else 'request_free'))
        w('\t\treturn fl_rc;')
    if f.name == 'MPI_Startall':
        w('\tint fl_rc;')
        w('\tif (flight_pcoll_startall(count, array_of_requests, &fl_rc))')
        w('\t\treturn fl_rc;')
    if re.match(r'^MPI_I?mrecv(_c)?$', f.name, re.IGNORECASE):
        # a message a checkpoint received into the upper half (flight.c)
        stp = next((p.name for p in f.params if p.role == 'out status'), 'MPI_STATUS_IGNORE')
        rq = 'request' if any(p.name == 'request' for p in f.params) else 'NULL'
        w('\tint fl_rc;')
        w('\tif (flight_message_take(buf, count, datatype, message, %s, %s, &fl_rc))' % (stp, rq))
        w('\t\treturn fl_rc;')
    if f.rebuild:
        for p, how in rebuild_plan(f):
            if how == 'handle_inout':
                w('\tint li_%s = (int)*%s;' % (p.name, p.name))
    # the message counts (flight.c)
    pw = f.p2p
    st1 = next((p.name for p in f.params if p.role == 'out status' and not p.array), None)
    stn = next((p.name for p in f.params if p.role.startswith('out statuses(')), None)
    subst = {}
    flag = ' && *flag' if any(p.name == 'flag' for p in f.params) else ''
    # (a persistent collective counts at each start, flight_start)
    coll = COLL_RE.match(f.name) and any(p.name == 'comm' for p in f.params) and '_init' not in f.name
    if coll:
        w('\tlong long fl_cidx = flight_coll(comm);')
        w('\t(void)fl_cidx;')
    if 'send' in pw:
        w('\tflight_sent(comm, dest, 1);')
    if st1 and any(x in pw for x in ('recv', 'complete-one', 'complete-any')):
        w('\tMPI_Status fl_st, *fl_status = %s == MPI_STATUS_IGNORE ? &fl_st : %s;' % (st1, st1))
        subst[st1] = 'fl_status'
        if any(p.kind == 'message' and p.dir == 'out' for p in f.params):
            # MPICH's matched probes set the count but keep whatever
            # cancelled bit the status held: a message uncounted (flight_recvd)
            w('\tfl_status->count_hi_and_cancelled = 0;')
    if stn and any(x in pw for x in ('complete-all', 'complete-some')):
        n = 'incount' if 'complete-some' in pw else 'count'
        w('\tMPI_Status fl_stk[MPI_STACK_ARRAY];')
        w('\tMPI_Status *fl_statuses = flight_statuses(%s, %s, fl_stk, MPI_STACK_ARRAY);' % (stn, n))
        subst[stn] = 'fl_statuses'
    if 'start' in pw:
        w('\tflight_start(*request);')
    if 'startall' in pw:
        w('\tfor (int fl_i = 0; fl_i < count; fl_i++)\n\t\tflight_start(array_of_requests[fl_i]);')
    if 'cancel' in pw:
        w('\tflight_cancel(*request);')
    if 'free' in pw:
        w('\tflight_freed(*request);')
    # MPI_Isendrecv's pairs complete only when tested (src/mpi/pair.c)
    completes = any(x in pw for x in ('complete-one', 'complete-all', 'complete-any', 'complete-some'))
    if f.waits == 'loop':
        w('retry:;')  # after an interruption: translate again (a restart changes handles)
        if completes:
            w('\tconst volatile int *w_word = flight_pairs_word();')
    elif completes:
        w('\tflight_pairs_progress();')
    for p in f.params:
        k = 'MK_' + p.kind.upper() if p.kind and p.kind not in PASSTHROUGH else None
        if p.target_disp:
            w('\tMPI_Aint d_%s = mpi_win_disp(win, target_rank, %s);' % (p.name, p.name))
            args.append('d_' + p.name)
            continue
        if not k:
            args.append(subst.get(p.name, p.name))
            continue
        ct = HANDLE_CTYPES[p.kind]
        if p.kind in POINTER_KINDS:
            if p.array:
                raise SystemExit('mpigen: %s.%s: arrays of pointer handles are not handled' % (f.name, p.name))
            r = 'r_' + p.name
            if not p.by_pointer:
                w('\t%s %s = hf_in(%s);' % (ct, r, p.name))
                args.append(r)
            elif p.dir == 'in':
                w('\t%s %s = hf_in(*%s);' % (ct, r, p.name))
                args.append('&' + r)
            elif p.dir == 'out':
                w('\t%s %s = NULL;' % (ct, r))
                args.append('%s ? &%s : NULL' % (p.name, r))
                cond = 'rc == MPI_SUCCESS' if is_int else '1'
                post.insert(0, '\tif (%s && %s)\n\t\t*%s = hf_out(%s);' % (cond, p.name, p.name, r))
            else:
                w('\t%s %s0 = hf_in(*%s), %s = %s0;' % (ct, r, p.name, r, r))
                args.append('&' + r)
                post.append('\t*%s = hf_update(*%s, %s0, %s);' % (p.name, p.name, r, r))
            continue
        r = 'r_' + p.name
        if p.array:
            n = count_expr(f, p.array)
            if has_out_request:
                w('\t%s *%s = h_in_array(%s, %s, %s, NULL, 0);' % (ct, r, k, p.name, n))
            else:
                w('\t%s rb_%s[MPI_STACK_ARRAY];' % (ct, p.name))
                w('\t%s *%s = h_in_array(%s, %s, %s, rb_%s, MPI_STACK_ARRAY);' % (ct, r, k, p.name, n, p.name))
            args.append(r)
            if p.dir == 'inout':
                post.append('\th_update_array(%s, %s, %s, %s);' % (k, p.name, r, n))
            elif p.dir == 'out':
                raise SystemExit('mpigen: %s.%s: output arrays of handles are not handled' % (f.name, p.name))
            arrays.append(p)
        elif not p.by_pointer:
            w('\t%s %s = h_in(%s, %s);' % (ct, r, k, p.name))
            args.append(r)
        elif p.dir == 'in':
            w('\t%s %s = h_in(%s, *%s);' % (ct, r, k, p.name))
            args.append('&' + r)
        elif p.dir == 'out':
            w('\t%s %s = %s;' % (ct, r, 'MPI_REQUEST_NULL' if p.kind == 'request' else '0'))
            # NULL stays NULL: MPICH reports it (or accepts it) as natively
            args.append('%s ? &%s : NULL' % (p.name, r))
            cond = 'rc == MPI_SUCCESS' if is_int else '1'
            post.insert(0, '\tif (%s && %s)\n\t\t*%s = h_out(%s, %s);' % (cond, p.name, p.name, k, r))
        else:
            w('\t%s %s0 = h_in(%s, *%s), %s = %s0;' % (ct, r, k, p.name, r, r))
            args.append('&' + r)
            post.append('\t*%s = h_update(%s, *%s, %s0, %s);' % (p.name, k, p.name, r, r))
    # MPICH 4.0.2's non-blocking collectives on intercommunicators are wrong
    # (MPI_Ibcast from a root other than 0): those wait inside MPICH.
    inter_blocking = f.waits and f.waits not in ('loop', 'pair') and is_collective(f)
    if inter_blocking:
        w('\tint w_inter = mpi_comm_is_inter(comm);')
        plain = 'MPI_FN(%s)(%s)' % (f.name, ', '.join(args))
    if f.waits:
        if f.waits == 'pair':
            w('\tstruct mpi_wait_pair w_pair = { { MPI_REQUEST_NULL, MPI_REQUEST_NULL }, NULL };')
            w('\tint w_intr = 0; /* interrupted: the receive counts when its request completes */')
            args.append('&w_pair')
        elif f.waits != 'loop':
            w('\tMPI_Request w_req = MPI_REQUEST_NULL;')
            w('\tint w_intr = 0; /* interrupted: the receive counts when its request completes */')
            w('\t(void)w_intr;')
            args.append('&w_req')
        args.append('w_word' if completes and f.waits == 'loop' else '&mpi_wait_stop')
        call = 'MPI_WAIT_FN(%s)(%s)' % (f.name, ', '.join(args))
    else:
        call = 'MPI_FN(%s)(%s)' % (f.name, ', '.join(args))
    if inter_blocking:
        call = 'w_inter ? %s : %s' % (plain, call)
    w('\tlong t = cross_enter();')
    if f.ret == 'void':
        w('\t%s;' % call)
    else:
        w('\t%s rc = %s;' % (f.ret, call))
    w('\tcross_leave(t);')
    if f.waits == 'loop':
        w('\tif (__builtin_expect(rc == MPI_WAIT_INTERRUPTED, 0)) {')
        for p in arrays:
            w('\t\th_array_done(r_%s, rb_%s);' % (p.name, p.name))
        w('\t\t%s;' % ('flight_pairs_interrupted(w_word)' if completes else 'mpi_wait_interrupted()'))
        w('\t\tgoto retry;')
        w('\t}')
    elif f.waits == 'pair':
        # the receive and the send, as the cut must know them (flight.c)
        if 'replace' in f.name:
            rd = 'buf, count, datatype, source, recvtag'
        else:
            rd = 'recvbuf, recvcount, recvtype, source, recvtag'
        b, c, t, src, tg = [x.strip() for x in rd.split(',')]
        w('\tif (__builtin_expect(rc == MPI_WAIT_INTERRUPTED, 0)) {')
        w('\t\tstruct mpi_req_flight w_fl[2] = {')
        w('\t\t\t{ .kind = FL_RECV, .comm = comm, .peer = %s, .buf = %s, .count = %s, .type = %s, .tag = %s },'
          % (src, b, c, t, tg))
        w('\t\t\t{ .kind = FL_SEND, .comm = comm, .peer = dest } };')
        w('\t\tw_intr = 1;')
        w('\t\trc = mpi_wait_resume_pair(&w_pair, %s, w_fl);' % subst.get(status_arg(f), status_arg(f)))
        w('\t}')
    elif f.waits:
        # posted, not complete: wait on it as the application's own request,
        # which the cut knows as what it is (flight.c)
        w('\tif (__builtin_expect(rc == MPI_WAIT_INTERRUPTED, 0)) {')
        w('\t\tstruct mpi_req_flight w_fl = %s;' % twin_flight(f))
        w('\t\tw_intr = 1;')
        w('\t\trc = mpi_wait_resume(w_req, %s, &w_fl);' % subst.get(status_arg(f), status_arg(f)))
        w('\t}')
    # counts, before the requests are released
    if coll and not f.name.startswith('MPI_I') and '_init' not in f.name:
        w('\tif (rc == MPI_SUCCESS)\n\t\tflight_coll_done(comm, fl_cidx);')
    if 'send' in pw:
        w('\tif (rc != MPI_SUCCESS)\n\t\tflight_sent(comm, dest, -1);')
    if 'recv' in pw:
        intr = ' && !w_intr' if f.waits and f.waits != 'loop' else ''
        w('\tif (rc == MPI_SUCCESS%s%s)\n\t\tflight_recvd(comm, fl_status);' % (flag, intr))
    if 'complete-one' in pw:
        req = 'request' if f.name == 'MPI_Request_get_status' else '*request'
        w('\tif (rc == MPI_SUCCESS%s)\n\t\tflight_done(%s, fl_status);' % (flag, req))
    if 'complete-any' in pw:
        w('\tif (rc == MPI_SUCCESS%s && *indx != MPI_UNDEFINED)\n'
          '\t\tflight_done(array_of_requests[*indx], fl_status);' % flag)
    if 'complete-all' in pw:
        w('\tif ((rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS)%s)\n'
          '\t\tfor (int fl_i = 0; fl_i < count; fl_i++)\n'
          '\t\t\tif (rc == MPI_SUCCESS || fl_statuses[fl_i].MPI_ERROR == MPI_SUCCESS)\n'
          '\t\t\t\tflight_done(array_of_requests[fl_i], &fl_statuses[fl_i]);' % flag)
    if 'complete-some' in pw:
        w('\tif ((rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS) && *outcount != MPI_UNDEFINED)\n'
          '\t\tfor (int fl_i = 0; fl_i < *outcount; fl_i++)\n'
          '\t\t\tif (rc == MPI_SUCCESS || fl_statuses[fl_i].MPI_ERROR == MPI_SUCCESS)\n'
          '\t\t\t\tflight_done(array_of_requests[array_of_indices[fl_i]], &fl_statuses[fl_i]);')
    out.extend(post)
    if 'recv' in pw and any(p.kind == 'message' and p.dir == 'out' for p in f.params):
        # a matched message: what it is, for a checkpoint that holds it
        w('\tif (rc == MPI_SUCCESS && message && *message != MPI_MESSAGE_NULL &&\n'
          '\t    *message != MPI_MESSAGE_NO_PROC)\n\t\tflight_message(*message, comm, fl_status);')
    # a communicator made: its id for the job (not MPI_Comm_idup's, whose
    # communicator exists only once the request completes)
    for p in f.params:
        if p.kind == 'comm' and p.dir == 'out' and not p.array and 'idup' not in f.name:
            w('\tif (rc == MPI_SUCCESS && %s)\n\t\tflight_new_comm(*%s);' % (p.name, p.name))
    mark = request_flight(f, pw)
    if mark:
        w('\tif (rc == MPI_SUCCESS && request)\n\t\t%s;' % mark)
        ps = coll_again_params(f) if nb_collective(f) else None
        holds = coll_holds(f, ps) if ps else []
        if holds:
            w('\tif (rc == MPI_SUCCESS && request) {')
            out.extend(holds)
            w('\t}')
    if stn in subst:
        w('\tflight_statuses_done(fl_statuses, %s, fl_stk);' % stn)
    if f.rebuild:
        out.extend(gen_log(f))
    for p in arrays:
        if has_out_request:
            req = next(q for q in f.params if q.kind == 'request' and q.dir == 'out' and not q.array)
            w('\tif (rc == MPI_SUCCESS)\n\t\th_request_keep(*%s, r_%s);\n\telse\n\t\th_array_done(r_%s, NULL);'
              % (req.name, p.name, p.name))
        else:
            w('\th_array_done(r_%s, rb_%s);' % (p.name, p.name))
    if f.ret != 'void':
        w('\treturn rc;')
    w('}')
    return out


def write(path, text):
    # Only touch files whose content changed, so make does not rebuild more.
    if os.path.exists(path) and open(path).read() == text:
        return
    with open(path, 'w') as fh:
        fh.write(text)


def gen(funcs, cfg, consts, outdir):
    os.makedirs(outdir, exist_ok=True)
    ex = [f for f in funcs if f.exported]
    banner = '/* Generated by tools/mpigen.py from api/: do not edit. */\n'

    h = [banner, '#ifndef CAIRN_MPI_GEN_H\n#define CAIRN_MPI_GEN_H\n',
         '#include <mpi.h>\n', 'enum mpi_fn {']
    h += ['\tF_%s,' % f.name for f in ex]
    h += ['\tF_%s, /* data */' % d for d in cfg['lower-data']]
    waiting = [f for f in ex if f.waits]
    h += ['\tF_wait_%s, /* the lower half\'s waiting form */' % f.name for f in waiting]
    h += ['\tF_wait_free, /* frees what a waiting form allocated */']
    h += ['\tMPI_FN_COUNT', '};\n',
          '#define MPI_FN_FIRST_WAIT F_wait_%s' % waiting[0].name,
          '#define MPI_FN_WAIT_COUNT %d\n' % (len(waiting) + 1),
          '/* The waiting forms: the blocking call\'s parameters, then (unless it',
          ' * waits in a loop of its own) the request its non-blocking twin posts,',
          ' * then the word that interrupts the wait (src/mpi/wait.h). */',
          '/* A receive and a send posted together (MPI_Sendrecv*): the receive',
          ' * first; tmp is what the lower half allocated for them, or NULL. */',
          'struct mpi_wait_pair {', '\tMPI_Request req[2];', '\tvoid *tmp;', '};',
          'typedef void mpi_wait_fn_free(void *tmp);']
    h += ['typedef %s;' % wait_proto(f, 'mpi_wait_fn_' + f.name) for f in waiting]
    h += ['#define MPI_WAIT_FN(name) ((mpi_wait_fn_##name *)mpi_fn[F_wait_##name])\n',
          '/* The lower half\'s address of an exported datum (lower-data). */',
          '#define MPI_LOWER_DATA(name) ((void *)mpi_fn[F_##name])\n',
          'extern const char *const mpi_fn_names[MPI_FN_COUNT];\n',
          '/* Hand-written in src/mpi: local and manual functions. */']
    for f in ex:
        if f.impl in ('local', 'manual'):
            h.append('%s;' % f.proto('mpi_impl_' + f.short, drop_variadic=True))
    h.append('\n#endif')
    write(os.path.join(outdir, 'mpi_gen.h'), '\n'.join(h) + '\n')

    c = [banner, '#include "mpi/upper.h"', '#include "mpi/log.h"', '#include "mpi/flight.h"\n']
    FUNCS.update((f.name, f) for f in ex)
    for f in ex:
        c += gen_wrapper(f)
        c.append('extern __typeof__(%s) %s __attribute__((weak, alias("%s"), visibility("default")));\n'
                 % (f.pname, f.name, f.pname))
    c += gen_coll_again(ex)
    write(os.path.join(outdir, 'wrappers.c'), '\n'.join(c))

    n = [banner, '#include "mpi_gen.h"\n', 'const char *const mpi_fn_names[MPI_FN_COUNT] = {']
    n += ['\t[F_%s] = "%s",' % (f.name, f.pname) for f in ex]
    n += ['\t[F_%s] = "%s",' % (d, d) for d in cfg['lower-data']]
    n += ['\t[F_wait_%s] = "cairn_wait_%s",' % (f.name, f.name) for f in waiting]
    n += ['\t[F_wait_free] = "cairn_wait_free",']
    n.append('};')
    write(os.path.join(outdir, 'names.c'), '\n'.join(n) + '\n')

    t = [banner, '/* The lower half\'s table, built against the real MPICH. */',
         '#include "mpi_gen.h"\n']
    t += ['void *const cairn_mpi_lower_table[MPI_FN_COUNT] = {']
    t += ['\t[F_%s] = (void *)&%s,' % (f.name, f.pname) for f in ex]
    t += ['\t[F_%s] = (void *)&%s,' % (d, d) for d in cfg['lower-data']]
    t += ['\t[F_wait_%s] = (void *)&cairn_wait_%s,' % (f.name, f.name) for f in waiting]
    t += ['\t[F_wait_free] = (void *)&cairn_wait_free,']
    t.append('};')
    t[3:3] = ['#include "mpi/wait.h"\n']
    t[4:4] = ['mpi_wait_fn_%s cairn_wait_%s;' % (f.name, f.name) for f in waiting] + \
        ['mpi_wait_fn_free cairn_wait_free;', '']
    write(os.path.join(outdir, 'lower_table.c'), '\n'.join(t) + '\n')

    rb = [f for f in ex if f.rebuild]
    rp = [banner, '/* Replaying the logged calls (`rebuild`) in a new lower half (log.c). */',
          '#include "mpi/upper.h"', '#include "mpi/log.h"\n']
    for f in rb:
        rp += gen_replay(f)
    rp += ['int mpi_log_replay_one(int fn, struct mpi_log_reader *R)', '{', '\tswitch (fn) {']
    for f in rb:
        rp += ['\tcase F_%s:' % f.name, '\t\treturn replay_%s(R);' % f.name]
    rp += ['\tdefault:', '\t\treturn mpi_log_replay_manual(fn, R);', '\t}', '}', '']
    for f in rb:
        rp += gen_refs(f)
    rp += ['int mpi_log_refs(int fn, struct mpi_log_reader *R, struct mpi_log_ref *o, int max)', '{',
           '\tswitch (fn) {']
    for f in rb:
        rp += ['\tcase F_%s:' % f.name, '\t\treturn refs_%s(R, o, max);' % f.name]
    rp += ['\tdefault:', '\t\treturn -1; /* hand-written records: kept */', '\t}', '}']
    write(os.path.join(outdir, 'replay.c'), '\n'.join(rp) + '\n')

    lw = [banner, '/* The waiting forms of the blocking calls, compiled twice: in the lower',
          ' * half (MPI_LOWER_SIDE: cairn_wait_X calling MPICH\'s PMPI_ functions) and',
          ' * in the upper half for the dlmopen provider (dlm_wait_X calling through',
          ' * the table). src/mpi/wait.h says how they wait. */',
          '#include "mpi/wait.h"', '#include "mpi/wait_loops.h"\n']
    for f in waiting:
        lw += gen_lower_wait(f)
    lw += ['#ifndef MPI_LOWER_SIDE',
           'void *const mpi_dlm_wait_table[MPI_FN_WAIT_COUNT] = {']
    lw += ['\t[F_wait_%s - MPI_FN_FIRST_WAIT] = (void *)&WAIT_NAME(%s),' % (f.name, f.name)
           for f in waiting]
    lw += ['\t[F_wait_free - MPI_FN_FIRST_WAIT] = (void *)&WAIT_NAME(free),']
    lw += ['};', '#endif']
    write(os.path.join(outdir, 'lower_wait.c'), '\n'.join(lw) + '\n')

    # MPICH's handles: kind in bits 30-31 (0 null, 1 builtin, 2 direct, 3
    # indirect). Null and builtin ones are predefined; of the direct ones only
    # those mpi.h names (the pair types MPI_FLOAT_INT...).
    p = [banner, '#include "mpi/upper.h"\n',
         'int mpi_predefined_direct(int v)', '{', '\tswitch ((unsigned)v) {']
    for kind, name, val in consts:
        if (val >> 30) == 2:
            p.append('\tcase 0x%08xu: /* %s */' % (val, name))
    p += ['\t\treturn 1;', '\tdefault:', '\t\treturn 0;', '\t}', '}', '']
    # every predefined datatype, for attributes on them (callbacks.c)
    types = sorted(set(val for kind, name, val in consts
                       if kind == 'datatype' and (val >> 30) != 0))
    p += ['const int mpi_predefined_types[] = {']
    p += ['\t(int)0x%08xu,' % v for v in types]
    p += ['};', 'const int mpi_predefined_ntypes = %d;' % len(types)]
    write(os.path.join(outdir, 'predefined.c'), '\n'.join(p) + '\n')

    names = []
    for f in ex:
        names += [f.name, f.pname]
    names += cfg['data-exports']
    # cairn's own extensions, defined in src/mpi/lower.c
    names += [x for x in CAIRN_EXTENSIONS if x not in names]
    write(os.path.join(outdir, 'exports.txt'), '\n'.join(names) + '\n')
    write(os.path.join(outdir, 'exports.map'),
          '{\n  global:\n' + ''.join('    %s;\n' % s for s in names) + '  local: *;\n};\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--api', required=True, help='path prefix: api/mpich-4.0.2')
    ap.add_argument('--out')
    ap.add_argument('--check', action='store_true')
    a = ap.parse_args()
    funcs = parse_api(a.api + '.api')
    cfg = apply_overrides(a.api + '.overrides', funcs, a.check)
    decide(funcs, cfg)
    check_waits(funcs)
    PASSTHROUGH.update(cfg['passthrough-kinds'])
    consts = []
    for line in open(a.api + '.constants'):
        if line.strip() and not line.startswith('#'):
            k, name, val = line.split()
            consts.append((k, name, int(val, 16)))
    if a.check:
        ex = [f for f in funcs if f.exported]
        by = {}
        for f in ex:
            by.setdefault(f.impl, []).append(f)
        for impl in ('generated', 'manual', 'local', 'unsupported'):
            print('%-12s %d' % (impl, len(by.get(impl, []))))
        for f in by.get('unsupported', []):
            print('  unsupported %s: %s' % (f.name, f.why))
    if a.out:
        gen(funcs, cfg, consts, a.out)


if __name__ == '__main__':
    main()
