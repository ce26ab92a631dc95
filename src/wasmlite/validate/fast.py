"""Single-pass validation of function bodies straight from their bytes: the fast path.

:func:`first_invalid` decides, for a run of function bodies, which of them are *not*
valid, without building the ``(opcode, immediate, offset)`` tuples of
:func:`wasmlite.binary.read_instructions` and without keeping anything after a body is
done.  It decodes each instruction and applies its typing rule (WebAssembly 2.0 spec
§3.3, with the algorithm of the appendix, "Validation Algorithm") in the same loop.

It only gives a verdict.  The reference path — ``read_instructions`` followed by
:class:`wasmlite.validate.validator._BodyValidator` — stays the one that explains an
error: :func:`~wasmlite.validate.validator.validate_module` runs it on every body this
path rejects, so the exception type, message and byte offset are exactly the reference
path's, and a body that the reference path accepts is valid whatever this path said.
This path must therefore never accept a body that the reference path rejects
(``tests/test_validator.py`` compares both on the spec testsuite, the real programs and
mutated bodies); rejecting a valid body only costs time.

How it is fast (CPython 3.11):

* one dispatch per instruction on a 256-entry kind table, most frequent kinds first;
  the immediates of the common instructions are read inline when they fit in one byte;
* the operand stack holds a marker (:data:`MARK`, never a valtype) below the operands of
  every control frame, so the common checks ("the top is an i32", "the two top values
  are i64") need no height comparison: they fail on the marker and the general
  algorithm takes over (polymorphic stack after ``unreachable``/``br``, type errors);
* anything unexpected — a type mismatch, an index out of range (``IndexError``), a
  malformed LEB128 (``DecodeError``) — ends the body as rejected;
* it decodes the memory instructions as WebAssembly 2.0 does (one memory, its index a
  zero byte): a body using another memory (multi-memory) is rejected here and judged
  by the reference path, which decodes with the engine's features;
* typed function references (3.0) are the reference path's: their instructions
  reject the body, a typed blocktype, ``select`` or ``ref.null`` rejects the
  body, a body with typed locals is rejected (``parallel._locals`` gives it ``None``
  for locals) and a
  module with typed references in its types, globals, tables or segments is not
  validated on this path at all (``validator._uses_typed_refs``).
"""

from __future__ import annotations

from wasmlite.binary import opcodes as op
from wasmlite.binary.decoder import (
    _K_ILLEGAL,
    _KIND1,
    _KIND_FC,
    _KIND_FD,
    _read_blocktype,
    _read_memarg,
    _read_rare_immediate,
)
from wasmlite.binary.leb128 import read_signed, read_unsigned
from wasmlite.environ.module import (
    EXTERNREF,
    F32,
    F64,
    FUNCREF,
    I32,
    I64,
    REF_BASE,
    V128,
    VAL_TYPES,
)
from wasmlite.validate import validator as _v

__all__ = ["first_invalid", "body_env", "MARK"]

#: Stack entry below the operands of each control frame (never a valtype nor Unknown).
MARK = -1
UNKNOWN = _v.UNKNOWN

_EMPTY: list[int] = []
#: a one-element result list per valtype (shared; never mutated)
_SINGLE: dict[int, list[int]] = {t: [t] for t in VAL_TYPES}
_NUM_OR_VEC = frozenset((I32, I64, F32, F64, V128))
_REF_OR_UNKNOWN = frozenset((FUNCREF, EXTERNREF, UNKNOWN))
_I32X3 = (I32, I32, I32)


class _Reject(Exception):
    """The body is not valid (the reference path says why)."""


