package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestUsageListsEveryFlagWithDefault(t *testing.T) {
	u := Usage()
	for _, f := range flags {
		if !strings.Contains(u, "--"+f.long) {
			t.Errorf("usage lacks --%s", f.long)
		}
		if f.deflt != "" && !strings.Contains(u, "[default: "+f.deflt+"]") {
			t.Errorf("usage lacks the default of --%s", f.long)
		}
	}
	for _, s := range []string{"condure-go " + Version, "-h, --help", "-V, --version", "--listen <[addr:]port[,params...]>..."} {
		if !strings.Contains(u, s) {
			t.Errorf("usage lacks %q", s)
		}
	}
}

// TestUsageDefaultsMatchParse keeps the help text honest: giving a flag the
// default the help shows changes nothing.
func TestUsageDefaultsMatchParse(t *testing.T) {
	def, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if f.deflt == "" {
			continue
		}
		c, err := Parse([]string{"--" + f.long, f.deflt})
		if err != nil {
			t.Fatalf("--%s %s: %v", f.long, f.deflt, err)
		}
		if !reflect.DeepEqual(c, def) {
			t.Errorf("--%s %s gives %+v, not the default %+v", f.long, f.deflt, c, def)
		}
	}
}
