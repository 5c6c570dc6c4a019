package devstate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReadRemove(t *testing.T) {
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	if _, err := Read(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Read() before Write = %v, want ErrNotRunning", err)
	}
	want := State{PID: os.Getpid(), KafkaBrokers: []string{"127.0.0.1:9092"}, TopicPrefix: "flinkferry.", RedisURL: "redis://127.0.0.1:6379/0"}
	if err := Write(want); err != nil {
		t.Fatal(err)
	}
	got, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if got.RedisURL != want.RedisURL || got.KafkaBrokers[0] != want.KafkaBrokers[0] {
		t.Errorf("Read() = %+v, want %+v", got, want)
	}
	if err := Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Read() after Remove = %v, want ErrNotRunning", err)
	}
}

func TestStateOfAGoneProcessIsNotRunning(t *testing.T) {
	t.Setenv("FLINKFERRY_DEV_STATE", filepath.Join(t.TempDir(), "dev.json"))
	if err := Write(State{PID: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Read() = %v, want ErrNotRunning", err)
	}
}
