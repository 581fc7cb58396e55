//go:build amd64 && !noasm

#include "textflag.h"

// func rotRowsAVX2(x, y *float64, n int, c, s float64)
//
// For k < n (a multiple of 4): y[k] = s*x[k] + c*y[k], x[k] = c*x[k] -
// s*y[k], four columns per step.
TEXT ·rotRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSD c+24(FP), Y0
	VBROADCASTSD s+32(FP), Y1
	SHRQ         $2, CX
	JZ           done

loop:
	VMOVUPD      (SI), Y2
	VMOVUPD      (DI), Y3
	VMULPD       Y1, Y2, Y4
	VFMADD231PD  Y0, Y3, Y4
	VMULPD       Y0, Y2, Y5
	VFNMADD231PD Y1, Y3, Y5
	VMOVUPD      Y4, (DI)
	VMOVUPD      Y5, (SI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          loop

done:
	VZEROUPPER
	RET
