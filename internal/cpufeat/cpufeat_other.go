//go:build !amd64 || noasm

package cpufeat

func detectAVX2FMA() bool { return false }
