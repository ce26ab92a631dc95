"""WebAssembly 2.0 instruction opcodes (and the 3.0 relaxed SIMD ones), their names and
the shape of their immediates.

Numbering (see ``docs/architecture.md``):

* one-byte opcodes are their byte (``I32_ADD = 0x6A``);
* ``0xFC``-prefixed opcodes are ``0xFC00 | subopcode`` (``MEMORY_COPY = 0xFC0A``);
* ``0xFD``-prefixed (SIMD) opcodes are ``0xFD000 + subopcode`` (``V128_LOAD = 0xFD000``);
  the relaxed SIMD instructions of WebAssembly 3.0 are sub-opcodes ``0x100``-``0x113``
  (``I8X16_RELAXED_SWIZZLE = 0xFD000 + 0x100``), read as LEB128 like every sub-opcode.

Constant names are the spec's instruction names (spec §5.4 and the instruction index of
the WebAssembly 2.0 specification) upper-cased with ``.`` and ``/`` turned into ``_``.
The typed ``select t*`` (``0x1C``) is ``SELECT_T``.

Tables:

* :data:`OPCODE_NAMES` – opcode → spec text name (``"i32.add"``; ``0x1C`` is ``"select"``
  in the text format too, but is named ``"select_t"`` here to keep names unique);
* :data:`IMMEDIATE_KINDS` – opcode → one of the ``IMM_*`` kinds below, which fixes the
  binary encoding of the immediate and the Python shape the decoder gives it;
* :data:`MEMARG_NATURAL_ALIGN` – for every instruction with a ``memarg`` (loads, stores,
  SIMD loads/stores and lane loads/stores): log2 of the access size in bytes, i.e. the
  largest ``align`` the validator accepts (spec §3.3.7).

The tables are written out in full; keep the constants and the three tables in step
when editing (``tests/test_decoder.py`` checks them against ``wasmtime.wat2wasm``).
"""

from __future__ import annotations

# -- immediate kinds ---------------------------------------------------------------------
#: no immediate; immediate ``None``
IMM_NONE = 0
#: ``blocktype`` (s33) → ``int`` (-64 empty, -1 i32 ..., or a typeidx >= 0)
IMM_BLOCKTYPE = 1
#: ``labelidx`` (u32) → ``int``
IMM_LABELIDX = 2
#: ``vec(labelidx) labelidx`` → ``(tuple_of_labelidx, default_labelidx)``
IMM_BR_TABLE = 3
#: ``funcidx`` (u32) → ``int``
IMM_FUNCIDX = 4
#: ``typeidx tableidx`` → ``(typeidx, tableidx)``
IMM_CALL_INDIRECT = 5
#: ``vec(valtype)`` → ``tuple`` of valtype bytes
IMM_SELECT_T = 6
#: one u32 index (local, global, table, data, elem) → ``int``
IMM_INDEX = 7
#: ``memarg`` (u32 align, u32 offset) → ``(align_log2, offset)``
IMM_MEMARG = 8
#: a ``0x00`` byte standing for memidx 0 (memory.size/grow/fill) → ``0``
IMM_MEMIDX = 9
#: i32 (s32) → signed ``int``
IMM_I32 = 10
#: i64 (s64) → signed ``int``
IMM_I64 = 11
#: f32: 4 little-endian bytes → their bits as an unsigned ``int``
IMM_F32 = 12
#: f64: 8 little-endian bytes → their bits as an unsigned ``int``
IMM_F64 = 13
#: ``heaptype`` (``ref.null``) → the valtype ``(ref null ht)``: ``0x70``/``0x6F`` for
#: ``func``/``extern``, ``environ.module.ref_type(True, typeidx)`` for a type index
IMM_REFTYPE = 14
#: ``dataidx 0x00`` → ``(dataidx, 0)``
IMM_MEMORY_INIT = 15
#: ``0x00 0x00`` → ``(0, 0)`` (dst, src memidx)
IMM_MEMORY_COPY = 16
#: ``elemidx tableidx`` → ``(elemidx, tableidx)``
IMM_TABLE_INIT = 17
#: ``tableidx tableidx`` → ``(dst_tableidx, src_tableidx)``
IMM_TABLE_COPY = 18
#: 16 raw bytes (v128.const, i8x16.shuffle lanes) → ``bytes``
IMM_V128 = 19
#: one lane-index byte → ``int``
IMM_LANE = 20
#: ``memarg`` then a lane-index byte → ``((align_log2, offset), lane)``
IMM_MEMARG_LANE = 21

# -- opcodes -----------------------------------------------------------------------------

