package build

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/flinkferry/flinkferry/internal/logging"
	"github.com/flinkferry/flinkferry/internal/testenv"
)

// BenchmarkPush compares, on the Debian registry with basic auth and for
// incompressible jars: flinkferry's build+push (default gzip-stored layer,
// and gzip level 1), `crane append`, and a raw blob upload of the jar's
// bytes (the physical limit). The methods run round-robin, in a rotating
// order, each on a fresh jar, so that load on the shared machine hits them
// alike; each reports its median time and the ratios. Run with
// `go tool task bench`.
//
// The jar's sha256 is known before timing starts for flinkferry (the
// fetcher computes it while downloading), as the layer tarball is for crane.
func BenchmarkPush(b *testing.B) {
	reg := testenv.DockerRegistry(b)
	baseRef, _ := pushBaseB(b, reg)
	crane := buildCrane(b, reg)
	sizes := []int{64 << 20, 256 << 20}
	if s := os.Getenv("FLINKFERRY_BENCH_SIZES_MIB"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n<<20)
		}
	}
	methods := []string{"raw", "flinkferry", "flinkferry-gzip-fast", "crane-append"}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			b.StopTimer()
			times := map[string][]time.Duration{}
			for i := range b.N {
				for k := range methods {
					method := methods[(i+k)%len(methods)]
					dir := b.TempDir()
					art := randomJar(b, dir, size)
					repo := fmt.Sprintf("bench/%s-%d-%d", method, size>>20, i)
					var tarPath string
					if method == "crane-append" {
						tarPath = jarTar(b, dir, art)
					}
					syscall.Sync() // no writeback of the fresh files during the timing
					start := time.Now()
					pushWith(b, method, reg, baseRef, repo, art, crane, tarPath)
					times[method] = append(times[method], time.Since(start))
					os.RemoveAll(dir)
				}
			}
			med := map[string]float64{}
			for _, m := range methods {
				med[m] = medianSeconds(times[m])
				b.ReportMetric(med[m]*1000, m+"-ms")
			}
			b.ReportMetric(med["flinkferry"]/med["raw"], "flinkferry/raw")
			b.ReportMetric(med["crane-append"]/med["flinkferry"], "crane/flinkferry")
			b.ReportMetric(float64(size)/med["flinkferry"]/1e6, "flinkferry-MB/s")
			b.ReportMetric(0, "ns/op") // the timer is off: the metrics above are the result
		})
	}
}

// pushWith pushes art by one method.
func pushWith(b *testing.B, method string, reg testenv.Registry, baseRef, repo string, art *Artifact, crane craneCLI, tarPath string) {
	switch method {
	case "raw":
		rawUpload(b, reg, repo, art)
	case "crane-append":
		out, err := exec.Command(crane.bin, "append", "--insecure", "-b", baseRef, "-f", tarPath, "-t", reg.Host+"/"+repo+":x").CombinedOutput()
		if err != nil {
			b.Fatalf("crane append: %v: %s", err, out)
		}
	default:
		bl := newTestBuilder(reg)
		bl.Encoding = EncodingGzipStored
		if method == "flinkferry-gzip-fast" {
			bl.Encoding = EncodingGzipFast
		}
		bl.Registry.Namespace = ""
		rep, _ := bl.Registry.Repository(repo)
		baseDesc, err := remote.Get(mustRef(b, baseRef), regOpts(reg)...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bl.buildAndPush(quiet, rep, Request{Repo: repo, Job: "/bench/x", Base: baseRef}, mustRef(b, baseRef), baseDesc, art, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func medianSeconds(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2].Seconds()
	}
	return (s[len(s)/2-1] + s[len(s)/2]).Seconds() / 2
}

// quiet is a context whose logger discards, so benchmark output stays parseable.
var quiet = logging.WithLogger(context.Background(), slog.New(slog.DiscardHandler))

func pushBaseB(b *testing.B, reg testenv.Registry) (string, v1.Image) {
	return pushBase(b, reg, "library/flink:1.20")
}

// randomJar writes a stored (uncompressed) zip of random bytes, size bytes in all.
func randomJar(b testing.TB, dir string, size int) *Artifact {
	b.Helper()
	p := filepath.Join(dir, "job.jar")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	// A zip whose single stored entry is random: incompressible.
	zw := zip.NewWriter(w)
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "payload.bin", Method: zip.Store})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(fw, rand.Reader, int64(size-200)); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(p)
	return &Artifact{Path: p, Name: "job.jar", Size: fi.Size(), SHA256: hex.EncodeToString(h.Sum(nil))}
}

func rawUpload(b testing.TB, reg testenv.Registry, repo string, art *Artifact) {
	b.Helper()
	r, err := (&Registry{Host: reg.Host, Insecure: true}).Repository(repo)
	if err != nil {
		b.Fatal(err)
	}
	l := &fileLayer{path: art.Path, size: art.Size, digest: v1.Hash{Algorithm: "sha256", Hex: art.SHA256}}
	if err := remote.WriteLayer(r, l, regOpts(reg)...); err != nil {
		b.Fatal(err)
	}
}

// jarTar wraps the jar in a layer tarball for crane append.
func jarTar(b testing.TB, dir string, art *Artifact) string {
	b.Helper()
	hdr, err := tarHeaders(art.Name, art.Size)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "layer.tar")
	f, _ := os.Create(p)
	jar, _ := os.Open(art.Path)
	f.Write(hdr)
	io.Copy(f, jar)
	jar.Close()
	f.Write(make([]byte, (512-art.Size%512)%512+1024))
	f.Close()
	os.Remove(art.Path)
	return p
}

type craneCLI struct{ bin string }

// buildCrane builds go-containerregistry's crane (pinned in go.mod) and
// logs it into reg through a private DOCKER_CONFIG.
func buildCrane(b testing.TB, reg testenv.Registry) craneCLI {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "crane")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/google/go-containerregistry/cmd/crane").CombinedOutput(); err != nil {
		b.Fatalf("building crane: %v: %s", err, out)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("DOCKER_CONFIG", dir)
	return craneCLI{bin: bin}
}

// BenchmarkPeakRSS reports the process's peak resident memory during one
// build+push, for a small and a large jar: it must not grow with the jar.
func BenchmarkPeakRSS(b *testing.B) {
	reg := testenv.DockerRegistry(b)
	baseRef, _ := pushBaseB(b, reg)
	for _, size := range []int{64 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			var peak int64
			for i := range b.N {
				b.StopTimer()
				art := randomJar(b, b.TempDir(), size)
				bl := newTestBuilder(reg)
				bl.Registry.Namespace = ""
				repo := fmt.Sprintf("rss/job-%d-%d", size>>20, i)
				rep, _ := bl.Registry.Repository(repo)
				baseDesc, err := remote.Get(mustRef(b, baseRef), regOpts(reg)...)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				resetPeakRSS(b)
				b.StartTimer()
				if _, err := bl.buildAndPush(quiet, rep, Request{Repo: repo, Job: "/bench/x", Base: baseRef}, mustRef(b, baseRef), baseDesc, art, time.Now()); err != nil {
					b.Fatal(err)
				}
				peak = max(peak, peakRSS(b))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		})
	}
}

// resetPeakRSS resets VmHWM (Linux: write 5 to /proc/self/clear_refs).
func resetPeakRSS(b testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset peak RSS: %v", err)
	}
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS(b testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
