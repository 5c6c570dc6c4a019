// Package cli holds the cobra commands of the flinkferry binary, one
// command per file.
package cli
