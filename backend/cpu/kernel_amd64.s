//go:build amd64 && !noasm

#include "textflag.h"

// The row kernels share one frame layout:
//
//	n+0(FP)     number of stored values of the row
//	idx+8(FP)   *int32, their column indices
//	val+16(FP)  *float32, their values
//	mat+24(FP)  *float64: SpMM: the panel of B (row c at mat + c*ld);
//	            SpMMT: the panel of out (row c at mat + c*ld)
//	ld+32(FP)   row stride of mat, in bytes
//	rows+40(FP) rows of mat: an index outside [0, rows) stops the kernel
//	vec+48(FP)  *float64: SpMM: the output row (overwritten);
//	            SpMMT: the row of B that the values multiply
//	ret+56(FP)  bool: false when an index was out of range
//
// Registers: CX the count (from -n up), SI idx and DI val (past their
// ends), DX mat, R8 ld, R9 rows, R10 vec, AX the current row's byte
// offset, Y4 the broadcast value.

#define PROLOGUE \
	MOVQ n+0(FP), CX \
	MOVQ idx+8(FP), SI \
	MOVQ val+16(FP), DI \
	MOVQ mat+24(FP), DX \
	MOVQ ld+32(FP), R8 \
	MOVQ rows+40(FP), R9 \
	MOVQ vec+48(FP), R10 \
	LEAQ (SI)(CX*4), SI \
	LEAQ (DI)(CX*4), DI \
	NEGQ CX

// NEXT(off) loads the index off bytes past the current one into AX as a
// byte offset into mat (jumping to bad when it is out of range) and the
// value, widened and broadcast, into Y4. SI and DI point past the ends of
// idx and val and CX counts up from -n to 0, so one increment steps both.
#define NEXT(off) \
	MOVLQSX off(SI)(CX*4), AX \
	CMPQ AX, R9 \
	JAE bad \
	IMULQ R8, AX \
	VBROADCASTSS off(DI)(CX*4), X4 \
	VCVTPS2PD X4, Y4

#define EPILOGUE \
	VZEROUPPER \
	MOVB $1, ret+56(FP) \
	RET \
bad: \
	VZEROUPPER \
	MOVB $0, ret+56(FP) \
	RET

// The dense Gram kernels share their frame and registers:
//
//	n+0(FP)     number of values (n >= 1); CX
//	rows+8(FP)  *uint8, each value's row of x; SI
//	val+16(FP)  *float64, the values; DI
//	c+24(FP)    *float64, the row of C; DX
//	x+32(FP)    *float64, rows of 256 float64 (2048 bytes) apart; R10
//	w+40(FP)    columns (a multiple of 4); R11 (in bytes)
//
// BX is the column group's byte offset, R9 x at the group, R13 the value
// counter, AX the current row of x at the group.
#define GRAMARGS \
	MOVQ n+0(FP), CX \
	MOVQ rows+8(FP), SI \
	MOVQ val+16(FP), DI \
	MOVQ c+24(FP), DX \
	MOVQ x+32(FP), R10 \
	MOVQ w+40(FP), R11 \
	SHLQ $3, R11 \
	XORQ BX, BX

// GRAMROW(bcast) points AX at value R13's row of x in the group and
// broadcasts the value into bcast.
#define GRAMROW(bcast) \
	MOVBQZX      (SI)(R13*1), AX \
	SHLQ         $11, AX \
	ADDQ         R9, AX \
	VBROADCASTSD (DI)(R13*8), bcast

// GRAM1(acc, bcast, bytes, q) does one group of columns of C in the one
// register acc (bytes wide): load, every value's product, store.
#define GRAM1(acc, bcast, bytes, q) \
	VMOVUPD      (DX)(BX*1), acc \
	LEAQ         (R10)(BX*1), R9 \
	XORQ         R13, R13 \
