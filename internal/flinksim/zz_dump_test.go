package flinksim_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestZZDump(t *testing.T) {
	n := 0
	for _, x := range recordResponses(t) {
		if (strings.HasSuffix(x.path, "0f/checkpoints") || strings.Contains(x.path, "/savepoints/") || strings.HasSuffix(x.path, "1e/exceptions") || strings.HasSuffix(x.path, "1e/checkpoints/config")) && x.status == 200 {
			n++
			if n%3 == 0 {
				fmt.Printf("%s %s %d\n%.1500s\n\n", x.method, x.path, x.status, x.body)
			}
		}
	}
}