UNREACHABLE = 0x00
NOP = 0x01
BLOCK = 0x02
LOOP = 0x03
IF = 0x04
ELSE = 0x05
END = 0x0B
BR = 0x0C
BR_IF = 0x0D
BR_TABLE = 0x0E
RETURN = 0x0F
CALL = 0x10
CALL_INDIRECT = 0x11
RETURN_CALL = 0x12           # tail calls (WebAssembly 3.0)
RETURN_CALL_INDIRECT = 0x13
CALL_REF = 0x14              # typed function references (WebAssembly 3.0)
RETURN_CALL_REF = 0x15
DROP = 0x1A
SELECT = 0x1B
SELECT_T = 0x1C
LOCAL_GET = 0x20
LOCAL_SET = 0x21
LOCAL_TEE = 0x22
GLOBAL_GET = 0x23
GLOBAL_SET = 0x24
TABLE_GET = 0x25
TABLE_SET = 0x26
I32_LOAD = 0x28
I64_LOAD = 0x29
F32_LOAD = 0x2A
F64_LOAD = 0x2B
I32_LOAD8_S = 0x2C
I32_LOAD8_U = 0x2D
I32_LOAD16_S = 0x2E
I32_LOAD16_U = 0x2F
I64_LOAD8_S = 0x30
I64_LOAD8_U = 0x31
I64_LOAD16_S = 0x32
I64_LOAD16_U = 0x33
I64_LOAD32_S = 0x34
I64_LOAD32_U = 0x35
I32_STORE = 0x36
I64_STORE = 0x37
F32_STORE = 0x38
F64_STORE = 0x39
I32_STORE8 = 0x3A
I32_STORE16 = 0x3B
I64_STORE8 = 0x3C
I64_STORE16 = 0x3D
I64_STORE32 = 0x3E
MEMORY_SIZE = 0x3F
MEMORY_GROW = 0x40
I32_CONST = 0x41
I64_CONST = 0x42
F32_CONST = 0x43
F64_CONST = 0x44
I32_EQZ = 0x45
I32_EQ = 0x46
I32_NE = 0x47
I32_LT_S = 0x48
I32_LT_U = 0x49
I32_GT_S = 0x4A
I32_GT_U = 0x4B
I32_LE_S = 0x4C
I32_LE_U = 0x4D
I32_GE_S = 0x4E
I32_GE_U = 0x4F
I64_EQZ = 0x50
I64_EQ = 0x51
I64_NE = 0x52
I64_LT_S = 0x53
I64_LT_U = 0x54
I64_GT_S = 0x55
I64_GT_U = 0x56
I64_LE_S = 0x57
I64_LE_U = 0x58
I64_GE_S = 0x59
I64_GE_U = 0x5A
F32_EQ = 0x5B
F32_NE = 0x5C
F32_LT = 0x5D
F32_GT = 0x5E
F32_LE = 0x5F
F32_GE = 0x60
F64_EQ = 0x61
F64_NE = 0x62
F64_LT = 0x63
F64_GT = 0x64
F64_LE = 0x65
F64_GE = 0x66
I32_CLZ = 0x67
I32_CTZ = 0x68
I32_POPCNT = 0x69
I32_ADD = 0x6A
I32_SUB = 0x6B
I32_MUL = 0x6C
I32_DIV_S = 0x6D
I32_DIV_U = 0x6E
I32_REM_S = 0x6F
I32_REM_U = 0x70
I32_AND = 0x71
I32_OR = 0x72
I32_XOR = 0x73
I32_SHL = 0x74
I32_SHR_S = 0x75
I32_SHR_U = 0x76
I32_ROTL = 0x77
I32_ROTR = 0x78
I64_CLZ = 0x79
I64_CTZ = 0x7A
I64_POPCNT = 0x7B
I64_ADD = 0x7C
I64_SUB = 0x7D
I64_MUL = 0x7E
I64_DIV_S = 0x7F
I64_DIV_U = 0x80
I64_REM_S = 0x81
I64_REM_U = 0x82
I64_AND = 0x83
I64_OR = 0x84
I64_XOR = 0x85
I64_SHL = 0x86
I64_SHR_S = 0x87
I64_SHR_U = 0x88
I64_ROTL = 0x89
I64_ROTR = 0x8A
F32_ABS = 0x8B
F32_NEG = 0x8C
F32_CEIL = 0x8D
F32_FLOOR = 0x8E
F32_TRUNC = 0x8F
F32_NEAREST = 0x90
F32_SQRT = 0x91
F32_ADD = 0x92
F32_SUB = 0x93
F32_MUL = 0x94
F32_DIV = 0x95
F32_MIN = 0x96
F32_MAX = 0x97
F32_COPYSIGN = 0x98
F64_ABS = 0x99
F64_NEG = 0x9A
F64_CEIL = 0x9B
F64_FLOOR = 0x9C
F64_TRUNC = 0x9D
F64_NEAREST = 0x9E
F64_SQRT = 0x9F
F64_ADD = 0xA0
F64_SUB = 0xA1
F64_MUL = 0xA2
F64_DIV = 0xA3
F64_MIN = 0xA4
F64_MAX = 0xA5
F64_COPYSIGN = 0xA6
I32_WRAP_I64 = 0xA7
I32_TRUNC_F32_S = 0xA8
I32_TRUNC_F32_U = 0xA9
I32_TRUNC_F64_S = 0xAA
I32_TRUNC_F64_U = 0xAB
I64_EXTEND_I32_S = 0xAC
I64_EXTEND_I32_U = 0xAD
I64_TRUNC_F32_S = 0xAE
I64_TRUNC_F32_U = 0xAF
I64_TRUNC_F64_S = 0xB0
I64_TRUNC_F64_U = 0xB1
F32_CONVERT_I32_S = 0xB2
F32_CONVERT_I32_U = 0xB3
F32_CONVERT_I64_S = 0xB4
F32_CONVERT_I64_U = 0xB5
F32_DEMOTE_F64 = 0xB6
F64_CONVERT_I32_S = 0xB7
F64_CONVERT_I32_U = 0xB8
F64_CONVERT_I64_S = 0xB9
F64_CONVERT_I64_U = 0xBA
F64_PROMOTE_F32 = 0xBB
I32_REINTERPRET_F32 = 0xBC
I64_REINTERPRET_F64 = 0xBD
F32_REINTERPRET_I32 = 0xBE
F64_REINTERPRET_I64 = 0xBF
I32_EXTEND8_S = 0xC0
I32_EXTEND16_S = 0xC1
I64_EXTEND8_S = 0xC2
I64_EXTEND16_S = 0xC3
I64_EXTEND32_S = 0xC4
REF_NULL = 0xD0
REF_IS_NULL = 0xD1
REF_FUNC = 0xD2
REF_AS_NON_NULL = 0xD4       # typed function references (WebAssembly 3.0)
BR_ON_NULL = 0xD5
BR_ON_NON_NULL = 0xD6
I32_TRUNC_SAT_F32_S = 0xFC00
I32_TRUNC_SAT_F32_U = 0xFC01
I32_TRUNC_SAT_F64_S = 0xFC02
I32_TRUNC_SAT_F64_U = 0xFC03
I64_TRUNC_SAT_F32_S = 0xFC04
I64_TRUNC_SAT_F32_U = 0xFC05
I64_TRUNC_SAT_F64_S = 0xFC06
I64_TRUNC_SAT_F64_U = 0xFC07
MEMORY_INIT = 0xFC08
DATA_DROP = 0xFC09
MEMORY_COPY = 0xFC0A
MEMORY_FILL = 0xFC0B
TABLE_INIT = 0xFC0C
ELEM_DROP = 0xFC0D
TABLE_COPY = 0xFC0E
TABLE_GROW = 0xFC0F
TABLE_SIZE = 0xFC10
TABLE_FILL = 0xFC11
V128_LOAD = 0xFD000 + 0
V128_LOAD8X8_S = 0xFD000 + 1
V128_LOAD8X8_U = 0xFD000 + 2
V128_LOAD16X4_S = 0xFD000 + 3
V128_LOAD16X4_U = 0xFD000 + 4
V128_LOAD32X2_S = 0xFD000 + 5
V128_LOAD32X2_U = 0xFD000 + 6
V128_LOAD8_SPLAT = 0xFD000 + 7
V128_LOAD16_SPLAT = 0xFD000 + 8
V128_LOAD32_SPLAT = 0xFD000 + 9
V128_LOAD64_SPLAT = 0xFD000 + 10
V128_STORE = 0xFD000 + 11
V128_CONST = 0xFD000 + 12
I8X16_SHUFFLE = 0xFD000 + 13
I8X16_SWIZZLE = 0xFD000 + 14
I8X16_SPLAT = 0xFD000 + 15
I16X8_SPLAT = 0xFD000 + 16
I32X4_SPLAT = 0xFD000 + 17
I64X2_SPLAT = 0xFD000 + 18
F32X4_SPLAT = 0xFD000 + 19
F64X2_SPLAT = 0xFD000 + 20
I8X16_EXTRACT_LANE_S = 0xFD000 + 21
I8X16_EXTRACT_LANE_U = 0xFD000 + 22
I8X16_REPLACE_LANE = 0xFD000 + 23
I16X8_EXTRACT_LANE_S = 0xFD000 + 24
I16X8_EXTRACT_LANE_U = 0xFD000 + 25
I16X8_REPLACE_LANE = 0xFD000 + 26
I32X4_EXTRACT_LANE = 0xFD000 + 27
I32X4_REPLACE_LANE = 0xFD000 + 28
I64X2_EXTRACT_LANE = 0xFD000 + 29
I64X2_REPLACE_LANE = 0xFD000 + 30
F32X4_EXTRACT_LANE = 0xFD000 + 31
F32X4_REPLACE_LANE = 0xFD000 + 32
F64X2_EXTRACT_LANE = 0xFD000 + 33
F64X2_REPLACE_LANE = 0xFD000 + 34
I8X16_EQ = 0xFD000 + 35
I8X16_NE = 0xFD000 + 36
I8X16_LT_S = 0xFD000 + 37
I8X16_LT_U = 0xFD000 + 38
I8X16_GT_S = 0xFD000 + 39
I8X16_GT_U = 0xFD000 + 40
I8X16_LE_S = 0xFD000 + 41
I8X16_LE_U = 0xFD000 + 42
I8X16_GE_S = 0xFD000 + 43
I8X16_GE_U = 0xFD000 + 44
I16X8_EQ = 0xFD000 + 45
I16X8_NE = 0xFD000 + 46
I16X8_LT_S = 0xFD000 + 47
I16X8_LT_U = 0xFD000 + 48
I16X8_GT_S = 0xFD000 + 49
I16X8_GT_U = 0xFD000 + 50
I16X8_LE_S = 0xFD000 + 51
I16X8_LE_U = 0xFD000 + 52
I16X8_GE_S = 0xFD000 + 53
I16X8_GE_U = 0xFD000 + 54
I32X4_EQ = 0xFD000 + 55
I32X4_NE = 0xFD000 + 56
I32X4_LT_S = 0xFD000 + 57
I32X4_LT_U = 0xFD000 + 58
I32X4_GT_S = 0xFD000 + 59
I32X4_GT_U = 0xFD000 + 60
I32X4_LE_S = 0xFD000 + 61
I32X4_LE_U = 0xFD000 + 62
I32X4_GE_S = 0xFD000 + 63
I32X4_GE_U = 0xFD000 + 64
F32X4_EQ = 0xFD000 + 65
F32X4_NE = 0xFD000 + 66
F32X4_LT = 0xFD000 + 67
F32X4_GT = 0xFD000 + 68
F32X4_LE = 0xFD000 + 69
F32X4_GE = 0xFD000 + 70
F64X2_EQ = 0xFD000 + 71
F64X2_NE = 0xFD000 + 72
F64X2_LT = 0xFD000 + 73
F64X2_GT = 0xFD000 + 74
F64X2_LE = 0xFD000 + 75
F64X2_GE = 0xFD000 + 76
V128_NOT = 0xFD000 + 77
V128_AND = 0xFD000 + 78
V128_ANDNOT = 0xFD000 + 79
V128_OR = 0xFD000 + 80
V128_XOR = 0xFD000 + 81
V128_BITSELECT = 0xFD000 + 82
V128_ANY_TRUE = 0xFD000 + 83
V128_LOAD8_LANE = 0xFD000 + 84
V128_LOAD16_LANE = 0xFD000 + 85
V128_LOAD32_LANE = 0xFD000 + 86
V128_LOAD64_LANE = 0xFD000 + 87
V128_STORE8_LANE = 0xFD000 + 88
V128_STORE16_LANE = 0xFD000 + 89
V128_STORE32_LANE = 0xFD000 + 90
V128_STORE64_LANE = 0xFD000 + 91
V128_LOAD32_ZERO = 0xFD000 + 92
V128_LOAD64_ZERO = 0xFD000 + 93
F32X4_DEMOTE_F64X2_ZERO = 0xFD000 + 94
F64X2_PROMOTE_LOW_F32X4 = 0xFD000 + 95
I8X16_ABS = 0xFD000 + 96
I8X16_NEG = 0xFD000 + 97
I8X16_POPCNT = 0xFD000 + 98
I8X16_ALL_TRUE = 0xFD000 + 99
I8X16_BITMASK = 0xFD000 + 100
I8X16_NARROW_I16X8_S = 0xFD000 + 101
I8X16_NARROW_I16X8_U = 0xFD000 + 102
F32X4_CEIL = 0xFD000 + 103
F32X4_FLOOR = 0xFD000 + 104
F32X4_TRUNC = 0xFD000 + 105
F32X4_NEAREST = 0xFD000 + 106
I8X16_SHL = 0xFD000 + 107
I8X16_SHR_S = 0xFD000 + 108
I8X16_SHR_U = 0xFD000 + 109
I8X16_ADD = 0xFD000 + 110
I8X16_ADD_SAT_S = 0xFD000 + 111
I8X16_ADD_SAT_U = 0xFD000 + 112
I8X16_SUB = 0xFD000 + 113
I8X16_SUB_SAT_S = 0xFD000 + 114
I8X16_SUB_SAT_U = 0xFD000 + 115
F64X2_CEIL = 0xFD000 + 116
F64X2_FLOOR = 0xFD000 + 117
I8X16_MIN_S = 0xFD000 + 118
I8X16_MIN_U = 0xFD000 + 119
I8X16_MAX_S = 0xFD000 + 120
I8X16_MAX_U = 0xFD000 + 121
F64X2_TRUNC = 0xFD000 + 122
I8X16_AVGR_U = 0xFD000 + 123
I16X8_EXTADD_PAIRWISE_I8X16_S = 0xFD000 + 124
I16X8_EXTADD_PAIRWISE_I8X16_U = 0xFD000 + 125
I32X4_EXTADD_PAIRWISE_I16X8_S = 0xFD000 + 126
I32X4_EXTADD_PAIRWISE_I16X8_U = 0xFD000 + 127
I16X8_ABS = 0xFD000 + 128
I16X8_NEG = 0xFD000 + 129
I16X8_Q15MULR_SAT_S = 0xFD000 + 130
I16X8_ALL_TRUE = 0xFD000 + 131
I16X8_BITMASK = 0xFD000 + 132
I16X8_NARROW_I32X4_S = 0xFD000 + 133
I16X8_NARROW_I32X4_U = 0xFD000 + 134
I16X8_EXTEND_LOW_I8X16_S = 0xFD000 + 135
I16X8_EXTEND_HIGH_I8X16_S = 0xFD000 + 136
I16X8_EXTEND_LOW_I8X16_U = 0xFD000 + 137
I16X8_EXTEND_HIGH_I8X16_U = 0xFD000 + 138
I16X8_SHL = 0xFD000 + 139
I16X8_SHR_S = 0xFD000 + 140
I16X8_SHR_U = 0xFD000 + 141
I16X8_ADD = 0xFD000 + 142
I16X8_ADD_SAT_S = 0xFD000 + 143
I16X8_ADD_SAT_U = 0xFD000 + 144
I16X8_SUB = 0xFD000 + 145
I16X8_SUB_SAT_S = 0xFD000 + 146
I16X8_SUB_SAT_U = 0xFD000 + 147
F64X2_NEAREST = 0xFD000 + 148
I16X8_MUL = 0xFD000 + 149
I16X8_MIN_S = 0xFD000 + 150
I16X8_MIN_U = 0xFD000 + 151
I16X8_MAX_S = 0xFD000 + 152
I16X8_MAX_U = 0xFD000 + 153
I16X8_AVGR_U = 0xFD000 + 155
I16X8_EXTMUL_LOW_I8X16_S = 0xFD000 + 156
I16X8_EXTMUL_HIGH_I8X16_S = 0xFD000 + 157
I16X8_EXTMUL_LOW_I8X16_U = 0xFD000 + 158
I16X8_EXTMUL_HIGH_I8X16_U = 0xFD000 + 159
I32X4_ABS = 0xFD000 + 160
I32X4_NEG = 0xFD000 + 161
I32X4_ALL_TRUE = 0xFD000 + 163
I32X4_BITMASK = 0xFD000 + 164
I32X4_EXTEND_LOW_I16X8_S = 0xFD000 + 167
I32X4_EXTEND_HIGH_I16X8_S = 0xFD000 + 168
I32X4_EXTEND_LOW_I16X8_U = 0xFD000 + 169
I32X4_EXTEND_HIGH_I16X8_U = 0xFD000 + 170
I32X4_SHL = 0xFD000 + 171
I32X4_SHR_S = 0xFD000 + 172
I32X4_SHR_U = 0xFD000 + 173
I32X4_ADD = 0xFD000 + 174
I32X4_SUB = 0xFD000 + 177
I32X4_MUL = 0xFD000 + 181
I32X4_MIN_S = 0xFD000 + 182
I32X4_MIN_U = 0xFD000 + 183
I32X4_MAX_S = 0xFD000 + 184
I32X4_MAX_U = 0xFD000 + 185
I32X4_DOT_I16X8_S = 0xFD000 + 186
I32X4_EXTMUL_LOW_I16X8_S = 0xFD000 + 188
I32X4_EXTMUL_HIGH_I16X8_S = 0xFD000 + 189
I32X4_EXTMUL_LOW_I16X8_U = 0xFD000 + 190
I32X4_EXTMUL_HIGH_I16X8_U = 0xFD000 + 191
I64X2_ABS = 0xFD000 + 192
I64X2_NEG = 0xFD000 + 193
I64X2_ALL_TRUE = 0xFD000 + 195
I64X2_BITMASK = 0xFD000 + 196
I64X2_EXTEND_LOW_I32X4_S = 0xFD000 + 199
I64X2_EXTEND_HIGH_I32X4_S = 0xFD000 + 200
I64X2_EXTEND_LOW_I32X4_U = 0xFD000 + 201
I64X2_EXTEND_HIGH_I32X4_U = 0xFD000 + 202
I64X2_SHL = 0xFD000 + 203
I64X2_SHR_S = 0xFD000 + 204
I64X2_SHR_U = 0xFD000 + 205
I64X2_ADD = 0xFD000 + 206
I64X2_SUB = 0xFD000 + 209
I64X2_MUL = 0xFD000 + 213
I64X2_EQ = 0xFD000 + 214
I64X2_NE = 0xFD000 + 215
I64X2_LT_S = 0xFD000 + 216
I64X2_GT_S = 0xFD000 + 217
I64X2_LE_S = 0xFD000 + 218
I64X2_GE_S = 0xFD000 + 219
I64X2_EXTMUL_LOW_I32X4_S = 0xFD000 + 220
I64X2_EXTMUL_HIGH_I32X4_S = 0xFD000 + 221
I64X2_EXTMUL_LOW_I32X4_U = 0xFD000 + 222
I64X2_EXTMUL_HIGH_I32X4_U = 0xFD000 + 223
F32X4_ABS = 0xFD000 + 224
F32X4_NEG = 0xFD000 + 225
F32X4_SQRT = 0xFD000 + 227
F32X4_ADD = 0xFD000 + 228
F32X4_SUB = 0xFD000 + 229
F32X4_MUL = 0xFD000 + 230
F32X4_DIV = 0xFD000 + 231
F32X4_MIN = 0xFD000 + 232
F32X4_MAX = 0xFD000 + 233
F32X4_PMIN = 0xFD000 + 234
F32X4_PMAX = 0xFD000 + 235
F64X2_ABS = 0xFD000 + 236
F64X2_NEG = 0xFD000 + 237
F64X2_SQRT = 0xFD000 + 239
F64X2_ADD = 0xFD000 + 240
F64X2_SUB = 0xFD000 + 241
F64X2_MUL = 0xFD000 + 242
F64X2_DIV = 0xFD000 + 243
F64X2_MIN = 0xFD000 + 244
F64X2_MAX = 0xFD000 + 245
F64X2_PMIN = 0xFD000 + 246
F64X2_PMAX = 0xFD000 + 247
I32X4_TRUNC_SAT_F32X4_S = 0xFD000 + 248
I32X4_TRUNC_SAT_F32X4_U = 0xFD000 + 249
F32X4_CONVERT_I32X4_S = 0xFD000 + 250
F32X4_CONVERT_I32X4_U = 0xFD000 + 251
I32X4_TRUNC_SAT_F64X2_S_ZERO = 0xFD000 + 252
I32X4_TRUNC_SAT_F64X2_U_ZERO = 0xFD000 + 253
F64X2_CONVERT_LOW_I32X4_S = 0xFD000 + 254
F64X2_CONVERT_LOW_I32X4_U = 0xFD000 + 255
# relaxed SIMD (WebAssembly 3.0): sub-opcodes 0x100-0x113
I8X16_RELAXED_SWIZZLE = 0xFD000 + 0x100
I32X4_RELAXED_TRUNC_F32X4_S = 0xFD000 + 0x101
I32X4_RELAXED_TRUNC_F32X4_U = 0xFD000 + 0x102
I32X4_RELAXED_TRUNC_F64X2_S_ZERO = 0xFD000 + 0x103
I32X4_RELAXED_TRUNC_F64X2_U_ZERO = 0xFD000 + 0x104
F32X4_RELAXED_MADD = 0xFD000 + 0x105
F32X4_RELAXED_NMADD = 0xFD000 + 0x106
F64X2_RELAXED_MADD = 0xFD000 + 0x107
F64X2_RELAXED_NMADD = 0xFD000 + 0x108
I8X16_RELAXED_LANESELECT = 0xFD000 + 0x109
I16X8_RELAXED_LANESELECT = 0xFD000 + 0x10A
I32X4_RELAXED_LANESELECT = 0xFD000 + 0x10B
I64X2_RELAXED_LANESELECT = 0xFD000 + 0x10C
F32X4_RELAXED_MIN = 0xFD000 + 0x10D
F32X4_RELAXED_MAX = 0xFD000 + 0x10E
F64X2_RELAXED_MIN = 0xFD000 + 0x10F
F64X2_RELAXED_MAX = 0xFD000 + 0x110
I16X8_RELAXED_Q15MULR_S = 0xFD000 + 0x111
I16X8_RELAXED_DOT_I8X16_I7X16_S = 0xFD000 + 0x112
I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S = 0xFD000 + 0x113