q: \
	GRAMROW(bcast) \
	VFMADD231PD  (AX), bcast, acc \
	INCQ         R13 \
	CMPQ         R13, CX \
	JB           q \
	VMOVUPD      acc, (DX)(BX*1) \
	ADDQ         $bytes, BX

// GRAM8(r0, ..., r7, bcast, w, q) does one group of columns of C in the
// eight registers r0..r7 (w bytes each): load, every value's product,
// store, then steps BX past the group.
#define GRAM8(r0, r1, r2, r3, r4, r5, r6, r7, bcast, w, q) \
	VMOVUPD     (DX)(BX*1), r0 \
	VMOVUPD     w(DX)(BX*1), r1 \
	VMOVUPD     (2*w)(DX)(BX*1), r2 \
	VMOVUPD     (3*w)(DX)(BX*1), r3 \
	VMOVUPD     (4*w)(DX)(BX*1), r4 \
	VMOVUPD     (5*w)(DX)(BX*1), r5 \
	VMOVUPD     (6*w)(DX)(BX*1), r6 \
	VMOVUPD     (7*w)(DX)(BX*1), r7 \
	LEAQ        (R10)(BX*1), R9 \
	XORQ        R13, R13 \
q: \
	GRAMROW(bcast) \
	VFMADD231PD (AX), bcast, r0 \
	VFMADD231PD w(AX), bcast, r1 \
	VFMADD231PD (2*w)(AX), bcast, r2 \
	VFMADD231PD (3*w)(AX), bcast, r3 \
	VFMADD231PD (4*w)(AX), bcast, r4 \
	VFMADD231PD (5*w)(AX), bcast, r5 \
	VFMADD231PD (6*w)(AX), bcast, r6 \
	VFMADD231PD (7*w)(AX), bcast, r7 \
	INCQ        R13 \
	CMPQ        R13, CX \
	JB          q \
	VMOVUPD     r0, (DX)(BX*1) \
	VMOVUPD     r1, w(DX)(BX*1) \
	VMOVUPD     r2, (2*w)(DX)(BX*1) \
	VMOVUPD     r3, (3*w)(DX)(BX*1) \
	VMOVUPD     r4, (4*w)(DX)(BX*1) \
	VMOVUPD     r5, (5*w)(DX)(BX*1) \
	VMOVUPD     r6, (6*w)(DX)(BX*1) \
	VMOVUPD     r7, (7*w)(DX)(BX*1) \
	ADDQ        $(8*w), BX

// SpMM: vec[0:w] = sum over q of val[q] * mat[idx[q]][0:w], the sum in
// registers, stored once. An FMA's latency is 4 cycles: one chain of
// sums per column group would leave the FMA units idle, so several values
// are taken at a time into separate sums (8 chains), which are added at
// the end.

// func spmmRow16(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool
TEXT ·spmmRow16(SB), NOSPLIT, $0-57
	PROLOGUE
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	CMPQ   CX, $-2
	JG     tail16

loop16:
	NEXT(0)
	VFMADD231PD (DX)(AX*1), Y4, Y0
	VFMADD231PD 32(DX)(AX*1), Y4, Y1
	VFMADD231PD 64(DX)(AX*1), Y4, Y2
	VFMADD231PD 96(DX)(AX*1), Y4, Y3
	NEXT(4)
	VFMADD231PD (DX)(AX*1), Y4, Y6
	VFMADD231PD 32(DX)(AX*1), Y4, Y7
	VFMADD231PD 64(DX)(AX*1), Y4, Y8
	VFMADD231PD 96(DX)(AX*1), Y4, Y9
	ADDQ        $2, CX
	CMPQ        CX, $-2
	JLE         loop16

tail16:
	TESTQ CX, CX
	JE    store16
	NEXT(0)
	VFMADD231PD (DX)(AX*1), Y4, Y0
	VFMADD231PD 32(DX)(AX*1), Y4, Y1
	VFMADD231PD 64(DX)(AX*1), Y4, Y2
	VFMADD231PD 96(DX)(AX*1), Y4, Y3

