package admission

import (
	"fmt"

	psapi "k8s.io/pod-security-admission/api"
)

// Level is a Pod Security Standards level.
type Level string

// The Pod Security Standards levels, as Kubernetes names them.
const (
	// Privileged allows everything (host namespaces, privileged
	// containers, hostPath volumes).
	Privileged Level = "privileged"
	// Baseline forbids known privilege escalations: the default.
	Baseline Level = "baseline"
	// Restricted also requires pods to drop privileges (non-root,
	// seccomp, no privilege escalation, all capabilities dropped).
	Restricted Level = "restricted"
)

// DefaultLevel is the level of a cluster or namespace configured without one.
const DefaultLevel = Baseline

// ParseLevel parses a level name; the empty string is DefaultLevel.
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return DefaultLevel, nil
	}
	l, err := psapi.ParseLevel(s)
	if err != nil {
		return "", fmt.Errorf("pod security level %q is not privileged, baseline or restricted", s)
	}
	return Level(l), nil
}