#: opcode → spec text name
OPCODE_NAMES: dict[int, str] = {
    UNREACHABLE: 'unreachable',
    NOP: 'nop',
    BLOCK: 'block',
    LOOP: 'loop',
    IF: 'if',
    ELSE: 'else',
    END: 'end',
    BR: 'br',
    BR_IF: 'br_if',
    BR_TABLE: 'br_table',
    RETURN: 'return',
    CALL: 'call',
    CALL_INDIRECT: 'call_indirect',
    RETURN_CALL: 'return_call',
    RETURN_CALL_INDIRECT: 'return_call_indirect',
    CALL_REF: 'call_ref',
    RETURN_CALL_REF: 'return_call_ref',
    DROP: 'drop',
    SELECT: 'select',
    SELECT_T: 'select_t',
    LOCAL_GET: 'local.get',
    LOCAL_SET: 'local.set',
    LOCAL_TEE: 'local.tee',
    GLOBAL_GET: 'global.get',
    GLOBAL_SET: 'global.set',
    TABLE_GET: 'table.get',
    TABLE_SET: 'table.set',
    I32_LOAD: 'i32.load',
    I64_LOAD: 'i64.load',
    F32_LOAD: 'f32.load',
    F64_LOAD: 'f64.load',
    I32_LOAD8_S: 'i32.load8_s',
    I32_LOAD8_U: 'i32.load8_u',
    I32_LOAD16_S: 'i32.load16_s',
    I32_LOAD16_U: 'i32.load16_u',
    I64_LOAD8_S: 'i64.load8_s',
    I64_LOAD8_U: 'i64.load8_u',
    I64_LOAD16_S: 'i64.load16_s',
    I64_LOAD16_U: 'i64.load16_u',
    I64_LOAD32_S: 'i64.load32_s',
    I64_LOAD32_U: 'i64.load32_u',
    I32_STORE: 'i32.store',
    I64_STORE: 'i64.store',
    F32_STORE: 'f32.store',
    F64_STORE: 'f64.store',
    I32_STORE8: 'i32.store8',
    I32_STORE16: 'i32.store16',
    I64_STORE8: 'i64.store8',
    I64_STORE16: 'i64.store16',
    I64_STORE32: 'i64.store32',
    MEMORY_SIZE: 'memory.size',
    MEMORY_GROW: 'memory.grow',
    I32_CONST: 'i32.const',
    I64_CONST: 'i64.const',
    F32_CONST: 'f32.const',
    F64_CONST: 'f64.const',
    I32_EQZ: 'i32.eqz',
    I32_EQ: 'i32.eq',
    I32_NE: 'i32.ne',
    I32_LT_S: 'i32.lt_s',
    I32_LT_U: 'i32.lt_u',
    I32_GT_S: 'i32.gt_s',
    I32_GT_U: 'i32.gt_u',
    I32_LE_S: 'i32.le_s',
    I32_LE_U: 'i32.le_u',
    I32_GE_S: 'i32.ge_s',
    I32_GE_U: 'i32.ge_u',
    I64_EQZ: 'i64.eqz',
    I64_EQ: 'i64.eq',
    I64_NE: 'i64.ne',
    I64_LT_S: 'i64.lt_s',
    I64_LT_U: 'i64.lt_u',
    I64_GT_S: 'i64.gt_s',
    I64_GT_U: 'i64.gt_u',
    I64_LE_S: 'i64.le_s',
    I64_LE_U: 'i64.le_u',
    I64_GE_S: 'i64.ge_s',
    I64_GE_U: 'i64.ge_u',
    F32_EQ: 'f32.eq',
    F32_NE: 'f32.ne',
    F32_LT: 'f32.lt',
    F32_GT: 'f32.gt',
    F32_LE: 'f32.le',
    F32_GE: 'f32.ge',
    F64_EQ: 'f64.eq',
    F64_NE: 'f64.ne',
    F64_LT: 'f64.lt',
    F64_GT: 'f64.gt',
    F64_LE: 'f64.le',
    F64_GE: 'f64.ge',
    I32_CLZ: 'i32.clz',
    I32_CTZ: 'i32.ctz',
    I32_POPCNT: 'i32.popcnt',
    I32_ADD: 'i32.add',
    I32_SUB: 'i32.sub',
    I32_MUL: 'i32.mul',
    I32_DIV_S: 'i32.div_s',
    I32_DIV_U: 'i32.div_u',
    I32_REM_S: 'i32.rem_s',
    I32_REM_U: 'i32.rem_u',
    I32_AND: 'i32.and',
    I32_OR: 'i32.or',
    I32_XOR: 'i32.xor',
    I32_SHL: 'i32.shl',
    I32_SHR_S: 'i32.shr_s',
    I32_SHR_U: 'i32.shr_u',
    I32_ROTL: 'i32.rotl',
    I32_ROTR: 'i32.rotr',
    I64_CLZ: 'i64.clz',
    I64_CTZ: 'i64.ctz',
    I64_POPCNT: 'i64.popcnt',
    I64_ADD: 'i64.add',
    I64_SUB: 'i64.sub',
    I64_MUL: 'i64.mul',
    I64_DIV_S: 'i64.div_s',
    I64_DIV_U: 'i64.div_u',
    I64_REM_S: 'i64.rem_s',
    I64_REM_U: 'i64.rem_u',
    I64_AND: 'i64.and',
    I64_OR: 'i64.or',
    I64_XOR: 'i64.xor',
    I64_SHL: 'i64.shl',
    I64_SHR_S: 'i64.shr_s',
    I64_SHR_U: 'i64.shr_u',
    I64_ROTL: 'i64.rotl',
    I64_ROTR: 'i64.rotr',
    F32_ABS: 'f32.abs',
    F32_NEG: 'f32.neg',
    F32_CEIL: 'f32.ceil',
    F32_FLOOR: 'f32.floor',
    F32_TRUNC: 'f32.trunc',
    F32_NEAREST: 'f32.nearest',
    F32_SQRT: 'f32.sqrt',
    F32_ADD: 'f32.add',
    F32_SUB: 'f32.sub',
    F32_MUL: 'f32.mul',
    F32_DIV: 'f32.div',
    F32_MIN: 'f32.min',
    F32_MAX: 'f32.max',
    F32_COPYSIGN: 'f32.copysign',
    F64_ABS: 'f64.abs',
    F64_NEG: 'f64.neg',
    F64_CEIL: 'f64.ceil',
    F64_FLOOR: 'f64.floor',
    F64_TRUNC: 'f64.trunc',
    F64_NEAREST: 'f64.nearest',
    F64_SQRT: 'f64.sqrt',
    F64_ADD: 'f64.add',
    F64_SUB: 'f64.sub',
    F64_MUL: 'f64.mul',
    F64_DIV: 'f64.div',
    F64_MIN: 'f64.min',
    F64_MAX: 'f64.max',
    F64_COPYSIGN: 'f64.copysign',
    I32_WRAP_I64: 'i32.wrap_i64',
    I32_TRUNC_F32_S: 'i32.trunc_f32_s',
    I32_TRUNC_F32_U: 'i32.trunc_f32_u',
    I32_TRUNC_F64_S: 'i32.trunc_f64_s',
    I32_TRUNC_F64_U: 'i32.trunc_f64_u',
    I64_EXTEND_I32_S: 'i64.extend_i32_s',
    I64_EXTEND_I32_U: 'i64.extend_i32_u',
    I64_TRUNC_F32_S: 'i64.trunc_f32_s',
    I64_TRUNC_F32_U: 'i64.trunc_f32_u',
    I64_TRUNC_F64_S: 'i64.trunc_f64_s',
    I64_TRUNC_F64_U: 'i64.trunc_f64_u',
    F32_CONVERT_I32_S: 'f32.convert_i32_s',
    F32_CONVERT_I32_U: 'f32.convert_i32_u',
    F32_CONVERT_I64_S: 'f32.convert_i64_s',
    F32_CONVERT_I64_U: 'f32.convert_i64_u',
    F32_DEMOTE_F64: 'f32.demote_f64',
    F64_CONVERT_I32_S: 'f64.convert_i32_s',
    F64_CONVERT_I32_U: 'f64.convert_i32_u',
    F64_CONVERT_I64_S: 'f64.convert_i64_s',
    F64_CONVERT_I64_U: 'f64.convert_i64_u',
    F64_PROMOTE_F32: 'f64.promote_f32',
    I32_REINTERPRET_F32: 'i32.reinterpret_f32',
    I64_REINTERPRET_F64: 'i64.reinterpret_f64',
    F32_REINTERPRET_I32: 'f32.reinterpret_i32',
    F64_REINTERPRET_I64: 'f64.reinterpret_i64',
    I32_EXTEND8_S: 'i32.extend8_s',
    I32_EXTEND16_S: 'i32.extend16_s',
    I64_EXTEND8_S: 'i64.extend8_s',
    I64_EXTEND16_S: 'i64.extend16_s',
    I64_EXTEND32_S: 'i64.extend32_s',
    REF_NULL: 'ref.null',
    REF_IS_NULL: 'ref.is_null',
    REF_FUNC: 'ref.func',
    REF_AS_NON_NULL: 'ref.as_non_null',
    BR_ON_NULL: 'br_on_null',
    BR_ON_NON_NULL: 'br_on_non_null',
    I32_TRUNC_SAT_F32_S: 'i32.trunc_sat_f32_s',
    I32_TRUNC_SAT_F32_U: 'i32.trunc_sat_f32_u',
    I32_TRUNC_SAT_F64_S: 'i32.trunc_sat_f64_s',
    I32_TRUNC_SAT_F64_U: 'i32.trunc_sat_f64_u',
    I64_TRUNC_SAT_F32_S: 'i64.trunc_sat_f32_s',
    I64_TRUNC_SAT_F32_U: 'i64.trunc_sat_f32_u',
    I64_TRUNC_SAT_F64_S: 'i64.trunc_sat_f64_s',
    I64_TRUNC_SAT_F64_U: 'i64.trunc_sat_f64_u',
    MEMORY_INIT: 'memory.init',
    DATA_DROP: 'data.drop',
    MEMORY_COPY: 'memory.copy',
    MEMORY_FILL: 'memory.fill',
    TABLE_INIT: 'table.init',
    ELEM_DROP: 'elem.drop',
    TABLE_COPY: 'table.copy',
    TABLE_GROW: 'table.grow',
    TABLE_SIZE: 'table.size',
    TABLE_FILL: 'table.fill',
    V128_LOAD: 'v128.load',
    V128_LOAD8X8_S: 'v128.load8x8_s',
    V128_LOAD8X8_U: 'v128.load8x8_u',
    V128_LOAD16X4_S: 'v128.load16x4_s',
    V128_LOAD16X4_U: 'v128.load16x4_u',
    V128_LOAD32X2_S: 'v128.load32x2_s',
    V128_LOAD32X2_U: 'v128.load32x2_u',
    V128_LOAD8_SPLAT: 'v128.load8_splat',
    V128_LOAD16_SPLAT: 'v128.load16_splat',
    V128_LOAD32_SPLAT: 'v128.load32_splat',
    V128_LOAD64_SPLAT: 'v128.load64_splat',
    V128_STORE: 'v128.store',
    V128_CONST: 'v128.const',
    I8X16_SHUFFLE: 'i8x16.shuffle',
    I8X16_SWIZZLE: 'i8x16.swizzle',
    I8X16_SPLAT: 'i8x16.splat',
    I16X8_SPLAT: 'i16x8.splat',
    I32X4_SPLAT: 'i32x4.splat',
    I64X2_SPLAT: 'i64x2.splat',
    F32X4_SPLAT: 'f32x4.splat',
    F64X2_SPLAT: 'f64x2.splat',
    I8X16_EXTRACT_LANE_S: 'i8x16.extract_lane_s',
    I8X16_EXTRACT_LANE_U: 'i8x16.extract_lane_u',
    I8X16_REPLACE_LANE: 'i8x16.replace_lane',
    I16X8_EXTRACT_LANE_S: 'i16x8.extract_lane_s',
    I16X8_EXTRACT_LANE_U: 'i16x8.extract_lane_u',
    I16X8_REPLACE_LANE: 'i16x8.replace_lane',
    I32X4_EXTRACT_LANE: 'i32x4.extract_lane',
    I32X4_REPLACE_LANE: 'i32x4.replace_lane',
    I64X2_EXTRACT_LANE: 'i64x2.extract_lane',
    I64X2_REPLACE_LANE: 'i64x2.replace_lane',
    F32X4_EXTRACT_LANE: 'f32x4.extract_lane',
    F32X4_REPLACE_LANE: 'f32x4.replace_lane',
    F64X2_EXTRACT_LANE: 'f64x2.extract_lane',
    F64X2_REPLACE_LANE: 'f64x2.replace_lane',
    I8X16_EQ: 'i8x16.eq',
    I8X16_NE: 'i8x16.ne',
    I8X16_LT_S: 'i8x16.lt_s',
    I8X16_LT_U: 'i8x16.lt_u',
    I8X16_GT_S: 'i8x16.gt_s',
    I8X16_GT_U: 'i8x16.gt_u',
    I8X16_LE_S: 'i8x16.le_s',
    I8X16_LE_U: 'i8x16.le_u',
    I8X16_GE_S: 'i8x16.ge_s',
    I8X16_GE_U: 'i8x16.ge_u',
    I16X8_EQ: 'i16x8.eq',
    I16X8_NE: 'i16x8.ne',
    I16X8_LT_S: 'i16x8.lt_s',
    I16X8_LT_U: 'i16x8.lt_u',
    I16X8_GT_S: 'i16x8.gt_s',
    I16X8_GT_U: 'i16x8.gt_u',
    I16X8_LE_S: 'i16x8.le_s',
    I16X8_LE_U: 'i16x8.le_u',
    I16X8_GE_S: 'i16x8.ge_s',
    I16X8_GE_U: 'i16x8.ge_u',
    I32X4_EQ: 'i32x4.eq',
    I32X4_NE: 'i32x4.ne',
    I32X4_LT_S: 'i32x4.lt_s',
    I32X4_LT_U: 'i32x4.lt_u',
    I32X4_GT_S: 'i32x4.gt_s',
    I32X4_GT_U: 'i32x4.gt_u',
    I32X4_LE_S: 'i32x4.le_s',
    I32X4_LE_U: 'i32x4.le_u',
    I32X4_GE_S: 'i32x4.ge_s',
    I32X4_GE_U: 'i32x4.ge_u',
    F32X4_EQ: 'f32x4.eq',
    F32X4_NE: 'f32x4.ne',
    F32X4_LT: 'f32x4.lt',
    F32X4_GT: 'f32x4.gt',
    F32X4_LE: 'f32x4.le',
    F32X4_GE: 'f32x4.ge',
    F64X2_EQ: 'f64x2.eq',
    F64X2_NE: 'f64x2.ne',
    F64X2_LT: 'f64x2.lt',
    F64X2_GT: 'f64x2.gt',
    F64X2_LE: 'f64x2.le',
    F64X2_GE: 'f64x2.ge',
    V128_NOT: 'v128.not',
    V128_AND: 'v128.and',
    V128_ANDNOT: 'v128.andnot',
    V128_OR: 'v128.or',
    V128_XOR: 'v128.xor',
    V128_BITSELECT: 'v128.bitselect',
    V128_ANY_TRUE: 'v128.any_true',
    V128_LOAD8_LANE: 'v128.load8_lane',
    V128_LOAD16_LANE: 'v128.load16_lane',
    V128_LOAD32_LANE: 'v128.load32_lane',
    V128_LOAD64_LANE: 'v128.load64_lane',
    V128_STORE8_LANE: 'v128.store8_lane',
    V128_STORE16_LANE: 'v128.store16_lane',
    V128_STORE32_LANE: 'v128.store32_lane',
    V128_STORE64_LANE: 'v128.store64_lane',
    V128_LOAD32_ZERO: 'v128.load32_zero',
    V128_LOAD64_ZERO: 'v128.load64_zero',
    F32X4_DEMOTE_F64X2_ZERO: 'f32x4.demote_f64x2_zero',
    F64X2_PROMOTE_LOW_F32X4: 'f64x2.promote_low_f32x4',
    I8X16_ABS: 'i8x16.abs',
    I8X16_NEG: 'i8x16.neg',
    I8X16_POPCNT: 'i8x16.popcnt',
    I8X16_ALL_TRUE: 'i8x16.all_true',
    I8X16_BITMASK: 'i8x16.bitmask',
    I8X16_NARROW_I16X8_S: 'i8x16.narrow_i16x8_s',
    I8X16_NARROW_I16X8_U: 'i8x16.narrow_i16x8_u',
    F32X4_CEIL: 'f32x4.ceil',
    F32X4_FLOOR: 'f32x4.floor',
    F32X4_TRUNC: 'f32x4.trunc',
    F32X4_NEAREST: 'f32x4.nearest',
    I8X16_SHL: 'i8x16.shl',
    I8X16_SHR_S: 'i8x16.shr_s',
    I8X16_SHR_U: 'i8x16.shr_u',
    I8X16_ADD: 'i8x16.add',
    I8X16_ADD_SAT_S: 'i8x16.add_sat_s',
    I8X16_ADD_SAT_U: 'i8x16.add_sat_u',
    I8X16_SUB: 'i8x16.sub',
    I8X16_SUB_SAT_S: 'i8x16.sub_sat_s',
    I8X16_SUB_SAT_U: 'i8x16.sub_sat_u',
    F64X2_CEIL: 'f64x2.ceil',
    F64X2_FLOOR: 'f64x2.floor',
    I8X16_MIN_S: 'i8x16.min_s',
    I8X16_MIN_U: 'i8x16.min_u',
    I8X16_MAX_S: 'i8x16.max_s',
    I8X16_MAX_U: 'i8x16.max_u',
    F64X2_TRUNC: 'f64x2.trunc',
    I8X16_AVGR_U: 'i8x16.avgr_u',
    I16X8_EXTADD_PAIRWISE_I8X16_S: 'i16x8.extadd_pairwise_i8x16_s',
    I16X8_EXTADD_PAIRWISE_I8X16_U: 'i16x8.extadd_pairwise_i8x16_u',
    I32X4_EXTADD_PAIRWISE_I16X8_S: 'i32x4.extadd_pairwise_i16x8_s',
    I32X4_EXTADD_PAIRWISE_I16X8_U: 'i32x4.extadd_pairwise_i16x8_u',
    I16X8_ABS: 'i16x8.abs',
    I16X8_NEG: 'i16x8.neg',
    I16X8_Q15MULR_SAT_S: 'i16x8.q15mulr_sat_s',
    I16X8_ALL_TRUE: 'i16x8.all_true',
    I16X8_BITMASK: 'i16x8.bitmask',
    I16X8_NARROW_I32X4_S: 'i16x8.narrow_i32x4_s',
    I16X8_NARROW_I32X4_U: 'i16x8.narrow_i32x4_u',
    I16X8_EXTEND_LOW_I8X16_S: 'i16x8.extend_low_i8x16_s',
    I16X8_EXTEND_HIGH_I8X16_S: 'i16x8.extend_high_i8x16_s',
    I16X8_EXTEND_LOW_I8X16_U: 'i16x8.extend_low_i8x16_u',
    I16X8_EXTEND_HIGH_I8X16_U: 'i16x8.extend_high_i8x16_u',
    I16X8_SHL: 'i16x8.shl',
    I16X8_SHR_S: 'i16x8.shr_s',
    I16X8_SHR_U: 'i16x8.shr_u',
    I16X8_ADD: 'i16x8.add',
    I16X8_ADD_SAT_S: 'i16x8.add_sat_s',
    I16X8_ADD_SAT_U: 'i16x8.add_sat_u',
    I16X8_SUB: 'i16x8.sub',
    I16X8_SUB_SAT_S: 'i16x8.sub_sat_s',
    I16X8_SUB_SAT_U: 'i16x8.sub_sat_u',
    F64X2_NEAREST: 'f64x2.nearest',
    I16X8_MUL: 'i16x8.mul',
    I16X8_MIN_S: 'i16x8.min_s',
    I16X8_MIN_U: 'i16x8.min_u',
    I16X8_MAX_S: 'i16x8.max_s',
    I16X8_MAX_U: 'i16x8.max_u',
    I16X8_AVGR_U: 'i16x8.avgr_u',
    I16X8_EXTMUL_LOW_I8X16_S: 'i16x8.extmul_low_i8x16_s',
    I16X8_EXTMUL_HIGH_I8X16_S: 'i16x8.extmul_high_i8x16_s',
    I16X8_EXTMUL_LOW_I8X16_U: 'i16x8.extmul_low_i8x16_u',
    I16X8_EXTMUL_HIGH_I8X16_U: 'i16x8.extmul_high_i8x16_u',
    I32X4_ABS: 'i32x4.abs',
    I32X4_NEG: 'i32x4.neg',
    I32X4_ALL_TRUE: 'i32x4.all_true',
    I32X4_BITMASK: 'i32x4.bitmask',
    I32X4_EXTEND_LOW_I16X8_S: 'i32x4.extend_low_i16x8_s',
    I32X4_EXTEND_HIGH_I16X8_S: 'i32x4.extend_high_i16x8_s',
    I32X4_EXTEND_LOW_I16X8_U: 'i32x4.extend_low_i16x8_u',
    I32X4_EXTEND_HIGH_I16X8_U: 'i32x4.extend_high_i16x8_u',
    I32X4_SHL: 'i32x4.shl',
    I32X4_SHR_S: 'i32x4.shr_s',
    I32X4_SHR_U: 'i32x4.shr_u',
    I32X4_ADD: 'i32x4.add',
    I32X4_SUB: 'i32x4.sub',
    I32X4_MUL: 'i32x4.mul',
    I32X4_MIN_S: 'i32x4.min_s',
    I32X4_MIN_U: 'i32x4.min_u',
    I32X4_MAX_S: 'i32x4.max_s',
    I32X4_MAX_U: 'i32x4.max_u',
    I32X4_DOT_I16X8_S: 'i32x4.dot_i16x8_s',
    I32X4_EXTMUL_LOW_I16X8_S: 'i32x4.extmul_low_i16x8_s',
    I32X4_EXTMUL_HIGH_I16X8_S: 'i32x4.extmul_high_i16x8_s',
    I32X4_EXTMUL_LOW_I16X8_U: 'i32x4.extmul_low_i16x8_u',
    I32X4_EXTMUL_HIGH_I16X8_U: 'i32x4.extmul_high_i16x8_u',
    I64X2_ABS: 'i64x2.abs',
    I64X2_NEG: 'i64x2.neg',
    I64X2_ALL_TRUE: 'i64x2.all_true',
    I64X2_BITMASK: 'i64x2.bitmask',
    I64X2_EXTEND_LOW_I32X4_S: 'i64x2.extend_low_i32x4_s',
    I64X2_EXTEND_HIGH_I32X4_S: 'i64x2.extend_high_i32x4_s',
    I64X2_EXTEND_LOW_I32X4_U: 'i64x2.extend_low_i32x4_u',
    I64X2_EXTEND_HIGH_I32X4_U: 'i64x2.extend_high_i32x4_u',
    I64X2_SHL: 'i64x2.shl',
    I64X2_SHR_S: 'i64x2.shr_s',
    I64X2_SHR_U: 'i64x2.shr_u',
    I64X2_ADD: 'i64x2.add',
    I64X2_SUB: 'i64x2.sub',
    I64X2_MUL: 'i64x2.mul',
    I64X2_EQ: 'i64x2.eq',
    I64X2_NE: 'i64x2.ne',
    I64X2_LT_S: 'i64x2.lt_s',
    I64X2_GT_S: 'i64x2.gt_s',
    I64X2_LE_S: 'i64x2.le_s',
    I64X2_GE_S: 'i64x2.ge_s',
    I64X2_EXTMUL_LOW_I32X4_S: 'i64x2.extmul_low_i32x4_s',
    I64X2_EXTMUL_HIGH_I32X4_S: 'i64x2.extmul_high_i32x4_s',
    I64X2_EXTMUL_LOW_I32X4_U: 'i64x2.extmul_low_i32x4_u',
    I64X2_EXTMUL_HIGH_I32X4_U: 'i64x2.extmul_high_i32x4_u',
    F32X4_ABS: 'f32x4.abs',
    F32X4_NEG: 'f32x4.neg',
    F32X4_SQRT: 'f32x4.sqrt',
    F32X4_ADD: 'f32x4.add',
    F32X4_SUB: 'f32x4.sub',
    F32X4_MUL: 'f32x4.mul',
    F32X4_DIV: 'f32x4.div',
    F32X4_MIN: 'f32x4.min',
    F32X4_MAX: 'f32x4.max',
    F32X4_PMIN: 'f32x4.pmin',
    F32X4_PMAX: 'f32x4.pmax',
    F64X2_ABS: 'f64x2.abs',
    F64X2_NEG: 'f64x2.neg',
    F64X2_SQRT: 'f64x2.sqrt',
    F64X2_ADD: 'f64x2.add',
    F64X2_SUB: 'f64x2.sub',
    F64X2_MUL: 'f64x2.mul',
    F64X2_DIV: 'f64x2.div',
    F64X2_MIN: 'f64x2.min',
    F64X2_MAX: 'f64x2.max',
    F64X2_PMIN: 'f64x2.pmin',
    F64X2_PMAX: 'f64x2.pmax',
    I32X4_TRUNC_SAT_F32X4_S: 'i32x4.trunc_sat_f32x4_s',
    I32X4_TRUNC_SAT_F32X4_U: 'i32x4.trunc_sat_f32x4_u',
    F32X4_CONVERT_I32X4_S: 'f32x4.convert_i32x4_s',
    F32X4_CONVERT_I32X4_U: 'f32x4.convert_i32x4_u',
    I32X4_TRUNC_SAT_F64X2_S_ZERO: 'i32x4.trunc_sat_f64x2_s_zero',
    I32X4_TRUNC_SAT_F64X2_U_ZERO: 'i32x4.trunc_sat_f64x2_u_zero',
    F64X2_CONVERT_LOW_I32X4_S: 'f64x2.convert_low_i32x4_s',
    F64X2_CONVERT_LOW_I32X4_U: 'f64x2.convert_low_i32x4_u',
    I8X16_RELAXED_SWIZZLE: 'i8x16.relaxed_swizzle',
    I32X4_RELAXED_TRUNC_F32X4_S: 'i32x4.relaxed_trunc_f32x4_s',
    I32X4_RELAXED_TRUNC_F32X4_U: 'i32x4.relaxed_trunc_f32x4_u',
    I32X4_RELAXED_TRUNC_F64X2_S_ZERO: 'i32x4.relaxed_trunc_f64x2_s_zero',
    I32X4_RELAXED_TRUNC_F64X2_U_ZERO: 'i32x4.relaxed_trunc_f64x2_u_zero',
    F32X4_RELAXED_MADD: 'f32x4.relaxed_madd',
    F32X4_RELAXED_NMADD: 'f32x4.relaxed_nmadd',
    F64X2_RELAXED_MADD: 'f64x2.relaxed_madd',
    F64X2_RELAXED_NMADD: 'f64x2.relaxed_nmadd',
    I8X16_RELAXED_LANESELECT: 'i8x16.relaxed_laneselect',
    I16X8_RELAXED_LANESELECT: 'i16x8.relaxed_laneselect',
    I32X4_RELAXED_LANESELECT: 'i32x4.relaxed_laneselect',
    I64X2_RELAXED_LANESELECT: 'i64x2.relaxed_laneselect',
    F32X4_RELAXED_MIN: 'f32x4.relaxed_min',
    F32X4_RELAXED_MAX: 'f32x4.relaxed_max',
    F64X2_RELAXED_MIN: 'f64x2.relaxed_min',
    F64X2_RELAXED_MAX: 'f64x2.relaxed_max',
    I16X8_RELAXED_Q15MULR_S: 'i16x8.relaxed_q15mulr_s',
    I16X8_RELAXED_DOT_I8X16_I7X16_S: 'i16x8.relaxed_dot_i8x16_i7x16_s',
    I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S: 'i32x4.relaxed_dot_i8x16_i7x16_add_s',
}