# -- dispatch tables -------------------------------------------------------------------
# Kinds of one-byte opcodes, in the order the main loop tests them (by frequency in
# compiled C and Rust code: local.get ~25 %, i32.const ~15 %, binary operators, end,
# loads, br_if, local.set, block, local.tee, stores, call, unary operators, ...).
F_LOCAL_GET = 0
F_I32_CONST = 1
F_BINARY = 2
F_END = 3
F_LOAD = 4
F_BR_IF = 5
F_LOCAL_SET = 6
F_BLOCK = 7
F_LOCAL_TEE = 8
F_STORE = 9
F_CALL = 10
F_UNARY = 11
F_BR = 12
F_SELECT = 13
F_GLOBAL_GET = 14
F_GLOBAL_SET = 15
F_IF = 16
F_ELSE = 17
F_RETURN = 18
F_DROP = 19
F_UNREACHABLE = 20
F_NOP = 21
F_CONST = 22  # i64/f32/f64.const
F_MEMORY = 23  # memory.size / memory.grow
F_RARE = 24  # everything else (prefixed, tables, references, br_table, call_indirect)
F_ILLEGAL = 25

_KIND = [F_ILLEGAL] * 256
#: one-byte opcode -> signature: (p0, p1, result) binary, (p0, result) unary,
#: (natural alignment, result) load, (natural alignment, stored type) store
_SIG: list[tuple | None] = [None] * 256


#: the instructions of typed function references, left to the reference path
_FUNC_REF_OPS = (op.CALL_REF, op.RETURN_CALL_REF, op.REF_AS_NON_NULL, op.BR_ON_NULL,
                 op.BR_ON_NON_NULL)


def _build_tables() -> None:
    for opc, (kind, params, res) in _v._DISPATCH.items():
        if opc > 0xFF:
            continue
        if kind == _v.K_BINARY:
            _KIND[opc] = F_BINARY
            _SIG[opc] = (params[0], params[1], res)
        elif kind == _v.K_UNARY:
            _KIND[opc] = F_UNARY
            _SIG[opc] = (params[0], res)
        elif kind == _v.K_LOAD:
            _KIND[opc] = F_LOAD
            _SIG[opc] = (_v._MEMOPS[opc][2], res)
        elif kind == _v.K_STORE:
            _KIND[opc] = F_STORE
            _SIG[opc] = (_v._MEMOPS[opc][2], params[1])
        elif kind == _v.K_CONST:
            _KIND[opc] = F_I32_CONST if opc == op.I32_CONST else F_CONST
            _SIG[opc] = (res,)
        elif kind == _v.K_GENERIC:  # pragma: no cover - no one-byte opcode has one
            raise AssertionError(f"generic one-byte opcode {opc:#x}")
    for opc, kind in ((op.LOCAL_GET, F_LOCAL_GET), (op.LOCAL_SET, F_LOCAL_SET),
                      (op.LOCAL_TEE, F_LOCAL_TEE), (op.END, F_END), (op.BR_IF, F_BR_IF),
                      (op.BLOCK, F_BLOCK), (op.LOOP, F_BLOCK), (op.CALL, F_CALL),
                      (op.BR, F_BR), (op.SELECT, F_SELECT), (op.GLOBAL_GET, F_GLOBAL_GET),
                      (op.GLOBAL_SET, F_GLOBAL_SET), (op.IF, F_IF), (op.ELSE, F_ELSE),
                      (op.RETURN, F_RETURN), (op.DROP, F_DROP),
                      (op.UNREACHABLE, F_UNREACHABLE), (op.NOP, F_NOP),
                      (op.MEMORY_SIZE, F_MEMORY), (op.MEMORY_GROW, F_MEMORY)):
        _KIND[opc] = kind
    for opc in (op.BR_TABLE, op.CALL_INDIRECT, op.SELECT_T, op.TABLE_GET, op.TABLE_SET,
                op.RETURN_CALL, op.RETURN_CALL_INDIRECT, *_FUNC_REF_OPS,
                op.REF_NULL, op.REF_IS_NULL, op.REF_FUNC, 0xFC, 0xFD):
        _KIND[opc] = F_RARE


_build_tables()


# -- the general algorithm (slow paths) ------------------------------------------------

