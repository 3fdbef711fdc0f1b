package zhttp

import "testing"

func TestWorkerOf(t *testing.T) {
	cases := []struct {
		id   string
		w    int
		isOK bool
	}{
		{"0-0-0", 0, true}, {"12-3-ff", 12, true}, {"-1-2", 0, false}, {"x-1-2", 0, false},
		{"123456-1-2", 0, false}, {"7", 0, false}, {"", 0, false},
	}
	for _, c := range cases {
		w, ok := WorkerOf([]byte(c.id))
		if ok != c.isOK || (ok && w != c.w) {
			t.Errorf("WorkerOf(%q) = %d, %v", c.id, w, ok)
		}
	}
}

func TestParseIDsIgnoresOtherFields(t *testing.T) {
	var p Packet
	// `more` has the wrong type: Parse refuses the packet, ParseIDs only
	// needs the ids (the worker will log the error).
	msg := []byte("T48:2:id,5:1-2-3,4:more,3:yes,4:from,2:h1,3:seq,1:0#}")
	if err := p.Parse(msg); err == nil {
		t.Fatal("Parse accepted a string more")
	}
	if err := p.ParseIDs(msg); err != nil || len(p.IDs) != 1 || string(p.IDs[0].ID) != "1-2-3" {
		t.Fatalf("ParseIDs: %v %v", err, p.IDs)
	}
	multi := AppendPacket(nil, &Out{Multi: []IDSeq{{ID: []byte("0-1-1")}, {ID: []byte("1-4-2")}}, Type: TypeKeepAlive})
	if err := p.ParseIDs(multi); err != nil || len(p.IDs) != 2 || string(p.IDs[1].ID) != "1-4-2" {
		t.Fatalf("ParseIDs multi: %v %v", err, p.IDs)
	}
	if err := p.ParseIDs([]byte("T11:4:type,1:x,}")); err != ErrNoID {
		t.Fatalf("no id: %v", err)
	}
}
