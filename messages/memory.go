package messages

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// memoryUnits are the unit suffixes of Flink's MemorySize syntax
// (case-insensitive) and their multipliers.
var memoryUnits = map[string]int64{
	"": 1, "b": 1, "bytes": 1,
	"k": 1 << 10, "kb": 1 << 10, "kibibytes": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mebibytes": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gibibytes": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tebibytes": 1 << 40,
}

// parseFlinkMemory parses a memory size the way Flink's MemorySize does:
// digits, optional blanks, an optional unit (b, k/kb, m/mb, g/gb, t/tb or
// the long names; no unit means bytes), case-insensitive. It returns the
// size in bytes.
func parseFlinkMemory(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("must be a Flink memory size such as 1600m, 2g or 1024mb")
	}
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := memoryUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown memory unit %q: use b, k, m, g or t (or kb, mb, gb, tb)", t[i:])
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("memory size too large")
	}
	return n * mult, nil
}

// ParseMemorySize parses a Flink memory size ("1600m", "2 gb", "1073741824")
// into bytes, as Flink's MemorySize does.
func ParseMemorySize(s string) (int64, error) { return parseFlinkMemory(s) }
