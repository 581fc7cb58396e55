//go:build !noasm

#include "textflag.h"

// The single-precision kernels of EigSymTop's products (single.go):
// y[r*16+c] = sum over p < k of a[r*lda+p] * x[p*16+c], x a packed panel
// of 16 columns. Each row r of A has its own base register; AX is the
// byte offset of column p in every row, so one ADDQ steps them all.

// Row pointers: row r at a + r*lda*4, in the registers named.
#define ROWPTRS \
	MOVQ a+8(FP), SI \
	MOVQ lda+16(FP), AX \
	SHLQ $2, AX \
	LEAQ (SI)(AX*1), BX \
	LEAQ (BX)(AX*1), R8 \
	LEAQ (R8)(AX*1), R9 \
	LEAQ (R9)(AX*1), R10 \
	LEAQ (R10)(AX*1), R11 \
	LEAQ (R11)(AX*1), R12 \
	LEAQ (R12)(AX*1), R13 \
	MOVQ k+0(FP), CX \
	MOVQ x+24(FP), DX \
	XORQ AX, AX

// One row of the AVX2 kernel: broadcast a[r, p] and add it times the
// panel row (Y12, Y13) into the row's accumulators.
#define SROW2(base, bc, lo, hi) \
	VBROADCASTSS (base)(AX*1), bc \
	VFMADD231PS Y12, bc, lo \
	VFMADD231PS Y13, bc, hi

// func skern6x16AVX2(k int, a *float32, lda int, x *float32, y *float32)
//
// Six rows; k >= 1.
TEXT ·skern6x16AVX2(SB), NOSPLIT, $0-40
	ROWPTRS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop6:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	ADDQ $64, DX
	SROW2(SI, Y14, Y0, Y1)
	SROW2(BX, Y15, Y2, Y3)
	SROW2(R8, Y14, Y4, Y5)
	SROW2(R9, Y15, Y6, Y7)
	SROW2(R10, Y14, Y8, Y9)
	SROW2(R11, Y15, Y10, Y11)
	ADDQ $4, AX
	DECQ CX
	JNZ  loop6

	MOVQ y+32(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VMOVUPS Y8, 256(DI)
	VMOVUPS Y9, 288(DI)
	VMOVUPS Y10, 320(DI)
	VMOVUPS Y11, 352(DI)
	VZEROUPPER
	RET

// func skern8x16AVX512(k int, a *float32, lda int, x *float32, y *float32)
//
// Eight rows, one ZMM accumulator each; a[r, p] comes in by embedded
// broadcast. k >= 1.
TEXT ·skern8x16AVX512(SB), NOSPLIT, $0-40
	ROWPTRS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop8:
	VMOVUPS (DX), Z16
	ADDQ $64, DX
	VFMADD231PS.BCST (SI)(AX*1), Z16, Z0
	VFMADD231PS.BCST (BX)(AX*1), Z16, Z1
	VFMADD231PS.BCST (R8)(AX*1), Z16, Z2
	VFMADD231PS.BCST (R9)(AX*1), Z16, Z3
	VFMADD231PS.BCST (R10)(AX*1), Z16, Z4
	VFMADD231PS.BCST (R11)(AX*1), Z16, Z5
	VFMADD231PS.BCST (R12)(AX*1), Z16, Z6
	VFMADD231PS.BCST (R13)(AX*1), Z16, Z7
	ADDQ $4, AX
	DECQ CX
	JNZ  loop8

	MOVQ y+32(FP), DI
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VZEROUPPER
	RET
