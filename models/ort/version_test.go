package ort

import "testing"

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v, min string
		want   bool
	}{
		{"1.29.0", "1.24.0", true},
		{"1.24.0", "1.24.0", true},
		{"1.24", "1.24.0", true},
		{"1.23.2", "1.24.0", false},
		{"1.9.0", "1.24.0", false}, // numbers, not strings: 9 < 24
		{"1.100.0", "1.24.0", true},
		{"2.0.0", "1.24.0", true},
		{"0.99.99", "1.24.0", false},
		{"1.16.3-dev", "1.24.0", false},
		{"1.25.0-dev+abc", "1.24.0", true},
		{"1.24.0.1", "1.24.0", true},
	} {
		got, err := versionAtLeast(c.v, c.min)
		if err != nil || got != c.want {
			t.Errorf("versionAtLeast(%q, %q) = %v, %v; want %v", c.v, c.min, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "x", "1..2", "1.x", "v1.2", "-1", "1.-2", "1.+2"} {
		if _, err := versionAtLeast(bad, MinVersion); err == nil {
			t.Errorf("versionAtLeast(%q) took it for a version", bad)
		}
	}
}