def _pop(stack: list[int], ctrls: list[list], expect: int) -> int:
    """Pop one operand of type ``expect`` (``UNKNOWN``: any); Unknown from the
    polymorphic stack of an unreachable frame."""
    actual = stack[-1]
    if actual == MARK:
        if ctrls[-1][4]:
            return UNKNOWN
        raise _Reject
    stack.pop()
    if actual != expect and actual != UNKNOWN and expect != UNKNOWN:
        raise _Reject
    return actual


def _pop_vals(stack: list[int], ctrls: list[list], types) -> list[int]:
    out = [0] * len(types)
    for i in range(len(types) - 1, -1, -1):
        out[i] = _pop(stack, ctrls, types[i])
    return out


def _set_unreachable(stack: list[int], ctrls: list[list]) -> None:
    frame = ctrls[-1]
    del stack[frame[3]:]
    frame[4] = True


def _blocktype(data: bytes, pos: int, type_sigs: list) -> tuple[list, list, int]:
    """``(params, results, new pos)`` of a blocktype that is not ``0x40`` nor a valtype."""
    bt, pos = _read_blocktype(data, pos)
    if bt >= 0:
        params, results = type_sigs[bt]
        return params, results, pos
    if bt == -64:
        return _EMPTY, _EMPTY, pos
    if bt <= -REF_BASE:
        raise _Reject  # a typed reference type (function references): reference path
    return _EMPTY, _SINGLE[bt & 0x7F], pos


def _memory_op(data: bytes, pos: int, opc: int, stack: list[int], ctrls: list[list],
               has_memory: bool) -> int:
    """A load or store of the SIMD set (``memarg``), with the reference rules."""
    (align, _offset), pos = _read_memarg(data, pos, False, False)
    if not has_memory:
        raise _Reject
    params, res, natural = _v._MEMOPS[opc]
    if align > natural:
        raise _Reject
    _pop_vals(stack, ctrls, params)
    if res is not None:
        stack.append(res)
    return pos


