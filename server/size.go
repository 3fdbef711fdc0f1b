package server

import "unsafe"

// unsafeSizeofConn is the size of one connection slot, for the size budget
// test and the scale report.
func unsafeSizeofConn() uintptr { return unsafe.Sizeof(conn{}) }

// ConnSlotBytes is the memory of one connection slot (plus its two timer
// nodes are accounted by the timer wheel).
func ConnSlotBytes() int { return int(unsafeSizeofConn()) }