store16:
	VADDPD  Y6, Y0, Y0
	VADDPD  Y7, Y1, Y1
	VADDPD  Y8, Y2, Y2
	VADDPD  Y9, Y3, Y3
	VMOVUPD Y0, (R10)
	VMOVUPD Y1, 32(R10)
	VMOVUPD Y2, 64(R10)
	VMOVUPD Y3, 96(R10)
	EPILOGUE

// func spmmRow8(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool
TEXT ·spmmRow8(SB), NOSPLIT, $0-57
	PROLOGUE
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	CMPQ   CX, $-4
	JG     tail8

loop8:
	NEXT(0)
	VFMADD231PD (DX)(AX*1), Y4, Y0
	VFMADD231PD 32(DX)(AX*1), Y4, Y1
	NEXT(4)
	VFMADD231PD (DX)(AX*1), Y4, Y2
	VFMADD231PD 32(DX)(AX*1), Y4, Y3
	NEXT(8)
	VFMADD231PD (DX)(AX*1), Y4, Y6
	VFMADD231PD 32(DX)(AX*1), Y4, Y7
	NEXT(12)
	VFMADD231PD (DX)(AX*1), Y4, Y8
	VFMADD231PD 32(DX)(AX*1), Y4, Y9
	ADDQ        $4, CX
	CMPQ        CX, $-4
	JLE         loop8

tail8:
	TESTQ CX, CX
	JE    store8

tailloop8:
	NEXT(0)
	VFMADD231PD (DX)(AX*1), Y4, Y0
	VFMADD231PD 32(DX)(AX*1), Y4, Y1
	INCQ        CX
	JNZ         tailloop8

store8:
	VADDPD  Y2, Y0, Y0
	VADDPD  Y3, Y1, Y1
	VADDPD  Y8, Y6, Y6
	VADDPD  Y9, Y7, Y7
	VADDPD  Y6, Y0, Y0
	VADDPD  Y7, Y1, Y1
	VMOVUPD Y0, (R10)
	VMOVUPD Y1, 32(R10)
	EPILOGUE

// func spmmRow4(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool
TEXT ·spmmRow4(SB), NOSPLIT, $0-57
	PROLOGUE
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	CMPQ   CX, $-4
	JG     tail4

loop4:
	NEXT(0)
	VFMADD231PD (DX)(AX*1), Y4, Y0
	NEXT(4)
	VFMADD231PD (DX)(AX*1), Y4, Y1
	NEXT(8)
	VFMADD231PD (DX)(AX*1), Y4, Y2
	NEXT(12)
	VFMADD231PD (DX)(AX*1), Y4, Y3
	ADDQ        $4, CX
	CMPQ        CX, $-4
	JLE         loop4

tail4:
	TESTQ CX, CX
	JE    store4

tailloop4:
	NEXT(0)
	VFMADD231PD (DX)(AX*1), Y4, Y0
	INCQ        CX
	JNZ         tailloop4

store4:
	VADDPD  Y1, Y0, Y0
	VADDPD  Y3, Y2, Y2
	VADDPD  Y2, Y0, Y0
	VMOVUPD Y0, (R10)
	EPILOGUE

// SpMMT: mat[idx[q]][0:w] += val[q] * vec[0:w], vec held in registers.

// func spmmtRow16(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool
TEXT ·spmmtRow16(SB), NOSPLIT, $0-57
	PROLOGUE
	VMOVUPD (R10), Y0
	VMOVUPD 32(R10), Y1
	VMOVUPD 64(R10), Y2
	VMOVUPD 96(R10), Y3
	TESTQ   CX, CX
	JE      done16t