def _rare(data: bytes, pos: int, opc: int, stack: list[int], ctrls: list[list],
          env: tuple) -> int:
    """The instructions of kind ``F_RARE``; returns the position after the immediate."""
    (func_sigs, type_sigs, globals_, table_elems, has_memory, elem_types, num_datas,
     refs, has_data_count) = env
    if opc == op.RETURN_CALL or opc == op.RETURN_CALL_INDIRECT or opc in _FUNC_REF_OPS:
        raise _Reject  # tail calls, function references: the reference path
    if opc == 0xFC or opc == 0xFD:
        b = data[pos]
        if b < 0x80:
            sub = b
            pos += 1
        else:
            sub, pos = read_unsigned(data, pos, 32)
        if opc == 0xFC:
            kind = _KIND_FC.get(sub, _K_ILLEGAL)
            opc = 0xFC00 | sub
            if not has_data_count and (opc == op.MEMORY_INIT or opc == op.DATA_DROP):
                raise _Reject
        else:
            kind = _KIND_FD.get(sub, _K_ILLEGAL)
            opc = 0xFD000 + sub
        if kind == _K_ILLEGAL:
            raise _Reject
    else:
        kind = _KIND1[opc]
    if kind == op.IMM_MEMARG:
        return _memory_op(data, pos, opc, stack, ctrls, has_memory)
    if kind == op.IMM_NONE:
        imm = None
    else:
        imm, pos = _read_rare_immediate(data, pos, opc, kind, has_data_count, False, False)
    vkind, params, res = _v._DISPATCH[opc]
    if vkind != _v.K_OTHER:  # a fixed [t1*] -> [t2?] (numeric, vector, v128.const)
        _pop_vals(stack, ctrls, params)
        if res is not None:
            stack.append(res)
        return pos
    if opc == op.BR_TABLE:
        targets, default = imm
        _pop(stack, ctrls, I32)
        arity = len(ctrls[-1 - default][5])
        for lbl in targets:
            types = ctrls[-1 - lbl][5]
            if len(types) != arity:
                raise _Reject
            stack.extend(_pop_vals(stack, ctrls, types))
        _pop_vals(stack, ctrls, ctrls[-1 - default][5])
        _set_unreachable(stack, ctrls)
    elif opc == op.CALL_INDIRECT:
        typeidx, tableidx = imm
        if table_elems[tableidx] != FUNCREF:
            raise _Reject
        params, results = type_sigs[typeidx]
        _pop(stack, ctrls, I32)
        _pop_vals(stack, ctrls, params)
        stack.extend(results)
    elif opc == op.SELECT_T:
        if len(imm) != 1:
            raise _Reject
        t = imm[0]
        if t >= REF_BASE:
            raise _Reject  # typed references: the reference path (subtyping)
        _pop(stack, ctrls, I32)
        _pop(stack, ctrls, t)
        _pop(stack, ctrls, t)
        stack.append(t)
    elif opc == op.TABLE_GET:
        t = table_elems[imm]
        _pop(stack, ctrls, I32)
        stack.append(t)
    elif opc == op.TABLE_SET:
        t = table_elems[imm]
        _pop(stack, ctrls, t)
        _pop(stack, ctrls, I32)
    elif opc == op.REF_NULL:
        if imm >= REF_BASE:
            raise _Reject  # typed references: the reference path
        stack.append(imm)
    elif opc == op.REF_IS_NULL:
        if _pop(stack, ctrls, UNKNOWN) not in _REF_OR_UNKNOWN:
            raise _Reject
        stack.append(I32)
    elif opc == op.REF_FUNC:
        if imm >= len(func_sigs) or imm not in refs:
            raise _Reject
        stack.append(FUNCREF)
    elif opc == op.TABLE_SIZE:
        table_elems[imm]  # noqa: B018 - the table must exist
        stack.append(I32)
    elif opc == op.TABLE_GROW:
        t = table_elems[imm]
        _pop(stack, ctrls, I32)
        _pop(stack, ctrls, t)
        stack.append(I32)
    elif opc == op.TABLE_FILL:
        t = table_elems[imm]
        _pop(stack, ctrls, I32)
        _pop(stack, ctrls, t)
        _pop(stack, ctrls, I32)
    elif opc == op.TABLE_COPY:
        if table_elems[imm[0]] != table_elems[imm[1]]:
            raise _Reject
        _pop_vals(stack, ctrls, _I32X3)
    elif opc == op.TABLE_INIT:
        elemidx, tableidx = imm
        if table_elems[tableidx] != elem_types[elemidx]:
            raise _Reject
        _pop_vals(stack, ctrls, _I32X3)
    elif opc == op.ELEM_DROP:
        elem_types[imm]  # noqa: B018 - the segment must exist
    elif opc == op.MEMORY_FILL or opc == op.MEMORY_COPY:
        if not has_memory:
            raise _Reject
        _pop_vals(stack, ctrls, _I32X3)
    elif opc == op.MEMORY_INIT:
        if not has_memory or imm[0] >= num_datas:
            raise _Reject
        _pop_vals(stack, ctrls, _I32X3)
    elif opc == op.DATA_DROP:
        if imm >= num_datas:
            raise _Reject
    elif opc == op.I8X16_SHUFFLE:
        for lane in imm:
            if lane >= 32:
                raise _Reject
        _pop(stack, ctrls, V128)
        _pop(stack, ctrls, V128)
        stack.append(V128)
    else:  # lane instructions (extract/replace lane, load/store lane)
        params, res, lanes, align = _v._LANEOPS[opc]
        if align is not None:
            memarg, lane = imm
            if not has_memory or memarg[0] > align:
                raise _Reject
        else:
            lane = imm
        if lane >= lanes:
            raise _Reject
        _pop_vals(stack, ctrls, params)
        if res is not None:
            stack.append(res)
    return pos


# -- the main loop ---------------------------------------------------------------------

