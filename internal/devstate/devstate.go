// Package devstate is the contract between a running `flinkferry dev` and
// the CLI commands (submit, status, events): dev writes where its parts
// listen to a state file; the commands read it when no flag or
// FLINKFERRY_* variable says otherwise, so they work with no flags at all.
package devstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ReadyLine is what `flinkferry dev` prints on its own line once it
// serves: what scripts and tests starting it wait for.
const ReadyLine = "flinkferry dev: ready"

// State is what a running `flinkferry dev` announces.
type State struct {
	// PID is the dev process.
	PID int `json:"pid"`
	// KafkaBrokers are the embedded (or given) Kafka brokers.
	KafkaBrokers []string `json:"kafka_brokers"`
	// TopicPrefix is the prefix of every topic.
	TopicPrefix string `json:"topic_prefix"`
	// RedisURL is the track worker's Redis.
	RedisURL string `json:"redis_url"`
	// Registry is the OCI registry images are pushed to (host:port).
	Registry string `json:"registry"`
	// ArtifactsURL serves the example jars (and any file put in ArtifactsDir).
	ArtifactsURL string `json:"artifacts_url"`
	// ArtifactsDir is the directory ArtifactsURL serves.
	ArtifactsDir string `json:"artifacts_dir,omitempty"`
	// Kubernetes says what the workers deploy to: "simulated (kube-apiserver)",
	// "simulated (fake clientset)" or the kubeconfig of a real cluster.
	Kubernetes string `json:"kubernetes"`
	// Namespace is the namespace the examples use.
	Namespace string `json:"namespace"`
}

// Path returns the state file: $FLINKFERRY_DEV_STATE, else
// $XDG_STATE_HOME/flinkferry/dev.json, else ~/.local/state/flinkferry/dev.json.
func Path() (string, error) {
	if p := os.Getenv("FLINKFERRY_DEV_STATE"); p != "" {
		return p, nil
	}
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the dev state file: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "flinkferry", "dev.json"), nil
}

// Write saves s to Path, readable by the user only.
func Write(s State) error {
	p, err := Path()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("writing the dev state: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing the dev state: %w", err)
	}
	return os.Rename(tmp, p)
}

// ErrNotRunning means no state file exists: `flinkferry dev` is not running
// (or was started with another FLINKFERRY_DEV_STATE).
var ErrNotRunning = errors.New("no running `flinkferry dev` found (start one, or pass the Kafka brokers and Redis URL)")

// Read loads the state of the running `flinkferry dev`. A state file left by
// a process that is gone reads as ErrNotRunning.
func Read() (*State, error) {
	p, err := Path()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotRunning
	}
	if err != nil {
		return nil, fmt.Errorf("reading the dev state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reading the dev state %s: %w", p, err)
	}
	if s.PID > 0 && !alive(s.PID) {
		return nil, ErrNotRunning
	}
	return &s, nil
}

// Remove deletes the state file (dev does it when it stops).
func Remove() error {
	p, err := Path()
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}
