package messages

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestFieldErrorsError(t *testing.T) {
	errs := FieldErrors{
		{Field: "program.args[10]", Reason: "b"},
		{Field: "program.args[2]", Reason: "a"},
		{Field: "flink.version", Reason: "required"},
		{Field: "", Reason: "whole payload"},
		{Field: "program.args[2]", Reason: "0"},
	}
	want := "whole payload\nflink.version: required\nprogram.args[2]: 0\nprogram.args[2]: a\nprogram.args[10]: b"
	if got := errs.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := errs[0].Field, "program.args[10]"; got != want {
		t.Fatalf("Error() reordered the slice: errs[0].Field = %q, want %q", got, want)
	}
}

func TestFieldErrorsErrorTruncated(t *testing.T) {
	var errs FieldErrors
	for i := range 150 {
		errs = append(errs, FieldError{Field: fmt.Sprintf("labels[k%03d]", i), Reason: "bad"})
	}
	lines := strings.Split(errs.Error(), "\n")
	if got, want := len(lines), maxPrintedFieldErrors+1; got != want {
		t.Fatalf("Error() has %d lines, want %d", got, want)
	}
	if got, want := lines[maxPrintedFieldErrors], fmt.Sprintf("... and %d more", 150-maxPrintedFieldErrors); got != want {
		t.Fatalf("last line = %q, want %q", got, want)
	}
}

func TestNaturalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"a[2]", "a[10]", -1},
		{"a[10]", "a[2]", 1},
		{"a[02]", "a[2]", 0},
		{"a", "a.b", -1},
		{"a.b", "a[0]", -1},
		{"k8", "k08", 0},
		{"x1y", "x1z", -1},
		{"", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			got := naturalCompare(tt.a, tt.b)
			if (got < 0) != (tt.want < 0) || (got > 0) != (tt.want > 0) {
				t.Fatalf("naturalCompare(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestReasonOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"other", errors.New("boom"), ""},
		{"decode error", &DecodeError{Reason: ReasonWrongType, Err: errors.New("x")}, ReasonWrongType},
		{"wrapped decode error", fmt.Errorf("handling: %w", &DecodeError{Reason: ReasonMalformedJSON}), ReasonMalformedJSON},
		{"unknown type", fmt.Errorf("x: %w", ErrUnknownEventType), ReasonUnknownEventType},
		{"too large", fmt.Errorf("x: %w", ErrPayloadTooLarge), ReasonPayloadTooLarge},
		{"field errors", fmt.Errorf("x: %w", FieldErrors{{Field: "a", Reason: "b"}}), ReasonValidationFailed},
		{"decode error wins over field errors", &DecodeError{Reason: ReasonUnknownField, Err: FieldErrors{{Field: "a", Reason: "unknown field"}}}, ReasonUnknownField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := ReasonOf(tt.err), tt.want; got != want {
				t.Fatalf("ReasonOf() = %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeErrorError(t *testing.T) {
	if got, want := (&DecodeError{Reason: "r"}).Error(), "r"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := (&DecodeError{Reason: "r", Err: errors.New("e")}).Error(), "r: e"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestParseFlinkMemory(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1600m", 1600 << 20, false},
		{"1600M", 1600 << 20, false},
		{"2g", 2 << 30, false},
		{"1024mb", 1 << 30, false},
		{"2 gb", 2 << 30, false},
		{" 3 mebibytes ", 3 << 20, false},
		{"512k", 512 << 10, false},
		{"1t", 1 << 40, false},
		{"134217728b", 134217728, false},
		{"134217728", 134217728, false},
		{"100 bytes", 100, false},
		{"", 0, true},
		{"m", 0, true},
		{"1.5g", 0, true},
		{"-1g", 0, true},
		{"1gib", 0, true},
		{"9223372036854775807k", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseFlinkMemory(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlinkMemory(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("parseFlinkMemory(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestImageRefs(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		ref       string
		image     bool // imageRefProblem == ""
		digestRef bool // digestRefProblem == ""
	}{
		{"flink", true, false},
		{"flink:1.20-java17", true, false},
		{"apache/flink:2.0.0-scala_2.12-java17", true, false},
		{"registry.example.com:5000/team/flink:1.20", true, false},
		{"localhost/flink", true, false},
		{"[::1]:5000/flink:1", true, false},
		{"registry.example.com/team/job@sha256:" + hex, true, true},
		{"registry.example.com/team/job:1.0@sha256:" + hex, true, false},
		{"job@sha256:" + hex, true, true},
		{"job@sha256:" + strings.ToUpper(hex), true, false},
		{"job@sha256:abc", false, false},
		{"Flink:1.20", false, false},
		{"flink:", false, false},
		{"flink::1", false, false},
		{"-flink", false, false},
		{"flink/", false, false},
		{"a b", false, false},
		{"", false, false},
		{strings.Repeat("a", 256) + ":1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := imageRefProblem(tt.ref); (got == "") != tt.image {
				t.Fatalf("imageRefProblem(%q) = %q, want ok %v", tt.ref, got, tt.image)
			}
			if got := digestRefProblem(tt.ref); (got == "") != tt.digestRef {
				t.Fatalf("digestRefProblem(%q) = %q, want ok %v", tt.ref, got, tt.digestRef)
			}
		})
	}
}
