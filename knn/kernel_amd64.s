//go:build !noasm

#include "textflag.h"

// One row of the epilogue: c(r, :) = qn(r) + pn(:) - 2 dot(r, :), stored,
// then compared with thr(r); the 16 comparison bits are shifted to bit
// SH of MASK. Y12, Y13 hold pn; DI, R8, DX point at qn, thr and c.
#define ROW(A0, A1, r, MASK, SH) \
	VBROADCASTSS (4*r)(DI), Y14 \
	VADDPS Y12, Y14, Y15 \
	VADDPS A0, A0, A0 \
	VSUBPS A0, Y15, A0 \
	VADDPS Y13, Y14, Y15 \
	VADDPS A1, A1, A1 \
	VSUBPS A1, Y15, A1 \
	VMOVUPS A0, (64*r)(DX) \
	VMOVUPS A1, (64*r+32)(DX) \
	VBROADCASTSS (4*r)(R8), Y14 \
	VCMPPS $2, Y14, A0, A0 \
	VCMPPS $2, Y14, A1, A1 \
	VMOVMSKPS A0, R10 \
	VMOVMSKPS A1, R11 \
	SHLQ $8, R11 \
	ORQ R11, R10 \
	SHLQ $SH, R10 \
	ORQ R10, MASK

// func dist6x16AVX2(kc int, a, b, pn, qn, thr, c *float32) (lo, hi uint64)
//
// a is a 6-query tile packed k-major (a[6p+r]), b a 16-point panel packed
// k-major (b[16p+j]). The 6x16 dot products stay in Y0..Y11 (row r in
// Y(2r), Y(2r+1)); the epilogue turns them into squared distances and
// returns which pass their threshold: bit 16r+j of (hi<<64 | lo).
TEXT ·dist6x16AVX2(SB), NOSPLIT, $0-72
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
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
	TESTQ CX, CX
	JLE epilogue

loop:
	VMOVUPS (BX), Y12
	VMOVUPS 32(BX), Y13
	VBROADCASTSS (AX), Y14
	VBROADCASTSS 4(AX), Y15
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS 8(AX), Y14
	VBROADCASTSS 12(AX), Y15
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS 16(AX), Y14
	VBROADCASTSS 20(AX), Y15
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ loop

epilogue:
	MOVQ pn+24(FP), SI
	MOVQ qn+32(FP), DI
	MOVQ thr+40(FP), R8
	MOVQ c+48(FP), DX
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	XORQ R9, R9
	XORQ R12, R12
	ROW(Y0, Y1, 0, R9, 0)
	ROW(Y2, Y3, 1, R9, 16)
	ROW(Y4, Y5, 2, R9, 32)
	ROW(Y6, Y7, 3, R9, 48)
	ROW(Y8, Y9, 4, R12, 0)
	ROW(Y10, Y11, 5, R12, 16)
	VZEROUPPER
	MOVQ R9, lo+56(FP)
	MOVQ R12, hi+64(FP)
	RET

// func sqdist64AVX2(q, p *float32, d int) float64
//
// The squared distance in float64: exact differences of the float32
// coordinates, squared and accumulated by FMA in eight partial sums (two
// YMM of four: coordinate k goes to sum k mod 8) over the first d&^7
// coordinates and one scalar sum over the rest; see sqdist64Go for the
// order of the final additions.
TEXT ·sqdist64AVX2(SB), NOSPLIT, $0-32
	MOVQ q+0(FP), SI
	MOVQ p+8(FP), DI
	MOVQ d+16(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD X6, X6, X6
	MOVQ CX, DX
	SHRQ $3, DX
	JZ tail

loop8:
	VCVTPS2PD (SI), Y2
	VCVTPS2PD (DI), Y3
	VSUBPD Y3, Y2, Y2
	VFMADD231PD Y2, Y2, Y0
	VCVTPS2PD 16(SI), Y4
	VCVTPS2PD 16(DI), Y5
	VSUBPD Y5, Y4, Y4
	VFMADD231PD Y4, Y4, Y1
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ DX
	JNZ loop8

tail:
	ANDQ $7, CX
	JZ reduce

tailloop:
	VCVTSS2SD (SI), X2, X2
	VCVTSS2SD (DI), X3, X3
	VSUBSD X3, X2, X2
	VFMADD231SD X2, X2, X6
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ tailloop

reduce:
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VADDSD X6, X0, X0
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET
