// Command tiny stands in for flinkferry in hack/image's tests: it
// cross-compiles in seconds where flinkferry takes minutes.
package main

import "os"

var version, commit = "dev", ""

func main() {
	os.Stdout.WriteString("tiny " + version + " " + commit + "\n")
}
