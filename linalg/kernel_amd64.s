//go:build !noasm

#include "textflag.h"

// One k step of the 6x8 micro-kernel: load row p of the packed B panel
// (8 values, two YMM), broadcast A(r, p) for r = 0..5 and accumulate
// into Y0..Y11 (row r in Y(2r), Y(2r+1)). SI points at A(0, p), R12 at
// A(3, p), R9 is the row stride in bytes.
#define KSTEP(boff) \
	VMOVUPD boff(DX), Y12 \
	VMOVUPD boff+32(DX), Y13 \
	VBROADCASTSD (SI), Y14 \
	VFMADD231PD Y12, Y14, Y0 \
	VFMADD231PD Y13, Y14, Y1 \
	VBROADCASTSD (SI)(R9*1), Y15 \
	VFMADD231PD Y12, Y15, Y2 \
	VFMADD231PD Y13, Y15, Y3 \
	VBROADCASTSD (SI)(R9*2), Y14 \
	VFMADD231PD Y12, Y14, Y4 \
	VFMADD231PD Y13, Y14, Y5 \
	VBROADCASTSD (R12), Y15 \
	VFMADD231PD Y12, Y15, Y6 \
	VFMADD231PD Y13, Y15, Y7 \
	VBROADCASTSD (R12)(R9*1), Y14 \
	VFMADD231PD Y12, Y14, Y8 \
	VFMADD231PD Y13, Y14, Y9 \
	VBROADCASTSD (R12)(R9*2), Y15 \
	VFMADD231PD Y12, Y15, Y10 \
	VFMADD231PD Y13, Y15, Y11 \
	ADDQ R10, SI \
	ADDQ R10, R12

// Add the accumulators of one C row to memory at DI and step DI to the
// next row.
#define CROW(lo, hi) \
	VADDPD (DI), lo, lo \
	VADDPD 32(DI), hi, hi \
	VMOVUPD lo, (DI) \
	VMOVUPD hi, 32(DI) \
	ADDQ R11, DI

// func dkern6x8AVX2(kc int, a *float64, rs, cs int, b *float64, c *float64, ldc int)
//
// C[0:6, 0:8] += A * B where A(r, p) = a[r*rs + p*cs] (elements) and B is
// a packed panel, B(p, j) = b[8*p + j]. kc must be >= 1.
TEXT ·dkern6x8AVX2(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ rs+16(FP), R9
	MOVQ cs+24(FP), R10
	MOVQ b+32(FP), DX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), R11
	SHLQ $3, R9
	SHLQ $3, R10
	SHLQ $3, R11
	LEAQ (SI)(R9*2), R12
	ADDQ R9, R12

	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   tail

loop4:
	KSTEP(0)
	KSTEP(64)
	KSTEP(128)
	KSTEP(192)
	ADDQ $256, DX
	DECQ BX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	KSTEP(0)
	ADDQ $64, DX
	DECQ CX
	JNZ  loop1

store:
	CROW(Y0, Y1)
	CROW(Y2, Y3)
	CROW(Y4, Y5)
	CROW(Y6, Y7)
	CROW(Y8, Y9)
	CROW(Y10, Y11)
	VZEROUPPER
	RET