def _body(data: bytes, pos: int, end: int, locals_, results: list[int],
          env: tuple) -> None:
    """Validate the body whose instructions are ``data[pos:end]``; raises on any error."""
    (func_sigs, type_sigs, globals_, table_elems, has_memory, elem_types, num_datas,
     refs, has_data_count) = env
    kinds = _KIND
    sigs = _SIG
    stack = [MARK]
    # control frame: [opcode, start types, end types, height, unreachable, label types]
    ctrls = [[op.BLOCK, _EMPTY, results, 1, False, results]]
    append = stack.append
    pop = stack.pop
    while True:
        opc = data[pos]
        pos += 1
        k = kinds[opc]
        if k == F_LOCAL_GET:
            b = data[pos]
            if b < 0x80:
                pos += 1
                append(locals_[b])
            else:
                b, pos = read_unsigned(data, pos, 32)
                append(locals_[b])
        elif k == F_I32_CONST:
            # an s32 of up to 4 bytes is always well formed (28 bits)
            if data[pos] < 0x80:
                pos += 1
            elif data[pos + 1] < 0x80:
                pos += 2
            elif data[pos + 2] < 0x80:
                pos += 3
            elif data[pos + 3] < 0x80:
                pos += 4
            else:
                pos = read_signed(data, pos, 32)[1]
            append(I32)
        elif k == F_BINARY:
            p0, p1, r = sigs[opc]
            if stack[-1] == p1 and stack[-2] == p0:
                pop()
                stack[-1] = r
            else:
                _pop(stack, ctrls, p1)
                _pop(stack, ctrls, p0)
                append(r)
        elif k == F_END:
            frame = ctrls[-1]
            h = frame[3]
            ends = frame[2]
            if stack[h:] != ends:
                _pop_vals(stack, ctrls, ends)
                if len(stack) != h:
                    raise _Reject
            if frame[0] == op.IF and frame[1] != ends:
                raise _Reject
            ctrls.pop()
            del stack[h - 1:]
            if not ctrls:
                if pos != end:
                    raise _Reject
                return
            stack += ends
        elif k == F_LOAD:
            a = data[pos]
            if a < 0x80 and data[pos + 1] < 0x80:
                pos += 2
            elif a < 0x80 and data[pos + 2] < 0x80:  # a 2-byte offset
                pos += 3
            else:
                (a, _o), pos = _read_memarg(data, pos, False, False)
            natural, r = sigs[opc]
            if a > natural or not has_memory:
                raise _Reject
            if stack[-1] == I32:
                stack[-1] = r
            else:
                _pop(stack, ctrls, I32)
                append(r)
        elif k == F_BR_IF:
            b = data[pos]
            if b < 0x80:
                pos += 1
            else:
                b, pos = read_unsigned(data, pos, 32)
            labels = ctrls[-1 - b][5]
            if stack[-1] == I32 and not labels:
                pop()
            else:
                _pop(stack, ctrls, I32)
                _pop_vals(stack, ctrls, labels)
                stack += labels
        elif k == F_LOCAL_SET:
            b = data[pos]
            if b < 0x80:
                pos += 1
            else:
                b, pos = read_unsigned(data, pos, 32)
            t = locals_[b]
            if stack[-1] == t:
                pop()
            else:
                _pop(stack, ctrls, t)
        elif k == F_BLOCK or k == F_IF:
            b = data[pos]
            if b == 0x40:
                pos += 1
                start = ends = _EMPTY
            elif b in _SINGLE:
                pos += 1
                start = _EMPTY
                ends = _SINGLE[b]
            else:
                start, ends, pos = _blocktype(data, pos, type_sigs)
            if k == F_IF:
                if stack[-1] == I32:
                    pop()
                else:
                    _pop(stack, ctrls, I32)
            if start:
                n = len(start)
                if stack[-n:] == start:
                    del stack[-n:]
                else:
                    _pop_vals(stack, ctrls, start)
            append(MARK)
            ctrls.append([opc, start, ends, len(stack), False,
                          start if opc == op.LOOP else ends])
            if start:
                stack += start
        elif k == F_LOCAL_TEE:
            b = data[pos]
            if b < 0x80:
                pos += 1
            else:
                b, pos = read_unsigned(data, pos, 32)
            t = locals_[b]
            if stack[-1] != t:
                _pop(stack, ctrls, t)
                append(t)
        elif k == F_STORE:
            a = data[pos]
            if a < 0x80 and data[pos + 1] < 0x80:
                pos += 2
            elif a < 0x80 and data[pos + 2] < 0x80:  # a 2-byte offset
                pos += 3
            else:
                (a, _o), pos = _read_memarg(data, pos, False, False)
            natural, t = sigs[opc]
            if a > natural or not has_memory:
                raise _Reject
            if stack[-1] == t and stack[-2] == I32:
                del stack[-2:]
            else:
                _pop(stack, ctrls, t)
                _pop(stack, ctrls, I32)
        elif k == F_CALL:
            b = data[pos]
            if b < 0x80:
                pos += 1
            elif data[pos + 1] < 0x80:
                b = (b & 0x7F) | (data[pos + 1] << 7)
                pos += 2
            elif data[pos + 2] < 0x80:
                b = (b & 0x7F) | ((data[pos + 1] & 0x7F) << 7) | (data[pos + 2] << 14)
                pos += 3
            else:
                b, pos = read_unsigned(data, pos, 32)
            fp, fr = func_sigs[b]
            if fp:
                n = len(fp)
                if stack[-n:] == fp:
                    del stack[-n:]
                else:
                    _pop_vals(stack, ctrls, fp)
            if fr:
                stack += fr
        elif k == F_UNARY:
            p0, r = sigs[opc]
            if stack[-1] == p0:
                stack[-1] = r
            else:
                _pop(stack, ctrls, p0)
                append(r)
        elif k == F_BR or k == F_RETURN:
            if k == F_BR:
                b = data[pos]
                if b < 0x80:
                    pos += 1
                else:
                    b, pos = read_unsigned(data, pos, 32)
                labels = ctrls[-1 - b][5]
            else:
                labels = ctrls[0][5]
            if labels:
                n = len(labels)
                if stack[-n:] != labels:
                    _pop_vals(stack, ctrls, labels)
            frame = ctrls[-1]
            del stack[frame[3]:]
            frame[4] = True
        elif k == F_SELECT:
            # stack[-2] exists when stack[-1] is an operand, stack[-3] when
            # stack[-2] is one (the bottom of the stack is a MARK)
            if stack[-1] == I32 and stack[-2] in _NUM_OR_VEC and stack[-3] == stack[-2]:
                del stack[-2:]
            else:
                _pop(stack, ctrls, I32)
                t1 = _pop(stack, ctrls, UNKNOWN)
                t2 = _pop(stack, ctrls, UNKNOWN)
                if t1 != UNKNOWN and t1 not in _NUM_OR_VEC:
                    raise _Reject
                if t2 != UNKNOWN and t2 not in _NUM_OR_VEC:
                    raise _Reject
                if t1 != t2 and t1 != UNKNOWN and t2 != UNKNOWN:
                    raise _Reject
                append(t2 if t1 == UNKNOWN else t1)
        elif k == F_GLOBAL_GET:
            b = data[pos]
            if b < 0x80:
                pos += 1
            else:
                b, pos = read_unsigned(data, pos, 32)
            append(globals_[b][0])
        elif k == F_GLOBAL_SET:
            b = data[pos]
            if b < 0x80:
                pos += 1
            else:
                b, pos = read_unsigned(data, pos, 32)
            t, mutable = globals_[b]
            if not mutable:
                raise _Reject
            if stack[-1] == t:
                pop()
            else:
                _pop(stack, ctrls, t)
        elif k == F_ELSE:
            frame = ctrls[-1]
            if frame[0] != op.IF:
                raise _Reject
            h = frame[3]
            ends = frame[2]
            if stack[h:] != ends:
                _pop_vals(stack, ctrls, ends)
                if len(stack) != h:
                    raise _Reject
            del stack[h:]
            frame[0] = op.ELSE
            frame[4] = False
            stack += frame[1]
        elif k == F_DROP:
            if stack[-1] != MARK:
                pop()
            elif not ctrls[-1][4]:
                raise _Reject
        elif k == F_UNREACHABLE:
            frame = ctrls[-1]
            del stack[frame[3]:]
            frame[4] = True
        elif k == F_NOP:
            pass
        elif k == F_CONST:
            if opc == op.I64_CONST:
                if data[pos] < 0x80:
                    pos += 1
                else:
                    pos = read_signed(data, pos, 64)[1]
            elif opc == op.F32_CONST:
                pos += 4
            else:
                pos += 8
            append(sigs[opc][0])
        elif k == F_MEMORY:
            if data[pos] != 0 or not has_memory:
                raise _Reject
            pos += 1
            if opc == op.MEMORY_GROW:
                if stack[-1] == I32:
                    pop()
                else:
                    _pop(stack, ctrls, I32)
            append(I32)
        elif k == F_RARE:
            pos = _rare(data, pos, opc, stack, ctrls, env)
        else:
            raise _Reject


def body_env(func_types: list, types: list, globals_: list, tables: list,
             num_memories: int, elem_types: list[int], num_datas: int, refs: set[int],
             has_data_count: bool) -> tuple:
    """The module-level facts :func:`first_invalid` needs, as one picklable tuple.

    ``func_types`` and ``types`` are :class:`~wasmlite.environ.module.FuncType` lists
    (the function index space and the type section), ``globals_`` the
    :class:`~wasmlite.environ.module.GlobalType` of every global, ``tables`` the
    :class:`~wasmlite.environ.module.TableType` of every table, ``elem_types`` the
    reftype of every element segment, ``num_datas`` the number of data segments (the
    data count when present), ``refs`` the function indices declared outside function
    bodies (``C.refs``, spec §3.4.10).
    """
    sig_of: dict = {}

    def sig(ft) -> tuple[list[int], list[int]]:
        s = sig_of.get(ft)
        if s is None:
            s = sig_of[ft] = (list(ft.params), list(ft.results))
        return s

    return ([sig(ft) for ft in func_types], [sig(ft) for ft in types],
            [(g.valtype, g.mutable) for g in globals_], [t.elem for t in tables],
            num_memories > 0, list(elem_types), num_datas, set(refs), has_data_count)


def first_invalid(data: bytes, bodies, env: tuple) -> list[int]:
    """The positions in ``bodies`` of the bodies this path rejects, in order.

    ``bodies`` is a sequence of ``(locals, results, start, end)``: the body's local types
    (parameters first; a list, or anything indexable that raises ``IndexError`` past the
    end; ``None`` rejects the body), its function's result types (a list), and where its instructions lie in
    ``data`` (``start`` after the local declarations, ``end`` just past the final
    ``end`` opcode).  ``env`` comes from :func:`body_env`.  A rejected body may still be
    valid (the reference path decides); an accepted one is valid.
    """
    rejected = []
    for i, (locals_, results, start, end) in enumerate(bodies):
        if locals_ is None:   # locals this path does not know (typed references)
            rejected.append(i)
            continue
        try:
            _body(data, start, end, locals_, results, env)
        except Exception:  # noqa: BLE001 - any failure is a rejection
            rejected.append(i)
    return rejected


def body_ok(data: bytes, locals_, results: list[int], start: int, end: int,
            env: tuple) -> bool:
    """Whether this path accepts one body (arguments as for :func:`first_invalid`)."""
    try:
        _body(data, start, end, locals_, results, env)
    except Exception:  # noqa: BLE001 - any failure is a rejection
        return False
    return True
