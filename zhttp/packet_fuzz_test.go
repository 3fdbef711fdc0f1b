package zhttp

import "testing"

// FuzzPacketParse checks that Parse never panics and that whatever it
// accepts survives AppendPacket: the shared fields, re-encoded the way the
// server writes them, parse back to the same values.
// Seeds: testdata/fuzz/FuzzPacketParse and the §10 vectors.
func FuzzPacketParse(f *testing.F) {
	for _, v := range parseVectors {
		f.Add([]byte(v.in))
	}
	for _, v := range appendVectors {
		f.Add([]byte(v.want))
	}
	var p, q Packet
	var buf []byte
	f.Fuzz(func(t *testing.T, in []byte) {
		if err := p.Parse(in); err != nil {
			return
		}
		if len(p.IDs) == 0 || len(p.IDs) > MaxIDs || len(p.Headers) > MaxHeaders {
			t.Fatalf("accepted %d ids, %d headers", len(p.IDs), len(p.Headers))
		}
		o := outFromPacket(&p)
		buf = AppendPacket(buf[:0], &o)
		if err := q.Parse(buf); err != nil {
			t.Fatalf("re-encoded packet rejected: %v\n%q", err, buf)
		}
		want := expectedPacket(&o)
		if d := diffPacket(&q, &want); d != "" {
			t.Fatalf("re-encoded packet differs: %s\nin  %q\nout %q", d, in, buf)
		}
	})
}

// outFromPacket copies the fields a server packet can carry from p. A single
// id uses the string form; TypeUnknown has no wire name and becomes data.
func outFromPacket(p *Packet) Out {
	o := Out{
		From:        p.From,
		Type:        p.Type,
		Headers:     p.Headers,
		ContentType: p.ContentType,
		Body:        p.Body,
		Credits:     p.Credits,
		More:        p.More,
		Code:        p.Code,
		HasCode:     p.HasCode,
		Condition:   p.Condition,
	}
	if o.Type == TypeUnknown {
		o.Type = TypeData
	}
	if len(p.IDs) == 1 {
		o.ID, o.Seq, o.NoSeq = p.IDs[0].ID, p.IDs[0].Seq, !p.IDs[0].HasSeq
	} else {
		o.Multi = p.IDs
	}
	return o
}