loop16t:
	NEXT(0)
	ADDQ        DX, AX
	VMOVUPD     (AX), Y6
	VMOVUPD     32(AX), Y7
	VMOVUPD     64(AX), Y8
	VMOVUPD     96(AX), Y9
	VFMADD231PD Y0, Y4, Y6
	VFMADD231PD Y1, Y4, Y7
	VFMADD231PD Y2, Y4, Y8
	VFMADD231PD Y3, Y4, Y9
	VMOVUPD     Y6, (AX)
	VMOVUPD     Y7, 32(AX)
	VMOVUPD     Y8, 64(AX)
	VMOVUPD     Y9, 96(AX)
	INCQ        CX
	JNZ         loop16t

done16t:
	EPILOGUE

// func spmmtRow8(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool
TEXT ·spmmtRow8(SB), NOSPLIT, $0-57
	PROLOGUE
	VMOVUPD (R10), Y0
	VMOVUPD 32(R10), Y1
	TESTQ   CX, CX
	JE      done8t

loop8t:
	NEXT(0)
	ADDQ        DX, AX
	VMOVUPD     (AX), Y6
	VMOVUPD     32(AX), Y7
	VFMADD231PD Y0, Y4, Y6
	VFMADD231PD Y1, Y4, Y7
	VMOVUPD     Y6, (AX)
	VMOVUPD     Y7, 32(AX)
	INCQ        CX
	JNZ         loop8t

done8t:
	EPILOGUE

// func spmmtRow4(n int, idx *int32, val *float32, mat *float64, ld, rows int, vec *float64) bool
TEXT ·spmmtRow4(SB), NOSPLIT, $0-57
	PROLOGUE
	VMOVUPD (R10), Y0
	TESTQ   CX, CX
	JE      done4t

loop4t:
	NEXT(0)
	ADDQ        DX, AX
	VMOVUPD     (AX), Y6
	VFMADD231PD Y0, Y4, Y6
	VMOVUPD     Y6, (AX)
	INCQ        CX
	JNZ         loop4t

done4t:
	EPILOGUE

// func gramCols(n int, rows *uint8, val *float64, c *float64, x *float64, w int)
//
// The dense tiles of GramAccumulate, one row of C at a time: for each
// group of columns of c[0:w] (32, then 4), the group is loaded into
// registers, gets val[q] * x[rows[q]*256 + group] added for q in [0, n)
// in order, and is stored once. Per four products one load of x folded
// into the FMA and no store: eight independent accumulators cover the
// FMA's latency. x*val is exact (float32 values widened), so each FMA
// rounds once, as a multiply and an add would, in the same order: the
// bits are those of a plain loop.
TEXT ·gramCols(SB), NOSPLIT, $0-48
	GRAMARGS
	MOVQ R11, R12
	ANDQ $-256, R12    // the bytes taken 32 columns at a time

c32:
	CMPQ  BX, R12
	JAE   c4
	GRAM8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, 32, c32q)
	JMP   c32

c4:
	CMPQ BX, R11
	JAE  cdone
	GRAM1(Y0, Y8, 32, c4q)
	JMP  c4

cdone:
	VZEROUPPER
	RET

// func gramCols512(n int, rows *uint8, val *float64, c *float64, x *float64, w int)
//
// gramCols with AVX-512: groups of 64 columns in eight ZMM accumulators,
// then of 8, then of 4 (YMM). The same products in the same order, so the
// same bits.
TEXT ·gramCols512(SB), NOSPLIT, $0-48
	GRAMARGS
	MOVQ R11, R12
	ANDQ $-512, R12    // the bytes taken 64 columns at a time

z64:
	CMPQ  BX, R12
	JAE   z8
	GRAM8(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, 64, z64q)
	JMP   z64

z8:
	MOVQ R11, R12
	ANDQ $-64, R12     // the bytes taken 8 columns at a time

z8g:
	CMPQ BX, R12
	JAE  z4
	GRAM1(Z0, Z8, 64, z8q)
	JMP  z8g

z4:
	CMPQ BX, R11
	JAE  zdone
	GRAM1(Y0, Y8, 32, z4q)
	JMP  z4

zdone:
	VZEROUPPER
	RET