#: opcode → immediate kind (``IMM_*``); every opcode of :data:`OPCODE_NAMES` is present
IMMEDIATE_KINDS: dict[int, int] = {
    UNREACHABLE: IMM_NONE,
    NOP: IMM_NONE,
    BLOCK: IMM_BLOCKTYPE,
    LOOP: IMM_BLOCKTYPE,
    IF: IMM_BLOCKTYPE,
    ELSE: IMM_NONE,
    END: IMM_NONE,
    BR: IMM_LABELIDX,
    BR_IF: IMM_LABELIDX,
    BR_TABLE: IMM_BR_TABLE,
    RETURN: IMM_NONE,
    CALL: IMM_FUNCIDX,
    CALL_INDIRECT: IMM_CALL_INDIRECT,
    RETURN_CALL: IMM_FUNCIDX,
    RETURN_CALL_INDIRECT: IMM_CALL_INDIRECT,
    CALL_REF: IMM_INDEX,
    RETURN_CALL_REF: IMM_INDEX,
    DROP: IMM_NONE,
    SELECT: IMM_NONE,
    SELECT_T: IMM_SELECT_T,
    LOCAL_GET: IMM_INDEX,
    LOCAL_SET: IMM_INDEX,
    LOCAL_TEE: IMM_INDEX,
    GLOBAL_GET: IMM_INDEX,
    GLOBAL_SET: IMM_INDEX,
    TABLE_GET: IMM_INDEX,
    TABLE_SET: IMM_INDEX,
    I32_LOAD: IMM_MEMARG,
    I64_LOAD: IMM_MEMARG,
    F32_LOAD: IMM_MEMARG,
    F64_LOAD: IMM_MEMARG,
    I32_LOAD8_S: IMM_MEMARG,
    I32_LOAD8_U: IMM_MEMARG,
    I32_LOAD16_S: IMM_MEMARG,
    I32_LOAD16_U: IMM_MEMARG,
    I64_LOAD8_S: IMM_MEMARG,
    I64_LOAD8_U: IMM_MEMARG,
    I64_LOAD16_S: IMM_MEMARG,
    I64_LOAD16_U: IMM_MEMARG,
    I64_LOAD32_S: IMM_MEMARG,
    I64_LOAD32_U: IMM_MEMARG,
    I32_STORE: IMM_MEMARG,
    I64_STORE: IMM_MEMARG,
    F32_STORE: IMM_MEMARG,
    F64_STORE: IMM_MEMARG,
    I32_STORE8: IMM_MEMARG,
    I32_STORE16: IMM_MEMARG,
    I64_STORE8: IMM_MEMARG,
    I64_STORE16: IMM_MEMARG,
    I64_STORE32: IMM_MEMARG,
    MEMORY_SIZE: IMM_MEMIDX,
    MEMORY_GROW: IMM_MEMIDX,
    I32_CONST: IMM_I32,
    I64_CONST: IMM_I64,
    F32_CONST: IMM_F32,
    F64_CONST: IMM_F64,
    I32_EQZ: IMM_NONE,
    I32_EQ: IMM_NONE,
    I32_NE: IMM_NONE,
    I32_LT_S: IMM_NONE,
    I32_LT_U: IMM_NONE,
    I32_GT_S: IMM_NONE,
    I32_GT_U: IMM_NONE,
    I32_LE_S: IMM_NONE,
    I32_LE_U: IMM_NONE,
    I32_GE_S: IMM_NONE,
    I32_GE_U: IMM_NONE,
    I64_EQZ: IMM_NONE,
    I64_EQ: IMM_NONE,
    I64_NE: IMM_NONE,
    I64_LT_S: IMM_NONE,
    I64_LT_U: IMM_NONE,
    I64_GT_S: IMM_NONE,
    I64_GT_U: IMM_NONE,
    I64_LE_S: IMM_NONE,
    I64_LE_U: IMM_NONE,
    I64_GE_S: IMM_NONE,
    I64_GE_U: IMM_NONE,
    F32_EQ: IMM_NONE,
    F32_NE: IMM_NONE,
    F32_LT: IMM_NONE,
    F32_GT: IMM_NONE,
    F32_LE: IMM_NONE,
    F32_GE: IMM_NONE,
    F64_EQ: IMM_NONE,
    F64_NE: IMM_NONE,
    F64_LT: IMM_NONE,
    F64_GT: IMM_NONE,
    F64_LE: IMM_NONE,
    F64_GE: IMM_NONE,
    I32_CLZ: IMM_NONE,
    I32_CTZ: IMM_NONE,
    I32_POPCNT: IMM_NONE,
    I32_ADD: IMM_NONE,
    I32_SUB: IMM_NONE,
    I32_MUL: IMM_NONE,
    I32_DIV_S: IMM_NONE,
    I32_DIV_U: IMM_NONE,
    I32_REM_S: IMM_NONE,
    I32_REM_U: IMM_NONE,
    I32_AND: IMM_NONE,
    I32_OR: IMM_NONE,
    I32_XOR: IMM_NONE,
    I32_SHL: IMM_NONE,
    I32_SHR_S: IMM_NONE,
    I32_SHR_U: IMM_NONE,
    I32_ROTL: IMM_NONE,
    I32_ROTR: IMM_NONE,
    I64_CLZ: IMM_NONE,
    I64_CTZ: IMM_NONE,
    I64_POPCNT: IMM_NONE,
    I64_ADD: IMM_NONE,
    I64_SUB: IMM_NONE,
    I64_MUL: IMM_NONE,
    I64_DIV_S: IMM_NONE,
    I64_DIV_U: IMM_NONE,
    I64_REM_S: IMM_NONE,
    I64_REM_U: IMM_NONE,
    I64_AND: IMM_NONE,
    I64_OR: IMM_NONE,
    I64_XOR: IMM_NONE,
    I64_SHL: IMM_NONE,
    I64_SHR_S: IMM_NONE,
    I64_SHR_U: IMM_NONE,
    I64_ROTL: IMM_NONE,
    I64_ROTR: IMM_NONE,
    F32_ABS: IMM_NONE,
    F32_NEG: IMM_NONE,
    F32_CEIL: IMM_NONE,
    F32_FLOOR: IMM_NONE,
    F32_TRUNC: IMM_NONE,
    F32_NEAREST: IMM_NONE,
    F32_SQRT: IMM_NONE,
    F32_ADD: IMM_NONE,
    F32_SUB: IMM_NONE,
    F32_MUL: IMM_NONE,
    F32_DIV: IMM_NONE,
    F32_MIN: IMM_NONE,
    F32_MAX: IMM_NONE,
    F32_COPYSIGN: IMM_NONE,
    F64_ABS: IMM_NONE,
    F64_NEG: IMM_NONE,
    F64_CEIL: IMM_NONE,
    F64_FLOOR: IMM_NONE,
    F64_TRUNC: IMM_NONE,
    F64_NEAREST: IMM_NONE,
    F64_SQRT: IMM_NONE,
    F64_ADD: IMM_NONE,
    F64_SUB: IMM_NONE,
    F64_MUL: IMM_NONE,
    F64_DIV: IMM_NONE,
    F64_MIN: IMM_NONE,
    F64_MAX: IMM_NONE,
    F64_COPYSIGN: IMM_NONE,
    I32_WRAP_I64: IMM_NONE,
    I32_TRUNC_F32_S: IMM_NONE,
    I32_TRUNC_F32_U: IMM_NONE,
    I32_TRUNC_F64_S: IMM_NONE,
    I32_TRUNC_F64_U: IMM_NONE,
    I64_EXTEND_I32_S: IMM_NONE,
    I64_EXTEND_I32_U: IMM_NONE,
    I64_TRUNC_F32_S: IMM_NONE,
    I64_TRUNC_F32_U: IMM_NONE,
    I64_TRUNC_F64_S: IMM_NONE,
    I64_TRUNC_F64_U: IMM_NONE,
    F32_CONVERT_I32_S: IMM_NONE,
    F32_CONVERT_I32_U: IMM_NONE,
    F32_CONVERT_I64_S: IMM_NONE,
    F32_CONVERT_I64_U: IMM_NONE,
    F32_DEMOTE_F64: IMM_NONE,
    F64_CONVERT_I32_S: IMM_NONE,
    F64_CONVERT_I32_U: IMM_NONE,
    F64_CONVERT_I64_S: IMM_NONE,
    F64_CONVERT_I64_U: IMM_NONE,
    F64_PROMOTE_F32: IMM_NONE,
    I32_REINTERPRET_F32: IMM_NONE,
    I64_REINTERPRET_F64: IMM_NONE,
    F32_REINTERPRET_I32: IMM_NONE,
    F64_REINTERPRET_I64: IMM_NONE,
    I32_EXTEND8_S: IMM_NONE,
    I32_EXTEND16_S: IMM_NONE,
    I64_EXTEND8_S: IMM_NONE,
    I64_EXTEND16_S: IMM_NONE,
    I64_EXTEND32_S: IMM_NONE,
    REF_NULL: IMM_REFTYPE,
    REF_IS_NULL: IMM_NONE,
    REF_FUNC: IMM_FUNCIDX,
    REF_AS_NON_NULL: IMM_NONE,
    BR_ON_NULL: IMM_LABELIDX,
    BR_ON_NON_NULL: IMM_LABELIDX,
    I32_TRUNC_SAT_F32_S: IMM_NONE,
    I32_TRUNC_SAT_F32_U: IMM_NONE,
    I32_TRUNC_SAT_F64_S: IMM_NONE,
    I32_TRUNC_SAT_F64_U: IMM_NONE,
    I64_TRUNC_SAT_F32_S: IMM_NONE,
    I64_TRUNC_SAT_F32_U: IMM_NONE,
    I64_TRUNC_SAT_F64_S: IMM_NONE,
    I64_TRUNC_SAT_F64_U: IMM_NONE,
    MEMORY_INIT: IMM_MEMORY_INIT,
    DATA_DROP: IMM_INDEX,
    MEMORY_COPY: IMM_MEMORY_COPY,
    MEMORY_FILL: IMM_MEMIDX,
    TABLE_INIT: IMM_TABLE_INIT,
    ELEM_DROP: IMM_INDEX,
    TABLE_COPY: IMM_TABLE_COPY,
    TABLE_GROW: IMM_INDEX,
    TABLE_SIZE: IMM_INDEX,
    TABLE_FILL: IMM_INDEX,
    V128_LOAD: IMM_MEMARG,
    V128_LOAD8X8_S: IMM_MEMARG,
    V128_LOAD8X8_U: IMM_MEMARG,
    V128_LOAD16X4_S: IMM_MEMARG,
    V128_LOAD16X4_U: IMM_MEMARG,
    V128_LOAD32X2_S: IMM_MEMARG,
    V128_LOAD32X2_U: IMM_MEMARG,
    V128_LOAD8_SPLAT: IMM_MEMARG,
    V128_LOAD16_SPLAT: IMM_MEMARG,
    V128_LOAD32_SPLAT: IMM_MEMARG,
    V128_LOAD64_SPLAT: IMM_MEMARG,
    V128_STORE: IMM_MEMARG,
    V128_CONST: IMM_V128,
    I8X16_SHUFFLE: IMM_V128,
    I8X16_SWIZZLE: IMM_NONE,
    I8X16_SPLAT: IMM_NONE,
    I16X8_SPLAT: IMM_NONE,
    I32X4_SPLAT: IMM_NONE,
    I64X2_SPLAT: IMM_NONE,
    F32X4_SPLAT: IMM_NONE,
    F64X2_SPLAT: IMM_NONE,
    I8X16_EXTRACT_LANE_S: IMM_LANE,
    I8X16_EXTRACT_LANE_U: IMM_LANE,
    I8X16_REPLACE_LANE: IMM_LANE,
    I16X8_EXTRACT_LANE_S: IMM_LANE,
    I16X8_EXTRACT_LANE_U: IMM_LANE,
    I16X8_REPLACE_LANE: IMM_LANE,
    I32X4_EXTRACT_LANE: IMM_LANE,
    I32X4_REPLACE_LANE: IMM_LANE,
    I64X2_EXTRACT_LANE: IMM_LANE,
    I64X2_REPLACE_LANE: IMM_LANE,
    F32X4_EXTRACT_LANE: IMM_LANE,
    F32X4_REPLACE_LANE: IMM_LANE,
    F64X2_EXTRACT_LANE: IMM_LANE,
    F64X2_REPLACE_LANE: IMM_LANE,
    I8X16_EQ: IMM_NONE,
    I8X16_NE: IMM_NONE,
    I8X16_LT_S: IMM_NONE,
    I8X16_LT_U: IMM_NONE,
    I8X16_GT_S: IMM_NONE,
    I8X16_GT_U: IMM_NONE,
    I8X16_LE_S: IMM_NONE,
    I8X16_LE_U: IMM_NONE,
    I8X16_GE_S: IMM_NONE,
    I8X16_GE_U: IMM_NONE,
    I16X8_EQ: IMM_NONE,
    I16X8_NE: IMM_NONE,
    I16X8_LT_S: IMM_NONE,
    I16X8_LT_U: IMM_NONE,
    I16X8_GT_S: IMM_NONE,
    I16X8_GT_U: IMM_NONE,
    I16X8_LE_S: IMM_NONE,
    I16X8_LE_U: IMM_NONE,
    I16X8_GE_S: IMM_NONE,
    I16X8_GE_U: IMM_NONE,
    I32X4_EQ: IMM_NONE,
    I32X4_NE: IMM_NONE,
    I32X4_LT_S: IMM_NONE,
    I32X4_LT_U: IMM_NONE,
    I32X4_GT_S: IMM_NONE,
    I32X4_GT_U: IMM_NONE,
    I32X4_LE_S: IMM_NONE,
    I32X4_LE_U: IMM_NONE,
    I32X4_GE_S: IMM_NONE,
    I32X4_GE_U: IMM_NONE,
    F32X4_EQ: IMM_NONE,
    F32X4_NE: IMM_NONE,
    F32X4_LT: IMM_NONE,
    F32X4_GT: IMM_NONE,
    F32X4_LE: IMM_NONE,
    F32X4_GE: IMM_NONE,
    F64X2_EQ: IMM_NONE,
    F64X2_NE: IMM_NONE,
    F64X2_LT: IMM_NONE,
    F64X2_GT: IMM_NONE,
    F64X2_LE: IMM_NONE,
    F64X2_GE: IMM_NONE,
    V128_NOT: IMM_NONE,
    V128_AND: IMM_NONE,
    V128_ANDNOT: IMM_NONE,
    V128_OR: IMM_NONE,
    V128_XOR: IMM_NONE,
    V128_BITSELECT: IMM_NONE,
    V128_ANY_TRUE: IMM_NONE,
    V128_LOAD8_LANE: IMM_MEMARG_LANE,
    V128_LOAD16_LANE: IMM_MEMARG_LANE,
    V128_LOAD32_LANE: IMM_MEMARG_LANE,
    V128_LOAD64_LANE: IMM_MEMARG_LANE,
    V128_STORE8_LANE: IMM_MEMARG_LANE,
    V128_STORE16_LANE: IMM_MEMARG_LANE,
    V128_STORE32_LANE: IMM_MEMARG_LANE,
    V128_STORE64_LANE: IMM_MEMARG_LANE,
    V128_LOAD32_ZERO: IMM_MEMARG,
    V128_LOAD64_ZERO: IMM_MEMARG,
    F32X4_DEMOTE_F64X2_ZERO: IMM_NONE,
    F64X2_PROMOTE_LOW_F32X4: IMM_NONE,
    I8X16_ABS: IMM_NONE,
    I8X16_NEG: IMM_NONE,
    I8X16_POPCNT: IMM_NONE,
    I8X16_ALL_TRUE: IMM_NONE,
    I8X16_BITMASK: IMM_NONE,
    I8X16_NARROW_I16X8_S: IMM_NONE,
    I8X16_NARROW_I16X8_U: IMM_NONE,
    F32X4_CEIL: IMM_NONE,
    F32X4_FLOOR: IMM_NONE,
    F32X4_TRUNC: IMM_NONE,
    F32X4_NEAREST: IMM_NONE,
    I8X16_SHL: IMM_NONE,
    I8X16_SHR_S: IMM_NONE,
    I8X16_SHR_U: IMM_NONE,
    I8X16_ADD: IMM_NONE,
    I8X16_ADD_SAT_S: IMM_NONE,
    I8X16_ADD_SAT_U: IMM_NONE,
    I8X16_SUB: IMM_NONE,
    I8X16_SUB_SAT_S: IMM_NONE,
    I8X16_SUB_SAT_U: IMM_NONE,
    F64X2_CEIL: IMM_NONE,
    F64X2_FLOOR: IMM_NONE,
    I8X16_MIN_S: IMM_NONE,
    I8X16_MIN_U: IMM_NONE,
    I8X16_MAX_S: IMM_NONE,
    I8X16_MAX_U: IMM_NONE,
    F64X2_TRUNC: IMM_NONE,
    I8X16_AVGR_U: IMM_NONE,
    I16X8_EXTADD_PAIRWISE_I8X16_S: IMM_NONE,
    I16X8_EXTADD_PAIRWISE_I8X16_U: IMM_NONE,
    I32X4_EXTADD_PAIRWISE_I16X8_S: IMM_NONE,
    I32X4_EXTADD_PAIRWISE_I16X8_U: IMM_NONE,
    I16X8_ABS: IMM_NONE,
    I16X8_NEG: IMM_NONE,
    I16X8_Q15MULR_SAT_S: IMM_NONE,
    I16X8_ALL_TRUE: IMM_NONE,
    I16X8_BITMASK: IMM_NONE,
    I16X8_NARROW_I32X4_S: IMM_NONE,
    I16X8_NARROW_I32X4_U: IMM_NONE,
    I16X8_EXTEND_LOW_I8X16_S: IMM_NONE,
    I16X8_EXTEND_HIGH_I8X16_S: IMM_NONE,
    I16X8_EXTEND_LOW_I8X16_U: IMM_NONE,
    I16X8_EXTEND_HIGH_I8X16_U: IMM_NONE,
    I16X8_SHL: IMM_NONE,
    I16X8_SHR_S: IMM_NONE,
    I16X8_SHR_U: IMM_NONE,
    I16X8_ADD: IMM_NONE,
    I16X8_ADD_SAT_S: IMM_NONE,
    I16X8_ADD_SAT_U: IMM_NONE,
    I16X8_SUB: IMM_NONE,
    I16X8_SUB_SAT_S: IMM_NONE,
    I16X8_SUB_SAT_U: IMM_NONE,
    F64X2_NEAREST: IMM_NONE,
    I16X8_MUL: IMM_NONE,
    I16X8_MIN_S: IMM_NONE,
    I16X8_MIN_U: IMM_NONE,
    I16X8_MAX_S: IMM_NONE,
    I16X8_MAX_U: IMM_NONE,
    I16X8_AVGR_U: IMM_NONE,
    I16X8_EXTMUL_LOW_I8X16_S: IMM_NONE,
    I16X8_EXTMUL_HIGH_I8X16_S: IMM_NONE,
    I16X8_EXTMUL_LOW_I8X16_U: IMM_NONE,
    I16X8_EXTMUL_HIGH_I8X16_U: IMM_NONE,
    I32X4_ABS: IMM_NONE,
    I32X4_NEG: IMM_NONE,
    I32X4_ALL_TRUE: IMM_NONE,
    I32X4_BITMASK: IMM_NONE,
    I32X4_EXTEND_LOW_I16X8_S: IMM_NONE,
    I32X4_EXTEND_HIGH_I16X8_S: IMM_NONE,
    I32X4_EXTEND_LOW_I16X8_U: IMM_NONE,
    I32X4_EXTEND_HIGH_I16X8_U: IMM_NONE,
    I32X4_SHL: IMM_NONE,
    I32X4_SHR_S: IMM_NONE,
    I32X4_SHR_U: IMM_NONE,
    I32X4_ADD: IMM_NONE,
    I32X4_SUB: IMM_NONE,
    I32X4_MUL: IMM_NONE,
    I32X4_MIN_S: IMM_NONE,
    I32X4_MIN_U: IMM_NONE,
    I32X4_MAX_S: IMM_NONE,
    I32X4_MAX_U: IMM_NONE,
    I32X4_DOT_I16X8_S: IMM_NONE,
    I32X4_EXTMUL_LOW_I16X8_S: IMM_NONE,
    I32X4_EXTMUL_HIGH_I16X8_S: IMM_NONE,
    I32X4_EXTMUL_LOW_I16X8_U: IMM_NONE,
    I32X4_EXTMUL_HIGH_I16X8_U: IMM_NONE,
    I64X2_ABS: IMM_NONE,
    I64X2_NEG: IMM_NONE,
    I64X2_ALL_TRUE: IMM_NONE,
    I64X2_BITMASK: IMM_NONE,
    I64X2_EXTEND_LOW_I32X4_S: IMM_NONE,
    I64X2_EXTEND_HIGH_I32X4_S: IMM_NONE,
    I64X2_EXTEND_LOW_I32X4_U: IMM_NONE,
    I64X2_EXTEND_HIGH_I32X4_U: IMM_NONE,
    I64X2_SHL: IMM_NONE,
    I64X2_SHR_S: IMM_NONE,
    I64X2_SHR_U: IMM_NONE,
    I64X2_ADD: IMM_NONE,
    I64X2_SUB: IMM_NONE,
    I64X2_MUL: IMM_NONE,
    I64X2_EQ: IMM_NONE,
    I64X2_NE: IMM_NONE,
    I64X2_LT_S: IMM_NONE,
    I64X2_GT_S: IMM_NONE,
    I64X2_LE_S: IMM_NONE,
    I64X2_GE_S: IMM_NONE,
    I64X2_EXTMUL_LOW_I32X4_S: IMM_NONE,
    I64X2_EXTMUL_HIGH_I32X4_S: IMM_NONE,
    I64X2_EXTMUL_LOW_I32X4_U: IMM_NONE,
    I64X2_EXTMUL_HIGH_I32X4_U: IMM_NONE,
    F32X4_ABS: IMM_NONE,
    F32X4_NEG: IMM_NONE,
    F32X4_SQRT: IMM_NONE,
    F32X4_ADD: IMM_NONE,
    F32X4_SUB: IMM_NONE,
    F32X4_MUL: IMM_NONE,
    F32X4_DIV: IMM_NONE,
    F32X4_MIN: IMM_NONE,
    F32X4_MAX: IMM_NONE,
    F32X4_PMIN: IMM_NONE,
    F32X4_PMAX: IMM_NONE,
    F64X2_ABS: IMM_NONE,
    F64X2_NEG: IMM_NONE,
    F64X2_SQRT: IMM_NONE,
    F64X2_ADD: IMM_NONE,
    F64X2_SUB: IMM_NONE,
    F64X2_MUL: IMM_NONE,
    F64X2_DIV: IMM_NONE,
    F64X2_MIN: IMM_NONE,
    F64X2_MAX: IMM_NONE,
    F64X2_PMIN: IMM_NONE,
    F64X2_PMAX: IMM_NONE,
    I32X4_TRUNC_SAT_F32X4_S: IMM_NONE,
    I32X4_TRUNC_SAT_F32X4_U: IMM_NONE,
    F32X4_CONVERT_I32X4_S: IMM_NONE,
    F32X4_CONVERT_I32X4_U: IMM_NONE,
    I32X4_TRUNC_SAT_F64X2_S_ZERO: IMM_NONE,
    I32X4_TRUNC_SAT_F64X2_U_ZERO: IMM_NONE,
    F64X2_CONVERT_LOW_I32X4_S: IMM_NONE,
    F64X2_CONVERT_LOW_I32X4_U: IMM_NONE,
    I8X16_RELAXED_SWIZZLE: IMM_NONE,
    I32X4_RELAXED_TRUNC_F32X4_S: IMM_NONE,
    I32X4_RELAXED_TRUNC_F32X4_U: IMM_NONE,
    I32X4_RELAXED_TRUNC_F64X2_S_ZERO: IMM_NONE,
    I32X4_RELAXED_TRUNC_F64X2_U_ZERO: IMM_NONE,
    F32X4_RELAXED_MADD: IMM_NONE,
    F32X4_RELAXED_NMADD: IMM_NONE,
    F64X2_RELAXED_MADD: IMM_NONE,
    F64X2_RELAXED_NMADD: IMM_NONE,
    I8X16_RELAXED_LANESELECT: IMM_NONE,
    I16X8_RELAXED_LANESELECT: IMM_NONE,
    I32X4_RELAXED_LANESELECT: IMM_NONE,
    I64X2_RELAXED_LANESELECT: IMM_NONE,
    F32X4_RELAXED_MIN: IMM_NONE,
    F32X4_RELAXED_MAX: IMM_NONE,
    F64X2_RELAXED_MIN: IMM_NONE,
    F64X2_RELAXED_MAX: IMM_NONE,
    I16X8_RELAXED_Q15MULR_S: IMM_NONE,
    I16X8_RELAXED_DOT_I8X16_I7X16_S: IMM_NONE,
    I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S: IMM_NONE,
}

