package flinkferry_test

import (
	"slices"
	"testing"

	"github.com/flinkferry/flinkferry/internal/kubetest"
	"github.com/flinkferry/flinkferry/workers/build"
	"github.com/flinkferry/flinkferry/workers/submit"
	"github.com/flinkferry/flinkferry/workers/track"
)

// TestSavepointDirs: savepointDirs is the one allow-list of savepoint
// locations the build and submit workers admit submit requests against
// and the track worker control requests against, loaded from the chart's
// environment as each worker loads it; by default none is set (any
// location).
func TestSavepointDirs(t *testing.T) {
	const release, ns = "spdirs", "ff-spdirs"
	want := []string{"s3://flink-state/", "hdfs://nn/savepoints"}
	out := helm(t, "template", release, ".", "--namespace", ns, "--kube-version", kubetest.KubernetesVersion,
		"--set", "savepointDirs={s3://flink-state/,hdfs://nn/savepoints}")
	cp := kubetest.Shared(t)
	applyManifests(t, cp, out, ns)
	cs := cp.Clientset()

	var b build.Config
	loadConfig(t, chartEnv(t, cs, ns, release, "build"), &b)
	var s submit.Config
	loadConfig(t, chartEnv(t, cs, ns, release, "submit"), &s)
	var tr track.Config
	loadConfig(t, chartEnv(t, cs, ns, release, "track"), &tr)
	for name, got := range map[string][]string{"build": b.Build.SavepointDirs, "submit": s.Submit.SavepointDirs, "track": tr.Track.SavepointDirs} {
		if !slices.Equal(got, want) {
			t.Errorf("%s worker's savepoint allow-list = %q, want %q", name, got, want)
		}
	}

	const plain, plainNS = "nospdirs", "ff-nospdirs"
	applyManifests(t, cp, helm(t, "template", plain, ".", "--namespace", plainNS, "--kube-version", kubetest.KubernetesVersion), plainNS)
	var pb build.Config
	loadConfig(t, chartEnv(t, cs, plainNS, plain, "build"), &pb)
	if len(pb.Build.SavepointDirs) != 0 {
		t.Errorf("default values: build worker's savepoint allow-list = %q, want none", pb.Build.SavepointDirs)
	}
	wantRefused(t, "savepointDirs", "savepointDirs={/local/path}")
}
