package testenv

import "testing"

func TestTailBufferCountsSecretsAcrossWrites(t *testing.T) {
	b := &tailBuffer{max: 8}
	b.watch([]string{"hunter2", "xx"})
	for _, w := range []string{"pass=hun", "ter2 ", "hunter2hunter2", "x", "x", "xx"} {
		_, _ = b.Write([]byte(w))
	}
	got := b.hits()
	if got["hunter2"] != 3 || got["xx"] != 3 {
		t.Errorf("hits = %v, want hunter2: 3, xx: 3", got)
	}
	if s := b.String(); len(s) != 8 {
		t.Errorf("tail %q, want the last 8 bytes", s)
	}
}