#: memarg opcode → log2 of the natural alignment (access size in bytes)
MEMARG_NATURAL_ALIGN: dict[int, int] = {
    I32_LOAD: 2,
    I64_LOAD: 3,
    F32_LOAD: 2,
    F64_LOAD: 3,
    I32_LOAD8_S: 0,
    I32_LOAD8_U: 0,
    I32_LOAD16_S: 1,
    I32_LOAD16_U: 1,
    I64_LOAD8_S: 0,
    I64_LOAD8_U: 0,
    I64_LOAD16_S: 1,
    I64_LOAD16_U: 1,
    I64_LOAD32_S: 2,
    I64_LOAD32_U: 2,
    I32_STORE: 2,
    I64_STORE: 3,
    F32_STORE: 2,
    F64_STORE: 3,
    I32_STORE8: 0,
    I32_STORE16: 1,
    I64_STORE8: 0,
    I64_STORE16: 1,
    I64_STORE32: 2,
    V128_LOAD: 4,
    V128_LOAD8X8_S: 3,
    V128_LOAD8X8_U: 3,
    V128_LOAD16X4_S: 3,
    V128_LOAD16X4_U: 3,
    V128_LOAD32X2_S: 3,
    V128_LOAD32X2_U: 3,
    V128_LOAD8_SPLAT: 0,
    V128_LOAD16_SPLAT: 1,
    V128_LOAD32_SPLAT: 2,
    V128_LOAD64_SPLAT: 3,
    V128_STORE: 4,
    V128_LOAD8_LANE: 0,
    V128_LOAD16_LANE: 1,
    V128_LOAD32_LANE: 2,
    V128_LOAD64_LANE: 3,
    V128_STORE8_LANE: 0,
    V128_STORE16_LANE: 1,
    V128_STORE32_LANE: 2,
    V128_STORE64_LANE: 3,
    V128_LOAD32_ZERO: 2,
    V128_LOAD64_ZERO: 3,
}

#: name (``"i32.add"``) → opcode, the inverse of :data:`OPCODE_NAMES`
OPCODES_BY_NAME: dict[str, int] = {name: op for op, name in OPCODE_NAMES.items()}