// SpMM on float32 panels: vec[0:w] = sum over q of val[q] * mat[idx[q]][0:w],
// mat and vec float32, summed in float32. The frame is the row kernels'
// (mat and vec point at float32). Two chains of sums (even and odd
// values) hide the FMA latency where a value has several registers of
// columns; one register gets four.

// NEXTS(off, reg) is NEXT for float32: the value broadcast into reg as is.
#define NEXTS(off, reg) \
	MOVLQSX off(SI)(CX*4), AX \
	CMPQ AX, R9 \
	JAE bad \
	IMULQ R8, AX \
	VBROADCASTSS off(DI)(CX*4), reg

// FMA4(b, w, a0, a1, a2, a3): a0..a3 += b times the 4 registers of w
// bytes at row AX.
#define FMA4(b, w, a0, a1, a2, a3) \
	VFMADD231PS (DX)(AX*1), b, a0 \
	VFMADD231PS w(DX)(AX*1), b, a1 \
	VFMADD231PS (2*w)(DX)(AX*1), b, a2 \
	VFMADD231PS (3*w)(DX)(AX*1), b, a3

// FMA2Z(b, a0, a1): a0, a1 += b times the 32 floats at row AX.
#define FMA2Z(b, a0, a1) \
	VFMADD231PS (DX)(AX*1), b, a0 \
	VFMADD231PS 64(DX)(AX*1), b, a1

// FMA1(b, a): a += b times the register's width of floats at row AX.
#define FMA1(b, a) VFMADD231PS (DX)(AX*1), b, a

// LOOP2(label, tail, next0, fma0, next1, fma1): the two-chain loop over
// the values, two at a time, then the odd one.
#define LOOP2(label, tail, done, next0, fma0, next1, fma1) \
	CMPQ CX, $-2 \
	JG   tail \
label: \
	next0 \
	fma0 \
	next1 \
	fma1 \
	ADDQ $2, CX \
	CMPQ CX, $-2 \
	JLE  label \
tail: \
	TESTQ CX, CX \
	JE    done \
	next0 \
	fma0 \
done:

// LOOP4(label, tail, tailloop, done, reg, fma0..fma3): the four-chain loop
// of a one-register width, then the rest one at a time into chain 0.
#define LOOP4(label, tail, tailloop, done, reg, fma0, fma1, fma2, fma3) \
	CMPQ CX, $-4 \
	JG   tail \
label: \
	NEXTS(0, reg) \
	fma0 \
	NEXTS(4, reg) \
	fma1 \
	NEXTS(8, reg) \
	fma2 \
	NEXTS(12, reg) \
	fma3 \
	ADDQ $4, CX \
	CMPQ CX, $-4 \
	JLE  label \
tail: \
	TESTQ CX, CX \
	JE    done \
tailloop: \
	NEXTS(0, reg) \
	fma0 \
	INCQ CX \
	JNZ  tailloop \
done:

// SPMM4S(zero, w, loop, tail, store, b0, b1, a0, a1, a2, a3, c0, c1, c2, c3)
// is the body of a float32 SpMM kernel of four registers of w bytes a
// chain (a0..a3 and c0..c3, zeroed with zero, b0 and b1 the broadcast
// values): the two chains added and stored at the end.
#define SPMM4S(zero, w, loop, tail, store, b0, b1, a0, a1, a2, a3, c0, c1, c2, c3) \
	zero a0, a0, a0 \
	zero a1, a1, a1 \
	zero a2, a2, a2 \
	zero a3, a3, a3 \
	zero c0, c0, c0 \
	zero c1, c1, c1 \
	zero c2, c2, c2 \
	zero c3, c3, c3 \
	LOOP2(loop, tail, store, NEXTS(0, b0), FMA4(b0, w, a0, a1, a2, a3), NEXTS(4, b1), FMA4(b1, w, c0, c1, c2, c3)) \
	VADDPS  c0, a0, a0 \
	VADDPS  c1, a1, a1 \
	VADDPS  c2, a2, a2 \
	VADDPS  c3, a3, a3 \
	VMOVUPS a0, (R10) \
	VMOVUPS a1, w(R10) \
	VMOVUPS a2, (2*w)(R10) \
	VMOVUPS a3, (3*w)(R10)

