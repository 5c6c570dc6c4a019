package kubeclusters_test

import (
	"testing"

	"github.com/flinkferry/flinkferry/internal/kubetest"
)

// TestMain shares one real API server (kubetest) between the tests.
func TestMain(m *testing.M) { kubetest.Main(m) }
