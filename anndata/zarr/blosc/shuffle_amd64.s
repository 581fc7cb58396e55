//go:build amd64 && !noasm

#include "textflag.h"

// UNSHUFFLE4(store, loop, done) unshuffles the first 16*groups elements of
// a block of n 4-byte elements: src holds the block's 4 byte streams of n
// bytes each, dst receives the elements. Each step loads 16 bytes of every
// stream (a, b, c, d) and interleaves them with two rounds of unpacks:
// bytes of streams 0,1 and 2,3 (X0: a0 b0 ... a7 b7, X4: a8 b8 ... a15
// b15, X2: c0 d0 ... c7 d7, X5: c8 d8 ... c15 d15), then the 16-bit pairs
// (X0, X1, X4, X3: elements 0-3, 4-7, 8-11, 12-15), which store writes in
// four 16-byte stores. SSE2 is part of amd64's baseline.
#define UNSHUFFLE4(store, loop, done) \
	MOVQ      dst+0(FP), DI \
	MOVQ      src+8(FP), SI \
	MOVQ      n+16(FP), DX \
	MOVQ      groups+24(FP), CX \
	LEAQ      (SI)(DX*1), R8 \
	LEAQ      (R8)(DX*1), R9 \
	LEAQ      (R9)(DX*1), R10 \
	TESTQ     CX, CX \
	JZ        done \
loop: \
	MOVOU     (SI), X0 \
	MOVOU     (R8), X1 \
	MOVOU     (R9), X2 \
	MOVOU     (R10), X3 \
	MOVO      X0, X4 \
	PUNPCKLBW X1, X0 \
	PUNPCKHBW X1, X4 \
	MOVO      X2, X5 \
	PUNPCKLBW X3, X2 \
	PUNPCKHBW X3, X5 \
	MOVO      X0, X1 \
	PUNPCKLWL X2, X0 \
	PUNPCKHWL X2, X1 \
	MOVO      X4, X3 \
	PUNPCKLWL X5, X4 \
	PUNPCKHWL X5, X3 \
	store     X0, (DI) \
	store     X1, 16(DI) \
	store     X4, 32(DI) \
	store     X3, 48(DI) \
	ADDQ      $16, SI \
	ADDQ      $16, R8 \
	ADDQ      $16, R9 \
	ADDQ      $16, R10 \
	ADDQ      $64, DI \
	DECQ      CX \
	JNZ       loop \
done:

// func unshuffle4SSE2(dst, src *byte, n, groups int)
//
// UNSHUFFLE4 with plain stores.
TEXT ·unshuffle4SSE2(SB), NOSPLIT, $0-32
	UNSHUFFLE4(MOVOU, loop, done)
	RET

// func unshuffle4NT(dst, src *byte, n, groups int)
//
// UNSHUFFLE4 with non-temporal stores (MOVNTDQ; dst 16-byte aligned),
// fenced at the end so that they are visible before the caller goes on.
TEXT ·unshuffle4NT(SB), NOSPLIT, $0-32
	UNSHUFFLE4(MOVNTO, ntloop, ntdone)
	SFENCE
	RET