// func spmmRow64s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
//
// AVX-512: 64 columns, four ZMM per chain.
TEXT ·spmmRow64s(SB), NOSPLIT, $0-57
	PROLOGUE
	SPMM4S(VPXORD, 64, loop64s, tail64s, store64s, Z4, Z5, Z0, Z1, Z2, Z3, Z6, Z7, Z8, Z9)
	EPILOGUE

// func spmmRow32s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
//
// AVX-512: 32 columns, two ZMM per chain.
TEXT ·spmmRow32s(SB), NOSPLIT, $0-57
	PROLOGUE
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	LOOP2(loop32s, tail32s, store32s, NEXTS(0, Z4), FMA2Z(Z4, Z0, Z1), NEXTS(4, Z5), FMA2Z(Z5, Z6, Z7))
	VADDPS  Z6, Z0, Z0
	VADDPS  Z7, Z1, Z1
	VMOVUPS Z0, (R10)
	VMOVUPS Z1, 64(R10)
	EPILOGUE

// func spmmRow16s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
//
// AVX-512: 16 columns, one ZMM, four chains.
TEXT ·spmmRow16s(SB), NOSPLIT, $0-57
	PROLOGUE
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	LOOP4(loop16s, tail16s, tailloop16s, store16s, Z4, FMA1(Z4, Z0), FMA1(Z4, Z1), FMA1(Z4, Z2), FMA1(Z4, Z3))
	VADDPS  Z1, Z0, Z0
	VADDPS  Z3, Z2, Z2
	VADDPS  Z2, Z0, Z0
	VMOVUPS Z0, (R10)
	EPILOGUE

// func spmmRow32sAVX2(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
//
// AVX2: 32 columns, four YMM per chain.
TEXT ·spmmRow32sAVX2(SB), NOSPLIT, $0-57
	PROLOGUE
	SPMM4S(VXORPS, 32, loop32y, tail32y, store32y, Y4, Y5, Y0, Y1, Y2, Y3, Y6, Y7, Y8, Y9)
	EPILOGUE

// SPMM1S(loop, tail, tailloop, store, b, a0, a1, a2, a3) is the body of a
// one-register float32 SpMM kernel (YMM or XMM): four chains of sums,
// added and stored at the end.
#define SPMM1S(loop, tail, tailloop, store, b, a0, a1, a2, a3) \
	VXORPS a0, a0, a0 \
	VXORPS a1, a1, a1 \
	VXORPS a2, a2, a2 \
	VXORPS a3, a3, a3 \
	LOOP4(loop, tail, tailloop, store, b, FMA1(b, a0), FMA1(b, a1), FMA1(b, a2), FMA1(b, a3)) \
	VADDPS  a1, a0, a0 \
	VADDPS  a3, a2, a2 \
	VADDPS  a2, a0, a0 \
	VMOVUPS a0, (R10)

// func spmmRow8s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
//
// AVX2: 8 columns, one YMM, four chains.
TEXT ·spmmRow8s(SB), NOSPLIT, $0-57
	PROLOGUE
	SPMM1S(loop8s, tail8s, tailloop8s, store8s, Y4, Y0, Y1, Y2, Y3)
	EPILOGUE

// func spmmRow4s(n int, idx *int32, val *float32, mat *float32, ld, rows int, vec *float32) bool
//
// AVX2: 4 columns, one XMM, four chains.
TEXT ·spmmRow4s(SB), NOSPLIT, $0-57
	PROLOGUE
	SPMM1S(loop4s, tail4s, tailloop4s, store4s, X4, X0, X1, X2, X3)
	EPILOGUE
